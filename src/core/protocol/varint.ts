import { ErrorCodes, SocklineError } from '../errors.js';

/**
 * The wire primitives of the session protocol (docs/protocol.md §2): unsigned LEB128
 * varints and length-prefixed UTF-8 strings, with the growable writer the encoder fills and
 * the bounds-checked reader the decoder walks.
 *
 * A varint is 7 bits per byte, least significant group first, the high bit set on every
 * byte but the last:
 *
 * ```
 * 0            -> 00
 * 127          -> 7f
 * 128          -> 80 01
 * 300          -> ac 02
 * 2^53 - 1     -> ff ff ff ff ff ff ff 0f   (the largest: 8 bytes)
 * ```
 *
 * A decoder refuses (ERR_PROTOCOL) a varint longer than {@link MAX_VARINT_BYTES}, one cut
 * off by the end of the frame, one above `Number.MAX_SAFE_INTEGER`, and a non-minimal one
 * (a last byte of 00 after a continuation byte): one value has exactly one encoding, so a
 * decoded frame re-encodes to the bytes it came from.
 */

/** The longest varint on the wire: 8 bytes carry 56 bits, enough for 2^53 - 1. */
export const MAX_VARINT_BYTES = 8;

/** The largest value a varint may carry: 2^53 - 1, the largest exact integer of a JS number. */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;

/** Strings up to this many bytes are decoded by hand when ASCII: cheaper than a TextDecoder call. */
const SHORT_ASCII_MAX = 32;

/** Scratch for {@link ByteReader.string}; decoding is synchronous, so one array serves every call. */
const shortCodes: number[] = [];

/** Fatal: invalid UTF-8 is an error, never U+FFFD. ignoreBOM: a leading U+FEFF is data, kept. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes that `value` takes as a varint (1 to 8). `value` must already be valid. */
export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  if (value < 0x800000000) return 5;
  if (value < 0x40000000000) return 6;
  if (value < 0x2000000000000) return 7;
  return 8;
}

/**
 * Writes `value` as a varint into `out` at `at` and returns the offset after it. `value` must
 * already be valid (an integer from 0 to 2^53 - 1) and `out` must have room (8 bytes at most).
 */
export function putVarint(out: Uint8Array, at: number, value: number): number {
  let rest = value;
  // Bitwise operators only see 32 bits: above 2^31 divide instead.
  while (rest > 0x7fffffff) {
    out[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  while (rest > 0x7f) {
    out[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  out[at++] = rest;
  return at;
}

/**
 * A growable byte buffer. The frame encoder reuses one (so encoding allocates nothing but
 * its result); its capacity doubles as needed.
 */
export class ByteWriter {
  #bytes: Uint8Array;
  #length = 0;

  /** @param initialCapacity bytes reserved up front. @default 64 */
  constructor(initialCapacity = 64) {
    this.#bytes = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Bytes written since the last `reset()`. */
  get length(): number {
    return this.#length;
  }

  /** Bytes reserved; a reused writer may be replaced when this grew large. */
  get capacity(): number {
    return this.#bytes.length;
  }

  /** Forgets what was written; keeps the memory. */
  reset(): void {
    this.#length = 0;
  }

  /** Appends one byte (`value` is taken modulo 256). */
  byte(value: number): void {
    if (this.#length === this.#bytes.length) this.#grow(1);
    this.#bytes[this.#length++] = value;
  }

  /**
   * Appends `value` as a varint. Throws RangeError unless it is an integer from `min` to
   * 2^53 - 1; `field` names it in that message.
   */
  varint(value: number, field = 'value', min = 0): void {
    if (!Number.isSafeInteger(value) || value < min) {
      throw new RangeError(`${field} must be an integer from ${min} to 2^53 - 1, got ${String(value)}`);
    }
    if (this.#bytes.length - this.#length < MAX_VARINT_BYTES) this.#grow(MAX_VARINT_BYTES);
    this.#length = putVarint(this.#bytes, this.#length, value);
  }

  /**
   * Appends a string as a varint UTF-8 byte length, then the UTF-8 bytes. Throws TypeError
   * if `value` is not a string or holds a lone surrogate (a TextEncoder would silently turn
   * it into U+FFFD, so a topic or method would reach the peer as another name).
   */
  string(value: string, field = 'value'): void {
    if (typeof value !== 'string') {
      throw new TypeError(`${field} must be a string, got ${typeof value}`);
    }
    // One pass over the string: reserve the prefix for the most bytes it can take (3 per
    // UTF-16 unit), encode, then fill the prefix in.
    const most = value.length * 3;
    const reserve = varintSize(most);
    this.#ensure(MAX_VARINT_BYTES + most);
    const start = this.#length;
    const from = start + reserve;
    this.#length = from;
    this.#utf8(value, field);
    const size = this.#length - from;
    if (reserve === 1) {
      // At most 42 units, at most 126 bytes: the common case (topics, methods, codes).
      this.#bytes[start] = size;
      return;
    }
    // The real length may need fewer prefix bytes than reserved: move the text down to it.
    this.#length = start;
    this.varint(size);
    const at = this.#length;
    if (at !== from) this.#bytes.copyWithin(at, from, from + size);
    this.#length = at + size;
  }

  /** Appends `bytes`. */
  bytes(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** Copies what was written into `target` at `offset`. */
  copyTo(target: Uint8Array, offset: number): void {
    const bytes = this.#bytes;
    const n = this.#length;
    if (n <= 16) {
      // A frame header is a handful of bytes: a loop beats creating a subarray to `set`.
      for (let i = 0; i < n; i++) target[offset + i] = bytes[i]!;
    } else {
      target.set(bytes.subarray(0, n), offset);
    }
  }

  /** A copy of what was written. */
  toBytes(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  #ensure(extra: number): void {
    if (this.#bytes.length - this.#length < extra) this.#grow(extra);
  }

  #grow(extra: number): void {
    const next = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + extra));
    next.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = next;
  }

  /** UTF-8 by hand: validates surrogates in the same pass. Capacity is ensured by the caller. */
  #utf8(value: string, field: string): void {
    const bytes = this.#bytes;
    let at = this.#length;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x80) {
        bytes[at++] = c;
      } else if (c < 0x800) {
        bytes[at++] = 0xc0 | (c >> 6);
        bytes[at++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        bytes[at++] = 0xe0 | (c >> 12);
        bytes[at++] = 0x80 | ((c >> 6) & 0x3f);
        bytes[at++] = 0x80 | (c & 0x3f);
      } else {
        const cp = codePointAt(value, i, c, field);
        i++;
        bytes[at++] = 0xf0 | (cp >> 18);
        bytes[at++] = 0x80 | ((cp >> 12) & 0x3f);
        bytes[at++] = 0x80 | ((cp >> 6) & 0x3f);
        bytes[at++] = 0x80 | (cp & 0x3f);
      }
    }
    this.#length = at;
  }
}

/** The code point of the surrogate pair at `i` (whose first unit is `high`); throws on a lone one. */
function codePointAt(value: string, i: number, high: number, field: string): number {
  const low = high <= 0xdbff && i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
  if (low < 0xdc00 || low > 0xdfff) {
    throw new TypeError(`${field} is not well-formed UTF-16: lone surrogate at index ${i}`);
  }
  return 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
}

/** Appends `value` to `writer` as a varint; RangeError unless an integer in 0..2^53 - 1. */
export function writeVarint(writer: ByteWriter, value: number): void {
  writer.varint(value);
}

/**
 * Walks a frame body. Every read checks the bytes left first, and every failure throws
 * SocklineError `ERR_PROTOCOL` saying which field, at which byte, and what was wrong.
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  #at: number;
  /** What is being read, as the start of error messages (e.g. `publish frame`). */
  readonly #what: string;

  constructor(bytes: Uint8Array, offset: number, what: string) {
    this.#bytes = bytes;
    this.#at = offset;
    this.#what = what;
  }

  /** The next byte to read. */
  get offset(): number {
    return this.#at;
  }

  /** Bytes left after `offset`. */
  get remaining(): number {
    return this.#bytes.length - this.#at;
  }

  /** Throws ERR_PROTOCOL for `field` at byte `at`. */
  fail(field: string, problem: string, at = this.#at): never {
    throw new SocklineError(
      ErrorCodes.PROTOCOL,
      `Malformed ${this.#what}: ${field} at byte ${at} ${problem}`,
    );
  }

  /** Reads a varint of at least `min` (see the file comment for what is refused). */
  varint(field: string, min = 0): number {
    const bytes = this.#bytes;
    const start = this.#at;
    const first = bytes[start];
    if (first === undefined) this.fail(field, 'is missing: the frame ends there');
    let value: number;
    if (first < 0x80) {
      // Fast path: most varints (types of small counts, lengths, early seqs) are 1 byte.
      value = first;
      this.#at = start + 1;
    } else {
      value = first & 0x7f;
      let scale = 0x80;
      for (let i = 1; ; i++) {
        // Bounded by MAX_VARINT_BYTES whatever follows: 20 bytes of ff end here after 8.
        if (i === MAX_VARINT_BYTES)
          this.fail(field, `is a varint longer than ${MAX_VARINT_BYTES} bytes`, start);
        const b = bytes[start + i];
        if (b === undefined) this.fail(field, 'is a varint cut off by the end of the frame', start);
        // Exact while the sum is below 2^53; above, rounding keeps it >= 2^53, so the
        // range check below still sees it.
        value += (b & 0x7f) * scale;
        if (b < 0x80) {
          if (b === 0) this.fail(field, 'is a non-minimal varint (last byte 00)', start);
          this.#at = start + i + 1;
          break;
        }
        scale *= 0x80;
      }
      if (value > MAX_VARINT) this.fail(field, 'is a varint above 2^53 - 1', start);
    }
    if (value < min) this.fail(field, `is ${value}, below the minimum ${min}`, start);
    return value;
  }

  /**
   * Reads a varint byte length and that many bytes of UTF-8. The length is checked against
   * `max` (named `limitName` in the message) and against the bytes left before anything is
   * decoded.
   */
  string(field: string, max: number, limitName: string): string {
    const start = this.#at;
    const size = this.varint(field);
    if (size > max) this.fail(field, `declares ${size} bytes: over ${limitName} (${max})`, start);
    const from = this.#at;
    const bytes = this.#bytes;
    if (size > bytes.length - from) {
      this.fail(field, `declares ${size} bytes but only ${bytes.length - from} remain`, start);
    }
    this.#at = from + size;
    if (size <= SHORT_ASCII_MAX) {
      // Topics and methods are short and mostly ASCII: gather the codes into a reused
      // array and make one flat string (faster than a TextDecoder call or `+=`).
      const codes = shortCodes;
      codes.length = size;
      let i = 0;
      for (; i < size; i++) {
        const b = bytes[from + i]!;
        if (b >= 0x80) break;
        codes[i] = b;
      }
      if (i === size) return String.fromCharCode.apply(null, codes);
    }
    try {
      return utf8Decoder.decode(bytes.subarray(from, from + size));
    } catch {
      return this.fail(field, 'is not valid UTF-8', start);
    }
  }

  /** Moves past `n` bytes; the caller checked they are there. */
  skip(n: number): void {
    this.#at += n;
  }

  /** Everything left, as a view of the input (zero-copy). */
  rest(): Uint8Array {
    const bytes = this.#bytes;
    const from = this.#at;
    this.#at = bytes.length;
    return bytes.subarray(from);
  }

  /** Throws unless every byte was read (for frames without a payload). */
  end(): void {
    const left = this.#bytes.length - this.#at;
    if (left !== 0) this.fail('end of frame', `expected, but ${left} trailing byte(s) follow`);
  }
}

/**
 * Decodes the varint at `offset` of `view`. Returns the value and the offset just after it.
 * Throws SocklineError `ERR_PROTOCOL` when the varint is longer than 8 bytes, cut off by
 * the end of `view`, above 2^53 - 1, or non-minimal.
 *
 * @example
 * ```ts
 * readVarint(new Uint8Array([0xac, 0x02, 0x07]), 0); // [300, 2]
 * ```
 */
export function readVarint(view: Uint8Array, offset: number): [value: number, next: number] {
  const reader = new ByteReader(view, offset, 'varint');
  const value = reader.varint('varint');
  return [value, reader.offset];
}
