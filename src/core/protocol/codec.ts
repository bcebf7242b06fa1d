import { ErrorCodes, SocklineError, isSocklineError } from '../errors.js';
import type { PayloadKind } from './frames.js';

/**
 * Turns application values into the bytes of `value` payloads (payload kind 2) and back.
 * Both ends of a session use the codec named in HELLO (docs/protocol.md §4.1).
 *
 * `decode` receives bytes from the network: it must throw SocklineError `ERR_BAD_PAYLOAD`
 * for anything it refuses (other errors are wrapped into one by `decodePayload`), and must
 * bound its own work (depth, size) since the peer is not trusted.
 */
export interface Codec {
  /** Sent in HELLO, e.g. `'json'`. At most 256 bytes of UTF-8. */
  readonly name: string;
  /** Throws TypeError for a value it cannot represent. */
  encode(value: unknown): Uint8Array;
  /** Throws SocklineError `ERR_BAD_PAYLOAD` for bytes it refuses. */
  decode(bytes: Uint8Array): unknown;
}

/** Options of {@link jsonCodec}. */
export interface JsonCodecOptions {
  /**
   * The deepest nesting of arrays and objects accepted (`[]` is depth 1, `[[]]` depth 2).
   * Checked by a linear scan before `JSON.parse` runs, so a 100,000-deep payload costs
   * nothing. A positive integer, or `Infinity` for no limit.
   * @default 64
   */
  readonly maxDepth?: number;
}

/** The defaults of {@link JsonCodecOptions}. */
export const jsonCodecDefaults = /* @__PURE__ */ Object.freeze({ maxDepth: 64 });

/**
 * Object keys refused in both directions. JSON.parse makes them plain own properties, but
 * the first merge (`Object.assign`, a spread into a class instance, lodash `merge`) of such
 * an object into another turns `__proto__` into prototype pollution.
 */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Text this does not match holds no forbidden key, so it is parsed without the (slower)
 * reviver. A key spells one either literally, as `"name"` before a colon, or with a `\u`
 * escape of one of its letters (`_` and `a`-`z`: `\u005f` to `\u007a`; `\u` is the only
 * escape that can stand for them). A match elsewhere (in a value) only costs the reviver.
 */
const MAY_HOLD_FORBIDDEN_KEY = /"(?:__proto__|constructor|prototype)"\s*:|\\u00[5-7]/;

/** The payload kinds in the order of their flag bits (0x00, 0x10, 0x20; docs/protocol.md §3.2). */
export const PAYLOAD_KINDS: readonly PayloadKind[] = ['binary', 'text', 'value'];

/** A UTF-16 unit no pair completes: with the `u` flag a well-formed pair is one code point, not `Cs`. */
export const LONE_SURROGATE = /\p{Cs}/u;

/** One UTF-8 encoder and one fatal decoder for every payload and string of the protocol. */
export const utf8Encoder = new TextEncoder();
/** Fatal: invalid UTF-8 is refused, never turned into U+FFFD. ignoreBOM: U+FEFF is data, kept. */
export const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The JSON codec, sockline's default (`name: 'json'`).
 *
 * - `encode`: `JSON.stringify`, then UTF-8. Throws TypeError for what JSON cannot carry
 *   (`undefined`, a function or symbol at the top, a BigInt, a cycle), for nesting deeper
 *   than `maxDepth`, and for a `__proto__`, `constructor` or `prototype` key: the peer's
 *   decoder would refuse them, so the sender learns it at `send()`.
 * - `decode`: fatal UTF-8 decoding, a linear non-recursive scan that refuses nesting
 *   deeper than `maxDepth` before `JSON.parse` runs, then `JSON.parse` with a reviver that
 *   refuses those three keys (however their characters are escaped) whenever the text could
 *   spell one. Every failure is SocklineError `ERR_BAD_PAYLOAD`.
 *
 * Throws RangeError if `maxDepth` is not a positive integer or `Infinity`.
 *
 * @example
 * ```ts
 * const codec = jsonCodec({ maxDepth: 32 });
 * codec.decode(codec.encode({ a: [1, 2] })); // { a: [1, 2] }
 * codec.decode(new TextEncoder().encode('{"__proto__":{"x":1}}')); // throws ERR_BAD_PAYLOAD
 * ```
 */
export function jsonCodec(options: JsonCodecOptions = {}): Codec {
  const maxDepth = options.maxDepth ?? jsonCodecDefaults.maxDepth;
  if (maxDepth !== Infinity && !(Number.isSafeInteger(maxDepth) && maxDepth > 0)) {
    throw new RangeError(`maxDepth must be a positive integer or Infinity, got ${String(maxDepth)}`);
  }
  return Object.freeze({
    name: 'json',
    encode(value: unknown): Uint8Array {
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
        if (text === undefined) throw new TypeError(`JSON has no representation for ${typeof value}`);
        // Only checked (a reviver parse when the text could hold a forbidden key), not kept.
        parseJson(text, maxDepth, false);
      } catch (error) {
        // A cycle or a BigInt (TypeError), a stack overflow on a very deep value (RangeError),
        // or what the peer would refuse.
        throw new TypeError(`jsonCodec cannot encode the value: ${reason(error)}`, { cause: error });
      }
      return utf8Encoder.encode(text);
    },
    decode(bytes: Uint8Array): unknown {
      let text: string;
      try {
        text = utf8Decoder.decode(bytes);
      } catch (error) {
        throw badPayload('JSON payload is not valid UTF-8', error);
      }
      return parseJson(text, maxDepth, true);
    },
  });
}

/**
 * Refuses (ERR_BAD_PAYLOAD) nesting deeper than `maxDepth` with one loop over the text
 * (never recursion: a 100,000-deep payload costs a scan up to its 65th bracket), then parses
 * it when `keep`, or when it could hold a forbidden key, with a reviver that refuses them.
 * Malformed JSON is left for `JSON.parse` to refuse.
 */
function parseJson(text: string, maxDepth: number, keep: boolean): unknown {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string: it ends at the next quote preceded by an even run of backslashes
      // (`\"` is an escaped quote; `\\"` an escaped backslash, then the end).
      let slashes: number;
      do {
        i = text.indexOf('"', i + 1);
        slashes = 0;
        while (text.charCodeAt(i - 1 - slashes) === 0x5c) slashes++;
      } while (slashes & 1);
      if (i === -1) break; // unterminated: JSON.parse refuses it
    } else if (c === 0x5b || c === 0x7b) {
      // [ or {
      if (++depth > maxDepth)
        throw badPayload(`nesting deeper than maxDepth (${maxDepth}) at character ${i}`);
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  const suspect = MAY_HOLD_FORBIDDEN_KEY.test(text);
  if (!keep && !suspect) return undefined;
  try {
    return JSON.parse(text, suspect ? refuseForbiddenKey : undefined);
  } catch (error) {
    throw isSocklineError(error) ? error : badPayload(`not valid JSON: ${reason(error)}`, error);
  }
}

/** A JSON.parse reviver: sees every key, escapes resolved, own `__proto__` included. */
function refuseForbiddenKey(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw badPayload(`the object key "${key}" is not allowed`);
  return value;
}

function badPayload(message: string, cause?: unknown): SocklineError {
  return new SocklineError(ErrorCodes.BAD_PAYLOAD, message, { cause });
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Chooses the payload kind for a value an application sends: bytes (a Uint8Array, any other
 * ArrayBuffer view, an ArrayBuffer) go as `binary`, a string as `text` (UTF-8), anything
 * else as `value` through `codec`. A Uint8Array is used as it is, not copied.
 *
 * Throws a TypeError for a string with a lone surrogate (not well-formed Unicode, which
 * UTF-8 cannot carry), and what `codec.encode` throws (TypeError for a value it cannot
 * represent).
 *
 * @example
 * ```ts
 * encodePayload('hi', jsonCodec()); // { kind: 'text', payload: Uint8Array [0x68, 0x69] }
 * ```
 */
export function encodePayload(
  data: Uint8Array | string | unknown,
  codec: Codec,
): { kind: PayloadKind; payload: Uint8Array } {
  if (data instanceof Uint8Array) return { kind: 'binary', payload: data };
  if (typeof data === 'string') {
    // As for every string on the wire (docs/protocol.md §2.3): U+FFFD would change the text unseen.
    if (LONE_SURROGATE.test(data))
      throw new TypeError('a text payload holds a lone surrogate (not well-formed Unicode)');
    return { kind: 'text', payload: utf8Encoder.encode(data) };
  }
  if (ArrayBuffer.isView(data)) {
    // Without this a Float32Array or DataView would go through JSON as {"0":…} or {}.
    return { kind: 'binary', payload: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }
  if (isArrayBuffer(data)) return { kind: 'binary', payload: new Uint8Array(data) };
  return { kind: 'value', payload: codec.encode(data) };
}

/** By tag, not instanceof, so a buffer from another realm (an iframe, a vm context) counts. */
function isArrayBuffer(data: unknown): data is ArrayBuffer {
  if (typeof data !== 'object' || data === null) return false;
  const tag = Object.prototype.toString.call(data);
  return tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]';
}

/**
 * Turns a received payload back into what the sender passed to {@link encodePayload}:
 * `binary` gives the payload itself (a view of the frame: copy it to keep it long), `text`
 * a string (fatal UTF-8 decoding), `value` whatever `codec.decode` returns.
 *
 * Throws SocklineError `ERR_BAD_PAYLOAD` for invalid UTF-8 text, and for any error of
 * `codec.decode` (one that is not already ERR_BAD_PAYLOAD becomes the `cause`).
 */
export function decodePayload(
  kind: PayloadKind,
  payload: Uint8Array,
  codec: Codec,
): Uint8Array | string | unknown {
  if (kind === 'binary') return payload;
  try {
    return kind === 'text' ? utf8Decoder.decode(payload) : codec.decode(payload);
  } catch (error) {
    if (isSocklineError(error, ErrorCodes.BAD_PAYLOAD)) throw error;
    throw badPayload(
      kind === 'text' ? 'Text payload is not valid UTF-8' : `Codec '${codec.name}' refused the payload`,
      error,
    );
  }
}
