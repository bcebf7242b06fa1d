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
export const jsonCodecDefaults = Object.freeze({ maxDepth: 64 });

/**
 * Object keys refused in both directions. JSON.parse makes them plain own properties, but
 * the first merge (`Object.assign`, a spread into a class instance, lodash `merge`) of such
 * an object into another turns `__proto__` into prototype pollution.
 */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const utf8Encoder = new TextEncoder();
/** Fatal: invalid UTF-8 is refused, never turned into U+FFFD. ignoreBOM: U+FEFF is data, kept. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The shortest forbidden key, and the longest one with every character escaped as \uXXXX. */
const MIN_KEY_CHARS = 9;
const MAX_ESCAPED_KEY_CHARS = 11 * 6;

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const COLON = 0x3a; // :
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }

/**
 * The JSON codec, sockline's default (`name: 'json'`).
 *
 * - `encode`: `JSON.stringify`, then UTF-8. Throws TypeError for what JSON cannot carry
 *   (`undefined`, a function or symbol at the top, a BigInt, a cycle), for nesting deeper
 *   than `maxDepth`, and for a `__proto__`, `constructor` or `prototype` key: the peer's
 *   decoder would refuse them, so the sender learns it at `send()`.
 * - `decode`: fatal UTF-8 decoding, a linear non-recursive scan that refuses nesting
 *   deeper than `maxDepth` and those three keys (however their characters are escaped),
 *   then `JSON.parse`. Every failure is SocklineError `ERR_BAD_PAYLOAD`.
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
    encode: (value: unknown): Uint8Array => encodeJson(value, maxDepth),
    decode: (bytes: Uint8Array): unknown => decodeJson(bytes, maxDepth),
  });
}

function encodeJson(value: unknown, maxDepth: number): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    // A cycle or a BigInt (TypeError), or a stack overflow on a very deep value (RangeError).
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(`jsonCodec cannot encode the value: ${reason}`, { cause: error });
  }
  if (text === undefined) {
    throw new TypeError(`jsonCodec cannot encode ${describe(value)}: JSON has no representation for it`);
  }
  const problem = scanJson(text, maxDepth);
  if (problem !== undefined) throw new TypeError(`jsonCodec cannot encode the value: ${problem}`);
  return utf8Encoder.encode(text);
}

function decodeJson(bytes: Uint8Array, maxDepth: number): unknown {
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch (error) {
    throw new SocklineError(ErrorCodes.BAD_PAYLOAD, 'JSON payload is not valid UTF-8', { cause: error });
  }
  const problem = scanJson(text, maxDepth);
  if (problem !== undefined)
    throw new SocklineError(ErrorCodes.BAD_PAYLOAD, `JSON payload refused: ${problem}`);
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SocklineError(ErrorCodes.BAD_PAYLOAD, `JSON payload is not valid JSON: ${reason}`, {
      cause: error,
    });
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  return `a ${typeof value}`;
}

/**
 * One pass over JSON text, in a loop (never recursion): counts `[` and `{` outside strings
 * and stops at the first one past `maxDepth`; checks every object key against
 * {@link FORBIDDEN_KEYS}. Returns what is wrong, or undefined. Malformed JSON is left for
 * `JSON.parse` to refuse: in valid JSON a key is exactly a string followed by optional
 * whitespace and a colon, so the scan and the parser agree on what the keys are.
 */
function scanJson(text: string, maxDepth: number): string | undefined {
  const n = text.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      const end = closingQuote(text, i + 1);
      if (end === -1) return undefined; // unterminated: JSON.parse refuses it
      i = end;
      const length = end - start - 1;
      // Only a string that could spell a forbidden key is looked at again: 9 to 11
      // characters, or up to 6 times that when escaped (\u0063 for 'c'). The bound keeps
      // the scan linear however many strings the text holds.
      if (length < MIN_KEY_CHARS || length > MAX_ESCAPED_KEY_CHARS) continue;
      if (!isKey(text, end + 1)) continue;
      const key = keyOf(text, start, end);
      if (key !== undefined && FORBIDDEN_KEYS.has(key)) return `the object key "${key}" is not allowed`;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      depth++;
      if (depth > maxDepth) return `nesting deeper than maxDepth (${maxDepth}) at character ${i}`;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return undefined;
}

/** The index of the quote that ends the string whose content starts at `from`, or -1. */
function closingQuote(text: string, from: number): number {
  let at = from;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote === -1) return -1;
    // Escaped when preceded by an odd run of backslashes: `\"` is, `\\"` is not.
    let slashes = 0;
    while (text.charCodeAt(quote - 1 - slashes) === BACKSLASH) slashes++;
    if ((slashes & 1) === 0) return quote;
    at = quote + 1;
  }
}

/** True when the next non-whitespace character at or after `from` is a colon. */
function isKey(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // JSON whitespace is exactly space, tab, LF and CR.
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === COLON;
  }
  return false;
}

/** The key text between the quotes at `start` and `end`, escapes resolved; undefined if malformed. */
function keyOf(text: string, start: number, end: number): string | undefined {
  const raw = text.slice(start + 1, end);
  if (raw.indexOf('\\') === -1) return raw;
  try {
    return JSON.parse(text.slice(start, end + 1)) as string;
  } catch {
    return undefined; // a bad escape: JSON.parse refuses the whole text later
  }
}

/**
 * Chooses the payload kind for a value an application sends: bytes (a Uint8Array, any other
 * ArrayBuffer view, an ArrayBuffer) go as `binary`, a string as `text` (UTF-8; a lone
 * surrogate becomes U+FFFD), anything else as `value` through `codec`. A Uint8Array is
 * used as it is, not copied.
 *
 * Throws what `codec.encode` throws (TypeError for a value it cannot represent).
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
  if (typeof data === 'string') return { kind: 'text', payload: utf8Encoder.encode(data) };
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
  switch (kind) {
    case 'binary':
      return payload;
    case 'text':
      try {
        return utf8Decoder.decode(payload);
      } catch (error) {
        throw new SocklineError(ErrorCodes.BAD_PAYLOAD, 'Text payload is not valid UTF-8', { cause: error });
      }
    case 'value':
      try {
        return codec.decode(payload);
      } catch (error) {
        if (isSocklineError(error, ErrorCodes.BAD_PAYLOAD)) throw error;
        throw new SocklineError(ErrorCodes.BAD_PAYLOAD, `Codec '${codec.name}' refused the payload`, {
          cause: error,
        });
      }
    default:
      throw new TypeError(`kind must be 'binary', 'text' or 'value', got ${String(kind)}`);
  }
}
