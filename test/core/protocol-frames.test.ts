import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSocklineError } from '../../src/core/errors.js';
import {
  CloseCodes,
  FrameTypes,
  decodeFrame,
  decodeLimitDefaults,
  encodeFrame,
  resolveDecodeLimits,
} from '../../src/core/protocol/frames.js';
import { encodeMessage } from '../../src/core/protocol/frames-encode.js';
import type { Frame, FrameType, PayloadKind } from '../../src/core/protocol/frames.js';
import { ByteWriter, readVarint, varintSize, writeVarint } from '../../src/core/protocol/varint.js';
import { fromHex, toHex } from '../fixtures/frames.js';
import { protocolVectors } from '../fixtures/protocol-vectors.js';

/** Fixed so that a failure replays; fast-check prints the seed and path of a failure too. */
const SEED = 0x5e55_1011;
const RUNS = 2_000;

/** Types whose last field is the payload: bytes after the fields are payload, not trailing junk. */
const PAYLOAD_TYPES: ReadonlySet<FrameType> = new Set(['data', 'publish', 'request', 'response']);

const utf8 = new TextEncoder();

/** The error `fn` throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** Asserts `decodeFrame(bytes)` throws SocklineError ERR_PROTOCOL; returns its message. */
function expectProtocolError(bytes: Uint8Array | string, limits?: Parameters<typeof decodeFrame>[1]): string {
  const input = typeof bytes === 'string' ? fromHex(bytes) : bytes;
  const error = thrown(() => decodeFrame(input, limits));
  expect(isSocklineError(error, 'ERR_PROTOCOL'), String(error)).toBe(true);
  return (error as Error).message;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function varintHex(value: number): string {
  const w = new ByteWriter();
  writeVarint(w, value);
  return toHex(w.toBytes());
}

function payloadOf(frame: Frame): Uint8Array | undefined {
  return 'payload' in frame ? frame.payload : undefined;
}

describe('protocol frames: golden vectors', () => {
  it('covers every frame type', () => {
    const types = new Set(protocolVectors.map((v) => v.frame.type));
    expect([...types].sort()).toEqual(Object.keys(FrameTypes).sort());
  });

  for (const vector of protocolVectors) {
    const wire = fromHex(vector.hex);
    const isPayloadType = PAYLOAD_TYPES.has(vector.frame.type);

    it(`decodes ${vector.name}`, () => {
      expect(decodeFrame(wire)).toEqual(vector.frame);
    });

    it(`encodes ${vector.name} to the golden bytes`, () => {
      expect(toHex(encodeFrame(vector.frame))).toBe(toHex(wire));
    });

    if (isPayloadType) {
      it(`takes a trailing byte of ${vector.name} as payload`, () => {
        const frame = decodeFrame(concat(wire, fromHex('ee')));
        expect(toHex(payloadOf(frame)!)).toBe(toHex(payloadOf(vector.frame)!) + 'ee');
      });

      it(`refuses ${vector.name} cut inside its fields, and shortens the payload when cut inside it`, () => {
        const fields = wire.length - payloadOf(vector.frame)!.length;
        for (let n = 0; n < wire.length; n++) {
          if (n < fields) {
            expectProtocolError(wire.subarray(0, n));
          } else {
            const frame = decodeFrame(wire.subarray(0, n));
            expect(toHex(payloadOf(frame)!)).toBe(toHex(payloadOf(vector.frame)!.subarray(0, n - fields)));
          }
        }
      });
    } else {
      it(`refuses ${vector.name} with one trailing byte`, () => {
        expect(expectProtocolError(concat(wire, fromHex('00')))).toMatch(/trailing byte/);
      });

      it(`refuses every truncation of ${vector.name}`, () => {
        for (let n = 0; n < wire.length; n++) expectProtocolError(wire.subarray(0, n));
      });
    }
  }

  it('returns the payload as a view of the input, not a copy', () => {
    const wire = fromHex('aaaa 10 12 01 6869 bbbb');
    const frame = decodeFrame(wire.subarray(2, 7));
    const payload = payloadOf(frame)!;
    expect(payload.buffer).toBe(wire.buffer);
    expect(payload.byteOffset).toBe(5);
    expect(payload.length).toBe(2);
  });

  it('encodes into one buffer of the exact size', () => {
    for (const vector of protocolVectors) {
      const bytes = encodeFrame(vector.frame);
      expect(bytes.byteOffset).toBe(0);
      expect(bytes.buffer.byteLength).toBe(bytes.length);
    }
  });
});

describe('protocol frames: hostile and malformed input', () => {
  it('refuses an empty body and a body of only a type byte', () => {
    expect(expectProtocolError('')).toMatch(/0 byte/);
    expectProtocolError('10');
  });

  it('refuses an endless varint after reading at most 8 of its bytes', () => {
    const endless = 'ff'.repeat(20);
    expect(expectProtocolError(`10 02 ${endless}`)).toMatch(/seq at byte 2 is a varint longer than 8 bytes/);
    expectProtocolError(`30 00 ${endless}`);
    expectProtocolError(`31 00 ${endless}`);
    expectProtocolError(`12 00 ${endless}`);
    expectProtocolError(`01 00 ${endless}`);
    expectProtocolError(`3f 00 ${endless}`);
    // A million continuation bytes cost the same: the reader stops at the 8th.
    expectProtocolError(concat(fromHex('20 00'), new Uint8Array(1_000_000).fill(0xff)));
  });

  it('refuses a varint cut off by the end of the frame', () => {
    expect(expectProtocolError('30 00 80')).toMatch(/cut off/);
    expectProtocolError('30 00 ffffffffffffff');
  });

  it('refuses a varint above 2^53 - 1 and a non-minimal varint', () => {
    expect(expectProtocolError('30 00 ffffffffffffff10')).toMatch(/above 2\^53 - 1/);
    expectProtocolError('30 00 ffffffffffffff7f');
    expect(expectProtocolError('30 00 8000')).toMatch(/non-minimal/);
    expectProtocolError('30 00 ff8000');
  });

  it('refuses unknown frame types', () => {
    const known = new Set<number>(Object.values(FrameTypes));
    for (let type = 0; type < 256; type++) {
      if (known.has(type)) continue;
      expect(expectProtocolError(new Uint8Array([type, 0, 0, 0]))).toMatch(/unknown type/);
    }
  });

  it('refuses every flag bit a type does not define', () => {
    const defined: Record<FrameType, number> = {
      hello: 0x07,
      welcome: 0x03,
      refuse: 0x00,
      data: 0x33,
      publish: 0x33,
      subscribe: 0x00,
      unsubscribe: 0x00,
      subrefuse: 0x00,
      request: 0x33,
      response: 0x37,
      ack: 0x00,
      ping: 0x00,
      pong: 0x00,
      close: 0x01,
    };
    for (const vector of protocolVectors) {
      const wire = fromHex(vector.hex);
      for (let bit = 0; bit < 8; bit++) {
        if ((defined[vector.frame.type] & (1 << bit)) !== 0) continue;
        const bad = wire.slice();
        bad[1] = bad[1]! | (1 << bit);
        expect(expectProtocolError(bad), `${vector.name}, bit ${bit}`).toMatch(/does not define/);
      }
    }
  });

  it('refuses the reserved payload kind 3', () => {
    for (const hex of ['10 30 ff', '11 30 01 61', '20 30 01 01 61', '21 30 01']) {
      expect(expectProtocolError(hex)).toMatch(/reserved/);
    }
  });

  it('refuses a string whose declared length runs past the end', () => {
    expect(expectProtocolError('12 00 05 6162')).toMatch(/declares 5 bytes but only 2 remain/);
    expectProtocolError('11 00 02 61');
    expectProtocolError('3f 00 e807 01');
    // The largest declared length, over an 8-byte body: refused before anything is read.
    expectProtocolError(`01 01 01 01 07 04 6a736f6e ${varintHex(Number.MAX_SAFE_INTEGER)}`, {
      maxTokenBytes: Infinity,
    });
  });

  it('refuses a huge versions count without allocating for it', () => {
    expect(expectProtocolError(`01 00 ${varintHex(2 ** 40)} 01`)).toMatch(/versions count .* over 16/);
    expectProtocolError(`03 00 00 00 ${varintHex(2 ** 40)}`);
    expectProtocolError(`01 00 11 ${'01'.repeat(17)} 07 04 6a736f6e`);
    // 16 is allowed, but not more versions than bytes left.
    expect(decodeFrame(fromHex(`01 00 10 ${'01'.repeat(16)} 07 04 6a736f6e`))).toMatchObject({
      type: 'hello',
    });
    expect(expectProtocolError('01 00 10 01 01')).toMatch(/only 2 bytes remain/);
  });

  it('refuses a seq of 0 and a request or response id of 0', () => {
    expect(expectProtocolError('10 02 00')).toMatch(/below the minimum 1/);
    expectProtocolError('11 02 00 01 61');
    expectProtocolError('20 00 00 01 61');
    expectProtocolError('21 00 00');
  });

  it('refuses strings that are not UTF-8', () => {
    for (const bad of ['c328', 'c080', 'eda080', 'f4908080', 'ff', 'e282']) {
      const length = (bad.length / 2).toString(16).padStart(2, '0');
      expect(expectProtocolError(`12 00 ${length} ${bad}`)).toMatch(/not valid UTF-8/);
    }
  });

  it('keeps a leading U+FEFF of a string (it is data, not a byte order mark)', () => {
    expect(decodeFrame(fromHex('12 00 04 efbbbf61'))).toEqual({ type: 'subscribe', topic: '\ufeffa' });
  });

  it('names the frame, the field and the byte offset in the message', () => {
    expect(expectProtocolError('11 00 05 6162')).toBe(
      'Malformed publish frame: topic at byte 2 declares 5 bytes but only 2 remain',
    );
    expect(expectProtocolError('31 00 00 00')).toBe(
      'Malformed ping frame: end of frame at byte 3 expected, but 1 trailing byte(s) follow',
    );
    expect(expectProtocolError('3f 80 e807 00')).toMatch(/close frame: flags 0x80 at byte 1/);
  });
});

describe('protocol frames: decode limits', () => {
  const topic = (n: number): Uint8Array =>
    concat(fromHex(`12 00 ${varintHex(n)}`), utf8.encode('t'.repeat(n)));

  it('applies the default string limits', () => {
    expect(decodeLimitDefaults).toEqual({ maxNameBytes: 256, maxTextBytes: 1024, maxTokenBytes: 4096 });
    expect(Object.isFrozen(decodeLimitDefaults)).toBe(true);
    expect(decodeFrame(topic(256))).toMatchObject({ type: 'subscribe' });
    expect(expectProtocolError(topic(257))).toMatch(/over maxNameBytes \(256\)/);
  });

  it('checks a declared length against the limit before the bytes left', () => {
    // 300 declared, 2 present: the limit is what the message reports.
    expect(expectProtocolError(`12 00 ${varintHex(300)} 6162`)).toMatch(/over maxNameBytes/);
  });

  it('applies given limits to names, texts and tokens', () => {
    expect(decodeFrame(topic(300), { maxNameBytes: 300 })).toMatchObject({ type: 'subscribe' });
    expectProtocolError(topic(10), { maxNameBytes: 9 });
    const reason = (n: number): Uint8Array =>
      concat(fromHex(`3f 00 e807 ${varintHex(n)}`), utf8.encode('r'.repeat(n)));
    expect(decodeFrame(reason(1024))).toMatchObject({ type: 'close' });
    expect(expectProtocolError(reason(1025))).toMatch(/reason .* over maxTextBytes \(1024\)/);
    const hello = (n: number): Uint8Array =>
      concat(fromHex(`01 01 01 01 07 04 6a736f6e ${varintHex(n)}`), utf8.encode('k'.repeat(n)));
    expect(decodeFrame(hello(4096))).toMatchObject({ type: 'hello' });
    expect(expectProtocolError(hello(4097))).toMatch(/token .* over maxTokenBytes \(4096\)/);
    expect(decodeFrame(hello(5000), { maxTokenBytes: Infinity })).toMatchObject({ type: 'hello' });
  });

  it('resolves limits once and recognises a resolved object', () => {
    const limits = resolveDecodeLimits({ maxNameBytes: 10 });
    expect(limits).toEqual({ maxNameBytes: 10, maxTextBytes: 1024, maxTokenBytes: 4096 });
    expect(Object.isFrozen(limits)).toBe(true);
    expect(resolveDecodeLimits(limits)).toBe(limits);
    expect(resolveDecodeLimits()).toEqual(decodeLimitDefaults);
  });

  it('throws RangeError naming a limit that is not a positive integer or Infinity', () => {
    for (const bad of [0, -1, 1.5, NaN, -Infinity]) {
      expect(() => resolveDecodeLimits({ maxTextBytes: bad })).toThrow(RangeError);
      expect(() => decodeFrame(fromHex('30 00 00'), { maxNameBytes: bad })).toThrow(/maxNameBytes/);
    }
  });
});

describe('protocol frames: encoder argument checks', () => {
  const data = (extra: object): Frame => ({
    type: 'data',
    kind: 'binary',
    payload: new Uint8Array(1),
    ...extra,
  });

  it('throws RangeError for numbers that are not integers from 0 to 2^53 - 1, naming the field', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
      expect(() => encodeFrame({ type: 'ack', seq: bad })).toThrow(RangeError);
      expect(() => encodeFrame({ type: 'ping', nonce: bad })).toThrow(/Cannot encode a ping frame: nonce/);
    }
    expect(() => encodeFrame(data({ seq: 0 }))).toThrow(/seq must be an integer from 1/);
    expect(() => encodeFrame(data({ ack: -1 }))).toThrow(/ack/);
    expect(() =>
      encodeFrame({ type: 'request', id: 0, method: 'm', kind: 'binary', payload: new Uint8Array() }),
    ).toThrow(/id must be an integer from 1/);
    expect(() => encodeFrame({ type: 'response', id: 0, kind: 'binary', payload: new Uint8Array() })).toThrow(
      RangeError,
    );
  });

  it('throws RangeError for more than 16 versions', () => {
    const versions = Array.from({ length: 17 }, () => 1);
    expect(() => encodeFrame({ type: 'hello', versions, capabilities: 0, codec: 'json' })).toThrow(
      /at most 16/,
    );
    expect(() => encodeFrame({ type: 'refuse', code: 'c', message: 'm', versions })).toThrow(RangeError);
  });

  it('throws TypeError for an unknown type or kind, a payload that is not bytes, a string that is not a string', () => {
    expect(() => encodeFrame({ type: 'nope' } as unknown as Frame)).toThrow(/unknown frame type nope/);
    expect(() => encodeFrame(null as unknown as Frame)).toThrow(TypeError);
    expect(() => encodeFrame(data({ kind: 'toString' as PayloadKind }))).toThrow(/kind must be/);
    expect(() => encodeFrame(data({ payload: [1, 2] }))).toThrow(/payload must be a Uint8Array/);
    expect(() => encodeFrame({ type: 'subscribe', topic: 5 as unknown as string })).toThrow(
      /topic must be a string/,
    );
  });

  it('throws TypeError for a string with a lone surrogate instead of sending U+FFFD', () => {
    expect(() => encodeFrame({ type: 'subscribe', topic: 'a\ud800' })).toThrow(/lone surrogate at index 1/);
    expect(() => encodeFrame({ type: 'subscribe', topic: '\udc00' })).toThrow(TypeError);
    expect(() => encodeFrame({ type: 'close', code: 1000, reason: 'x'.repeat(100) + '\ud800' })).toThrow(
      TypeError,
    );
  });

  it('encodes long and non-ASCII strings with the right length prefix', () => {
    for (const topic of [
      'é'.repeat(42),
      'é'.repeat(43),
      '😀'.repeat(21),
      '😀'.repeat(40),
      'a'.repeat(5000),
    ]) {
      const bytes = encodeFrame({ type: 'subscribe', topic });
      const [length, next] = readVarint(bytes, 2);
      expect(length).toBe(utf8.encode(topic).length);
      expect(next + length).toBe(bytes.length);
      expect(decodeFrame(bytes, { maxNameBytes: Infinity })).toEqual({ type: 'subscribe', topic });
    }
  });

  it('survives a re-entrant call from a getter and a huge frame before small ones', () => {
    const inner = encodeFrame({ type: 'ping', nonce: 1 });
    const frame = {
      type: 'subscribe' as const,
      get topic(): string {
        expect(encodeFrame({ type: 'ping', nonce: 1 })).toEqual(inner);
        return 'chat';
      },
    };
    expect(toHex(encodeFrame(frame))).toBe('120004' + '63686174');
    const huge = encodeFrame({
      type: 'hello',
      versions: [1],
      capabilities: 0,
      codec: 'json',
      token: 'k'.repeat(200_000),
    });
    expect(huge.length).toBeGreaterThan(200_000);
    expect(toHex(encodeFrame({ type: 'pong', nonce: 300 }))).toBe('3200ac02');
  });

  it('exports the close codes of the spec', () => {
    expect(CloseCodes).toEqual({
      NORMAL: 1000,
      GOING_AWAY: 1001,
      TRY_AGAIN_LATER: 1013,
      PROTOCOL_ERROR: 4000,
      AUTH_FAILED: 4001,
      VERSION_UNSUPPORTED: 4002,
      HANDSHAKE_TIMEOUT: 4003,
      HEARTBEAT_TIMEOUT: 4004,
      SLOW_CONSUMER: 4008,
      TOO_MANY_REQUESTS: 4009,
    });
  });
});

describe('varint', () => {
  const boundaries = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16_383, 'ff7f'],
    [16_384, '808001'],
    [2 ** 21 - 1, 'ffff7f'],
    [2 ** 21, '80808001'],
    [2 ** 28, '8080808001'],
    [2 ** 31, '8080808008'],
    [2 ** 32, '8080808010'],
    [2 ** 35, '808080808001'],
    [2 ** 49, '8080808080808001'],
    [Number.MAX_SAFE_INTEGER, 'ffffffffffffff0f'],
  ] as const;

  for (const [value, hex] of boundaries) {
    it(`writes and reads ${value} as ${hex}`, () => {
      expect(varintHex(value)).toBe(hex);
      expect(varintSize(value)).toBe(hex.length / 2);
      expect(readVarint(fromHex(`ee ${hex} ee`), 1)).toEqual([value, 1 + hex.length / 2]);
    });
  }

  it('round-trips any safe integer, and its size matches', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (value) => {
        const hex = varintHex(value);
        expect(varintSize(value)).toBe(hex.length / 2);
        expect(readVarint(fromHex(hex), 0)).toEqual([value, hex.length / 2]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('throws ERR_PROTOCOL from readVarint for a bad varint', () => {
    for (const hex of ['', '80', 'ff'.repeat(20), 'ffffffffffffff10', '8000']) {
      const error = thrown(() => readVarint(fromHex(hex), 0));
      expect(isSocklineError(error, 'ERR_PROTOCOL'), hex).toBe(true);
    }
  });

  it('grows the writer as needed', () => {
    const w = new ByteWriter(1);
    for (let i = 0; i < 1_000; i++) writeVarint(w, 2 ** 40 + i);
    expect(w.length).toBe(6_000);
    expect(() => writeVarint(w, -1)).toThrow(RangeError);
  });
});

// --- property tests ---------------------------------------------------------------------

const smallOrAny = (min: number): fc.Arbitrary<number> =>
  fc.oneof(fc.integer({ min, max: 300 }), fc.integer({ min, max: Number.MAX_SAFE_INTEGER }));
const nat = smallOrAny(0);
const positive = smallOrAny(1);
/** Any code points (no lone surrogates); at most 60, so at most 240 bytes: under every default limit. */
const text = fc.string({ unit: 'binary', maxLength: 60 });
const kind = fc.constantFrom<PayloadKind>('binary', 'text', 'value');
const payload = fc.uint8Array({ maxLength: 80 });
const versions = fc.array(nat, { maxLength: 16 });

const frameArbitrary: fc.Arbitrary<Frame> = fc.oneof(
  fc.record(
    {
      type: fc.constant('hello' as const),
      versions,
      capabilities: nat,
      codec: text,
      token: text,
      resume: fc.record({ sessionId: text, lastSeq: nat }),
      limits: fc.record({ maxFrameSize: nat, maxMessageSize: nat, maxStreams: nat }),
    },
    { requiredKeys: ['type', 'versions', 'capabilities', 'codec'] },
  ),
  fc.record({
    type: fc.constant('welcome' as const),
    version: nat,
    sessionId: text,
    resumed: fc.boolean(),
    heartbeatInterval: nat,
    heartbeatTimeout: nat,
    lastSeq: nat,
    maxFrameSize: nat,
    maxInFlight: nat,
    resumeWindow: nat,
    maxMessageSize: nat,
    maxStreams: nat,
  }),
  fc.record({ type: fc.constant('refuse' as const), code: text, message: text, versions }),
  fc.record(
    { type: fc.constant('data' as const), seq: positive, ack: nat, kind, payload },
    { requiredKeys: ['type', 'kind', 'payload'] },
  ),
  fc.record(
    { type: fc.constant('publish' as const), seq: positive, ack: nat, topic: text, kind, payload },
    { requiredKeys: ['type', 'topic', 'kind', 'payload'] },
  ),
  fc.record({ type: fc.constantFrom('subscribe' as const, 'unsubscribe' as const), topic: text }),
  fc.record({ type: fc.constant('subrefuse' as const), topic: text, code: text, message: text }),
  fc.record(
    {
      type: fc.constant('request' as const),
      seq: positive,
      ack: nat,
      id: positive,
      method: text,
      kind,
      payload,
    },
    { requiredKeys: ['type', 'id', 'method', 'kind', 'payload'] },
  ),
  fc.record(
    {
      type: fc.constant('response' as const),
      seq: positive,
      ack: nat,
      id: positive,
      error: fc.record({ code: text, message: text }),
      kind,
      payload,
    },
    { requiredKeys: ['type', 'id', 'kind', 'payload'] },
  ),
  fc.record({ type: fc.constant('ack' as const), seq: nat }),
  fc.record({ type: fc.constantFrom('ping' as const, 'pong' as const), nonce: nat }),
  fc.record(
    { type: fc.constant('close' as const), code: nat, reason: text, reconnectAfter: nat },
    { requiredKeys: ['type', 'code', 'reason'] },
  ),
);

/** Decodes, and if that succeeds checks the bytes were canonical (re-encode gives them back). */
function decodeOrProtocolError(bytes: Uint8Array): void {
  let frame: Frame;
  try {
    frame = decodeFrame(bytes);
  } catch (error) {
    expect(isSocklineError(error, 'ERR_PROTOCOL'), String(error)).toBe(true);
    return;
  }
  expect(toHex(encodeFrame(frame))).toBe(toHex(bytes));
}

describe('protocol frames: properties', () => {
  it('decodes what it encodes, for any frame', () => {
    fc.assert(
      fc.property(frameArbitrary, (frame) => {
        expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('writes a DATA or PUBLISH frame on the fast path to the very bytes encodeFrame writes', () => {
    const message = fc.record(
      {
        topic: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: undefined }),
        seq: positive,
        ack: nat,
        kind,
        payload,
      },
      { requiredKeys: ['kind', 'payload'] },
    );
    fc.assert(
      fc.property(message, ({ topic, seq, ack, kind: k, payload: p }) => {
        const frame: Frame =
          topic === undefined
            ? {
                type: 'data',
                kind: k,
                payload: p,
                ...(seq !== undefined ? { seq } : {}),
                ...(ack !== undefined ? { ack } : {}),
              }
            : {
                type: 'publish',
                topic,
                kind: k,
                payload: p,
                ...(seq !== undefined ? { seq } : {}),
                ...(ack !== undefined ? { ack } : {}),
              };
        expect(toHex(encodeMessage(topic, seq, ack, k, p))).toBe(toHex(encodeFrame(frame)));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('only ever throws ERR_PROTOCOL on random bytes, and re-encodes what it accepts to the same bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), decodeOrProtocolError), {
      seed: SEED,
      numRuns: RUNS,
    });
  });

  it('only ever throws ERR_PROTOCOL on random fields after a known type and plausible flags', () => {
    const types = Object.values(FrameTypes);
    const body = fc
      .tuple(
        fc.constantFrom(...types),
        fc.constantFrom(0, 1, 2, 3, 4, 0x10, 0x13, 0x22, 0x24, 0x30),
        fc.uint8Array({ maxLength: 48 }),
      )
      .map(([type, flags, rest]) => concat(new Uint8Array([type, flags]), rest));
    fc.assert(fc.property(body, decodeOrProtocolError), { seed: SEED, numRuns: RUNS });
  });

  it('only ever throws ERR_PROTOCOL when one byte of a golden vector is changed', () => {
    const mutated = fc
      .tuple(fc.constantFrom(...protocolVectors), fc.nat(), fc.integer({ min: 0, max: 255 }))
      .map(([vector, at, value]) => {
        const bytes = fromHex(vector.hex);
        if (bytes.length > 0) bytes[at % bytes.length] = value;
        return bytes;
      });
    fc.assert(fc.property(mutated, decodeOrProtocolError), { seed: SEED, numRuns: RUNS });
  });
});
