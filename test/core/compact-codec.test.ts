import { describe, expect, it } from 'vitest';
import * as F from '../../src/browser/compact/codec.js';
import { json } from '../../src/browser/compact/session-options.js';
import type { Frame, PayloadKind } from '../../src/core/protocol/frames.js';
import { fromHex } from '../fixtures/frames.js';
import { protocolVectors, streamVectors } from '../fixtures/protocol-vectors.js';

/**
 * The compact client's codec against the golden vectors of docs/protocol.md: it decodes every
 * frame a server sends to the frame shown, encodes every frame a client sends to exactly those
 * bytes, and refuses what a client must not take (a server's frame broken by one byte, a frame
 * only a server reads, the frames of streams and BATCH it never announced).
 */

const KINDS: PayloadKind[] = ['binary', 'text', 'value'];
/** Types both sides send, then those only a server or only a client sends. */
const BOTH = ['data', 'publish', 'request', 'response', 'ack', 'ping', 'pong', 'close'];
const READS = new Set([...BOTH, 'welcome', 'refuse', 'subrefuse']);
const WRITES = new Set([...BOTH, 'hello', 'subscribe', 'unsubscribe']);
const TYPES: Record<string, number> = {
  hello: F.HELLO,
  data: F.DATA,
  publish: F.PUBLISH,
  subscribe: F.SUBSCRIBE,
  unsubscribe: F.UNSUBSCRIBE,
  request: F.REQUEST,
  response: F.RESPONSE,
  ack: F.ACK,
  ping: F.PING,
  pong: F.PONG,
  close: F.CLOSE,
};

/** The decoder's flat array as the reference `Frame`, to compare with the vectors. */
function toFrame(decoded: F.InFrame): Frame {
  const [t, flags, seq, ack, ...x] = decoded;
  const numbered = { ...(seq > 0 ? { seq } : {}), ...(ack >= 0 ? { ack } : {}) };
  const kind = KINDS[(flags >> 4) & 3]!;
  const payload = x.at(-1) as Uint8Array;
  switch (t) {
    case F.WELCOME: {
      const [
        version,
        sessionId,
        heartbeatInterval,
        heartbeatTimeout,
        lastSeq,
        maxFrameSize,
        maxInFlight,
        resumeWindow,
        maxMessageSize,
        maxStreams,
      ] = x as [number, string, ...number[]];
      return {
        type: 'welcome',
        version,
        sessionId,
        resumed: (flags & 1) === 1,
        ...((flags & 2) === 2 ? { batch: true } : {}),
        heartbeatInterval: heartbeatInterval!,
        heartbeatTimeout: heartbeatTimeout!,
        lastSeq: lastSeq!,
        maxFrameSize: maxFrameSize!,
        maxInFlight: maxInFlight!,
        resumeWindow: resumeWindow!,
        maxMessageSize: maxMessageSize!,
        maxStreams: maxStreams!,
      };
    }
    case F.REFUSE:
      return { type: 'refuse', code: x[0] as string, message: x[1] as string, versions: x[2] as number[] };
    case F.DATA:
      return { type: 'data', ...numbered, kind, payload };
    case F.PUBLISH:
      return { type: 'publish', ...numbered, topic: x[0] as string, kind, payload };
    case F.SUBREFUSE:
      return { type: 'subrefuse', topic: x[0] as string, code: x[1] as string, message: x[2] as string };
    case F.REQUEST:
      return { type: 'request', ...numbered, id: x[0] as number, method: x[1] as string, kind, payload };
    case F.RESPONSE:
      return {
        type: 'response',
        ...numbered,
        id: x[0] as number,
        ...((flags & 4) === 4 ? { error: { code: x[1] as string, message: x[2] as string } } : {}),
        kind,
        payload,
      };
    case F.ACK:
      return { type: 'ack', seq: x[0] as number };
    case F.PING:
      return { type: 'ping', nonce: x[0] as number };
    case F.PONG:
      return { type: 'pong', nonce: x[0] as number };
    default:
      return {
        type: 'close',
        code: x[0] as number,
        reason: x[1] as string,
        ...(x.length > 2 ? { reconnectAfter: x[2] as number } : {}),
      };
  }
}

/** A reference `Frame` encoded with the compact encoder, as the compact client calls it. */
function encodeAsClient(frame: Frame): Uint8Array {
  const t = TYPES[frame.type]!;
  const seqAck = (f: { seq?: number; ack?: number }): [number, number[]] => [
    (f.seq !== undefined ? 2 : 0) | (f.ack !== undefined ? 1 : 0),
    [...(f.seq !== undefined ? [f.seq] : []), ...(f.ack !== undefined ? [f.ack] : [])],
  ];
  const kindBits = (kind: PayloadKind): number => KINDS.indexOf(kind) << 4;
  switch (frame.type) {
    case 'hello': {
      const flags = (frame.token !== undefined ? 1 : 0) | (frame.resume ? 2 : 0) | (frame.limits ? 4 : 0);
      const parts: F.Part[] = [frame.versions.length, ...frame.versions, frame.capabilities, frame.codec];
      if (frame.token !== undefined) parts.push(frame.token);
      if (frame.resume) parts.push(frame.resume.sessionId, frame.resume.lastSeq);
      if (frame.limits)
        parts.push(frame.limits.maxFrameSize, frame.limits.maxMessageSize, frame.limits.maxStreams);
      return F.encode(t, flags, ...parts);
    }
    case 'data': {
      const [flags, numbers] = seqAck(frame);
      return F.encode(t, flags | kindBits(frame.kind), ...numbers, frame.payload);
    }
    case 'publish': {
      const [flags, numbers] = seqAck(frame);
      return F.encode(t, flags | kindBits(frame.kind), ...numbers, frame.topic, frame.payload);
    }
    case 'request': {
      const [flags, numbers] = seqAck(frame);
      return F.encode(t, flags | kindBits(frame.kind), ...numbers, frame.id, frame.method, frame.payload);
    }
    case 'response': {
      const [flags, numbers] = seqAck(frame);
      const error = frame.error ? [frame.error.code, frame.error.message] : [];
      return F.encode(
        t,
        flags | kindBits(frame.kind) | (frame.error ? 4 : 0),
        ...numbers,
        frame.id,
        ...error,
        frame.payload,
      );
    }
    case 'subscribe':
    case 'unsubscribe':
      return F.encode(t, 0, frame.topic);
    case 'ack':
      return F.encode(t, 0, frame.seq);
    case 'ping':
    case 'pong':
      return F.encode(t, 0, frame.nonce);
    case 'close':
      return frame.reconnectAfter === undefined
        ? F.encode(t, 0, frame.code, frame.reason)
        : F.encode(t, 1, frame.code, frame.reason, frame.reconnectAfter);
    default:
      throw new Error(`not a client frame: ${frame.type}`);
  }
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('the compact codec against the golden vectors', () => {
  const read = protocolVectors.filter((v) => READS.has(v.frame.type));
  const written = protocolVectors.filter((v) => WRITES.has(v.frame.type));

  it('covers every type the client reads and writes', () => {
    expect(new Set(read.map((v) => v.frame.type))).toEqual(READS);
    expect(new Set(written.map((v) => v.frame.type))).toEqual(WRITES);
  });

  it.each(read.map((v) => [v.name, v] as const))('decodes %s', (_name, vector) => {
    expect(toFrame(F.decode(fromHex(vector.hex)))).toEqual(vector.frame);
  });

  it.each(written.map((v) => [v.name, v] as const))('encodes %s', (_name, vector) => {
    expect(hex(encodeAsClient(vector.frame))).toBe(hex(fromHex(vector.hex)));
  });

  const fixed = read.filter((v) => !['data', 'publish', 'request', 'response'].includes(v.frame.type));
  it.each(fixed.map((v) => [v.name, v] as const))(
    'refuses %s with a byte more or a byte less',
    (_name, vector) => {
      const bytes = fromHex(vector.hex);
      expect(() => F.decode(Uint8Array.from([...bytes, 0]))).toThrow();
      expect(() => F.decode(bytes.subarray(0, bytes.byteLength - 1))).toThrow();
    },
  );

  it('refuses the frames only a server reads, the frames of streams and BATCH', () => {
    const others = [
      ...protocolVectors.filter((v) => !READS.has(v.frame.type)).map((v) => v.hex),
      ...streamVectors.map((v) => v.hex),
      '0f 00 04 10020161 04 10020262',
    ];
    expect(others.length).toBeGreaterThan(10);
    for (const body of others) expect(() => F.decode(fromHex(body)), body).toThrow();
  });
});

describe('the compact codec refuses malformed frames (docs/protocol.md §2, §5.1)', () => {
  it.each([
    ['a body under 2 bytes', '30'],
    ['an empty body', ''],
    ['an unknown type', '7e 00'],
    ['a flag the type does not define', '30 01 00'],
    ['payload kind 3', '10 30'],
    ['a seq of 0', '10 02 00'],
    ['a request id of 0', '20 00 00 01 6d'],
    ['a varint over 8 bytes', '30 00 ffffffffffffffff01'],
    ['a varint cut off', '30 00 80'],
    ['a non-minimal varint', '30 00 8000'],
    ['a varint above 2^53 - 1', '30 00 ffffffffffffff10'],
    ['a string longer than the body', '3f 00 e807 05 6869'],
    ['a topic over 256 bytes', `14 00 8102 ${'61'.repeat(257)} 00 00`],
    ['a reason that is not UTF-8', '3f 00 e807 02 eda0'],
    ['a versions list over 16', `03 00 00 00 11 ${'02'.repeat(17)}`],
    ['a versions count over the bytes left', '03 00 00 00 05 02'],
  ])('%s', (_what, body) => {
    expect(() => F.decode(fromHex(body))).toThrow();
  });

  it('takes the largest varint, 2^53 - 1, as a seq', () => {
    expect(F.decode(fromHex('10 02 ffffffffffffff0f')).slice(0, 4)).toEqual([F.DATA, 2, 2 ** 53 - 1, -1]);
  });

  it('refuses to encode a string that is not well-formed Unicode', () => {
    expect(() => F.encode(F.SUBSCRIBE, 0, 'a\ud800')).toThrow(TypeError);
    expect(hex(F.encode(F.SUBSCRIBE, 0, 'a\ud83d\ude00'))).toBe('1200' + '05' + '61f09f9880');
  });
});

describe("the compact client's JSON codec (docs/protocol.md §6.4)", () => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

  it('carries values both ways', () => {
    const value = { a: [1, 'two', { b: null }], s: 'ü [ { "' };
    expect(json.decode(json.encode(value))).toEqual(value);
  });

  it.each([
    ['a __proto__ key', '{"__proto__":{"x":1}}'],
    ['a key spelt with escapes', '{"\\u005f_proto__":1}'],
    ['a constructor key, deep', '[{"a":{"constructor":1}}]'],
    ['nesting of 65', '['.repeat(65) + ']'.repeat(65)],
    ['invalid JSON', '{"a":'],
    ['a byte order mark', '\ufeff{}'],
  ])('refuses %s with ERR_BAD_PAYLOAD', (_what, text) => {
    expect(() => json.decode(bytes(text))).toThrow(expect.objectContaining({ code: 'ERR_BAD_PAYLOAD' }));
  });

  it('takes nesting of 64, and brackets inside strings do not count', () => {
    expect(json.decode(bytes('['.repeat(64) + ']'.repeat(64)))).toBeDefined();
    expect(json.decode(bytes(`["${'['.repeat(100)}\\"["]`))).toEqual([`${'['.repeat(100)}"[`]);
  });

  it('refuses invalid UTF-8 with ERR_BAD_PAYLOAD', () => {
    expect(() => json.decode(Uint8Array.from([0x22, 0xff, 0x22]))).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_PAYLOAD' }),
    );
  });

  it.each([
    ['undefined', undefined],
    ['a BigInt', 10n],
    ['a prototype key', { prototype: 1 }],
    ['nesting of 65', JSON.parse('['.repeat(65) + ']'.repeat(65)) as unknown],
  ])('refuses to encode %s with a TypeError', (_what, value) => {
    expect(() => json.encode(value)).toThrow(TypeError);
  });
});
