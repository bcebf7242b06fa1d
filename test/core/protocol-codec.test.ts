import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SocklineError, isSocklineError } from '../../src/core/errors.js';
import { decodePayload, encodePayload, jsonCodec, jsonCodecDefaults } from '../../src/core/protocol/codec.js';
import type { Codec } from '../../src/core/protocol/codec.js';
import { fromHex, toHex } from '../fixtures/frames.js';

const SEED = 0xc0de_c5;
const RUNS = 2_000;
const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];

const utf8 = new TextEncoder();
const codec = jsonCodec();

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** Asserts decoding `text` (or bytes) is refused with ERR_BAD_PAYLOAD; returns the message. */
function expectBadPayload(input: string | Uint8Array, using: Codec = codec): string {
  const bytes = typeof input === 'string' ? utf8.encode(input) : input;
  const error = thrown(() => using.decode(bytes));
  expect(isSocklineError(error, 'ERR_BAD_PAYLOAD'), String(error)).toBe(true);
  return (error as Error).message;
}

function decodeText(text: string, using: Codec = codec): unknown {
  return using.decode(utf8.encode(text));
}

/** Nesting depth and forbidden keys of a parsed value, by an explicit stack (no recursion). */
function inspect(value: unknown): { depth: number; forbidden: boolean } {
  let depth = 0;
  let forbidden = false;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    depth = Math.max(depth, d + 1);
    for (const key of Object.keys(v)) {
      if (!Array.isArray(v) && FORBIDDEN.includes(key)) forbidden = true;
      stack.push([(v as Record<string, unknown>)[key], d + 1]);
    }
  }
  return { depth, forbidden };
}

describe('jsonCodec', () => {
  it("is named 'json', frozen, and defaults maxDepth to 64", () => {
    expect(codec.name).toBe('json');
    expect(Object.isFrozen(codec)).toBe(true);
    expect(jsonCodecDefaults.maxDepth).toBe(64);
  });

  it('round-trips JSON values', () => {
    const values = [
      null,
      true,
      0,
      -1.5e300,
      'text with "quotes", \\ and \u2713 and \ud83d\ude00',
      '\ud800 lone surrogate (JSON.stringify escapes it)',
      [],
      {},
      [1, [2, [3]], { a: null }],
      { nested: { list: [{ x: 'y' }], empty: {} }, 'key with spaces': 1, '': 'empty key' },
    ];
    for (const value of values) expect(codec.decode(codec.encode(value))).toEqual(value);
  });

  it('round-trips any JSON value without a forbidden key', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
        const { forbidden } = inspect(value);
        if (forbidden) expect(() => codec.encode(value)).toThrow(TypeError);
        // JSON has no -0: compare with what JSON itself gives back.
        else expect(codec.decode(codec.encode(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('encodes to UTF-8 JSON text', () => {
    expect(toHex(codec.encode({ a: 'é' }))).toBe(toHex(utf8.encode('{"a":"é"}')));
  });

  describe('refuses prototype-pollution keys', () => {
    const attacks = [
      '{"__proto__":{"x":1}}',
      '{"a":{"constructor":{}}}',
      '{"prototype":1}',
      '[{"a":1},{"b":{"__proto__":{"x":1}}}]',
      '{"__proto__" :\n {"x":1}}',
      '{"\\u005f_proto__":{"x":1}}',
      '{"\\u005F\\u005F\\u0070\\u0072\\u006F\\u0074\\u006F\\u005F\\u005F":{"x":1}}',
      '{"constructo\\u0072":{"prototype":{"x":1}}}',
      '{"\\u0063\\u006f\\u006e\\u0073\\u0074\\u0072\\u0075\\u0063\\u0074\\u006f\\u0072":1}',
      '{"a":"\\\\","__proto__":{"x":1}}',
    ];
    for (const attack of attacks) {
      it(`refuses ${attack}`, () => {
        expect(expectBadPayload(attack)).toMatch(
          /object key "(__proto__|constructor|prototype)" is not allowed/,
        );
        expect(({} as { x?: unknown }).x).toBeUndefined();
        expect(Object.prototype).not.toHaveProperty('x');
      });
    }
  });

  it('accepts the forbidden names as values and as array items', () => {
    expect(decodeText('{"a":"__proto__","b":["constructor","prototype"]}')).toEqual({
      a: '__proto__',
      b: ['constructor', 'prototype'],
    });
    // Text that looks like a forbidden key but is inside a value, or a longer key.
    expect(decodeText('{"a":"\\"constructor\\": 1","\\"prototype":2,"b":"\\u005f_proto__"}')).toEqual({
      a: '"constructor": 1',
      '"prototype': 2,
      b: '__proto__',
    });
    expect(decodeText('{"__proto":1,"constructors":2,"_prototype_":3}')).toEqual({
      __proto: 1,
      constructors: 2,
      _prototype_: 3,
    });
  });

  it('refuses to encode a forbidden key, so the sender learns before the peer refuses', () => {
    expect(() => codec.encode({ constructor: 1 })).toThrow(TypeError);
    expect(() => codec.encode(JSON.parse('{"a":{"__proto__":{"x":1}}}'))).toThrow(/__proto__/);
    expect(() => codec.encode([{ prototype: {} }])).toThrow(TypeError);
  });

  it('agrees with a parse-then-walk reference on keys written with any escapes and whitespace', () => {
    const key = fc.oneof(
      fc.constantFrom(...FORBIDDEN, 'a', '__proto_', 'constructors', 'proto', '"constructor'),
      fc.string(),
    );
    /** Each character escaped as \uXXXX or not, hex digits in lower or upper case. */
    const escapes = fc.tuple(fc.array(fc.boolean(), { maxLength: 12 }), fc.boolean());
    const space = fc.constantFrom('', ' ', '\t', '\n', '\r', ' \r\n\t');
    /** Values that spell the forbidden names (as data, never keys): refused only as keys. */
    const value = fc.constantFrom('0', '"constructor"', '"\\"prototype\\":1"', '"\\u0063onstructor"');
    /** Writes one object of the given entries. */
    const text = fc
      .tuple(fc.array(fc.tuple(key, escapes, space, value), { maxLength: 4 }), fc.boolean())
      .map(([entries, nest]) => {
        const body = entries
          .map(([k, [mask, upper], ws, v]) => {
            const chars = Array.from({ length: k.length }, (_, j) => {
              if (!mask[j % Math.max(1, mask.length)]) return JSON.stringify(k[j]!).slice(1, -1);
              const hex = k.charCodeAt(j).toString(16).padStart(4, '0');
              return `\\u${upper ? hex.toUpperCase() : hex}`;
            });
            return `"${chars.join('')}"${ws}:${ws}${v}`;
          })
          .join(',');
        return nest ? `[{"x":{${body}}}]` : `{${body}}`;
      });
    fc.assert(
      fc.property(text, (json) => {
        // JSON.parse makes every key an own property, so the walk sees '__proto__' too.
        const expected = inspect(JSON.parse(json)).forbidden;
        let refused = false;
        try {
          decodeText(json);
        } catch (error) {
          expect(isSocklineError(error, 'ERR_BAD_PAYLOAD')).toBe(true);
          refused = true;
        }
        expect(refused, json).toBe(expected);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  describe('bounds nesting depth before parsing', () => {
    it('refuses 100,000-deep arrays and objects quickly, without a stack overflow', () => {
      const n = 100_000;
      expect(expectBadPayload('['.repeat(n) + ']'.repeat(n))).toMatch(
        /deeper than maxDepth \(64\) at character 64/,
      );
      expect(expectBadPayload('{"a":'.repeat(n) + '1' + '}'.repeat(n))).toMatch(/deeper than maxDepth/);
      // Unbalanced, never closed: still refused at the 65th bracket.
      expectBadPayload('['.repeat(10 * n));
    });

    it('accepts depth 64 and refuses depth 65 by default', () => {
      const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
      expect(decodeText(nested(64))).toBeInstanceOf(Array);
      expectBadPayload(nested(65));
      const objects = (depth: number): string => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
      expect(decodeText(objects(64))).toBeTypeOf('object');
      expectBadPayload(objects(65));
    });

    it('does not count brackets inside strings, and respects escaped quotes', () => {
      const shallow = jsonCodec({ maxDepth: 2 });
      expect(decodeText('{"a":"[[[[{{{{"}', shallow)).toEqual({ a: '[[[[{{{{' });
      expect(decodeText('["\\"[[[[", "\\\\"]', shallow)).toEqual(['"[[[[', '\\']);
      // `\\"` ends the string: the brackets after it count.
      expectBadPayload('["\\\\",[[1]]]', shallow);
      expect(decodeText('["\\\\",[1]]', shallow)).toEqual(['\\', [1]]);
    });

    it('takes maxDepth from the options and refuses to encode past it', () => {
      const one = jsonCodec({ maxDepth: 1 });
      expect(decodeText('[1,2]', one)).toEqual([1, 2]);
      expectBadPayload('[[1]]', one);
      expect(() => one.encode([[1]])).toThrow(TypeError);
      const unlimited = jsonCodec({ maxDepth: Infinity });
      expect(decodeText('['.repeat(1_000) + ']'.repeat(1_000), unlimited)).toBeInstanceOf(Array);
    });

    it('throws RangeError for a maxDepth that is not a positive integer or Infinity', () => {
      for (const bad of [0, -1, 2.5, NaN]) expect(() => jsonCodec({ maxDepth: bad })).toThrow(/maxDepth/);
    });
  });

  it('refuses invalid UTF-8, invalid JSON, an empty payload and a byte order mark', () => {
    expect(expectBadPayload(fromHex('22 c328 22'))).toMatch(/not valid UTF-8/);
    expectBadPayload(fromHex('22 eda080 22'));
    expect(expectBadPayload('{"a":')).toMatch(/not valid JSON/);
    expectBadPayload('{"a":1}}');
    expectBadPayload('"unterminated');
    expectBadPayload('');
    expectBadPayload(fromHex('efbbbf 7b7d'));
  });

  it('throws TypeError for values JSON cannot carry', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const value of [undefined, () => 1, Symbol('s'), 10n, { big: 1n }, cycle]) {
      const error = thrown(() => codec.encode(value));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/^jsonCodec cannot encode/);
    }
  });
});

describe('payload helpers', () => {
  it('sends bytes as binary without copying, and gives the same view back', () => {
    const bytes = fromHex('00ff10');
    const { kind, payload } = encodePayload(bytes, codec);
    expect(kind).toBe('binary');
    expect(payload).toBe(bytes);
    expect(decodePayload(kind, payload, codec)).toBe(bytes);
  });

  it('sends other binary views and ArrayBuffers as their bytes', () => {
    const floats = new Float32Array([1]);
    expect(encodePayload(floats, codec)).toEqual({ kind: 'binary', payload: new Uint8Array(floats.buffer) });
    const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
    expect(encodePayload(new DataView(buffer, 1, 2), codec)).toEqual({
      kind: 'binary',
      payload: new Uint8Array([2, 3]),
    });
    expect(encodePayload(buffer, codec)).toEqual({ kind: 'binary', payload: new Uint8Array([1, 2, 3, 4]) });
  });

  it('sends strings as UTF-8 text and gives the same string back, a leading U+FEFF included', () => {
    for (const text of ['', 'hi', 'ciao \u2713 \ud83d\ude00', '\ufeffbom kept']) {
      const { kind, payload } = encodePayload(text, codec);
      expect(kind).toBe('text');
      expect(toHex(payload)).toBe(toHex(utf8.encode(text)));
      expect(decodePayload(kind, payload, codec)).toBe(text);
    }
  });

  it('sends anything else as a value through the codec', () => {
    for (const value of [null, 0, false, { a: [1, 'b'] }, [[]]]) {
      const { kind, payload } = encodePayload(value, codec);
      expect(kind).toBe('value');
      expect(decodePayload(kind, payload, codec)).toEqual(value);
    }
    expect(() => encodePayload(undefined, codec)).toThrow(TypeError);
  });

  it('refuses text that is not UTF-8 with ERR_BAD_PAYLOAD', () => {
    const error = thrown(() => decodePayload('text', fromHex('68 ff'), codec));
    expect(isSocklineError(error, 'ERR_BAD_PAYLOAD')).toBe(true);
  });

  it('turns any error of a custom codec into ERR_BAD_PAYLOAD, keeping the cause', () => {
    const cause = new Error('nope');
    const failing: Codec = {
      name: 'custom',
      encode: () => new Uint8Array(),
      decode: () => {
        throw cause;
      },
    };
    const error = thrown(() => decodePayload('value', new Uint8Array(1), failing));
    expect(isSocklineError(error, 'ERR_BAD_PAYLOAD')).toBe(true);
    expect((error as Error).cause).toBe(cause);
    const own = new SocklineError(ErrorCodes.BAD_PAYLOAD, 'mine');
    expect(
      thrown(() =>
        decodePayload('value', new Uint8Array(1), {
          ...failing,
          decode: () => {
            throw own;
          },
        }),
      ),
    ).toBe(own);
  });
});
