import { ErrorCodes, SocklineError } from '../errors.js';
import { optionRangeError, optionTypeError } from '../options/messages.js';
import { ChunkBuffer } from './chunk-buffer.js';
import { framingDefaults, resolveMaxFrameSize } from './types.js';
import type { FrameDecoder, FrameSink, Framing } from './types.js';

const LF = 0x0a;
const CR = 0x0d;

/** Options of {@link linesFraming}. */
export interface LinesFramingOptions {
  /**
   * The bytes that end each frame; a string is encoded as UTF-8. With `'\n'` a `'\r'` right
   * before it is dropped, so CRLF services (SMTP, Redis inline commands, many line-based
   * game and chat servers) decode without a trailing `'\r'` in every line.
   * @default '\n'
   */
  readonly delimiter?: string | Uint8Array;
  /**
   * The largest line, in bytes, not counting the delimiter; `Infinity` for no limit. A line
   * that grows past it without a delimiter is refused as soon as it does.
   * @default 1048576
   */
  readonly maxFrameSize?: number;
}

/**
 * Delimiter framing, to talk to line-based services: each frame is a payload followed by
 * the delimiter (`'\n'` by default). Payloads must not contain the delimiter, so `encode`
 * refuses one that does rather than let the peer split it in two.
 *
 * @example
 * ```ts
 * const framing = linesFraming(); // '\n', CRLF accepted
 * socket.write(framing.encode(new TextEncoder().encode('{"op":"ping"}')));
 * const decoder = framing.createDecoder((line) => handle(JSON.parse(utf8.decode(line))));
 * socket.on('data', (chunk) => decoder.push(chunk));
 * ```
 */
export function linesFraming(options: LinesFramingOptions = {}): Framing {
  const maxFrameSize = resolveMaxFrameSize(options.maxFrameSize, framingDefaults.maxFrameSize, Infinity);
  const delimiter = resolveDelimiter(options.delimiter ?? framingDefaults.delimiter);
  const config: LinesConfig = {
    maxFrameSize,
    delimiter,
    stripCr: delimiter.length === 1 && delimiter[0] === LF,
  };
  return Object.freeze({
    name: 'lines' as const,
    encode: (payload: Uint8Array): Uint8Array => encodeLine(payload, config),
    createDecoder: (sink: FrameSink): FrameDecoder => new LinesDecoder(sink, config),
  });
}

interface LinesConfig {
  readonly maxFrameSize: number;
  readonly delimiter: Uint8Array;
  /** Drop a `'\r'` that ends a line (only with the `'\n'` delimiter). */
  readonly stripCr: boolean;
}

function resolveDelimiter(value: unknown): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'string') bytes = new TextEncoder().encode(value);
  // A private copy: a caller reusing its array must not change the framing under us.
  else if (value instanceof Uint8Array) bytes = new Uint8Array(value);
  else throw optionTypeError('framing.delimiter', 'a string or a Uint8Array', value);
  if (bytes.length === 0) throw optionRangeError('framing.delimiter', value, 'at least one byte');
  return bytes;
}

/**
 * The index of the first whole `delimiter` in `bytes` at or after `from`, or -1.
 * `indexOf` on the first byte runs as a native memchr-like scan, so the common one-byte
 * delimiter costs no JavaScript loop at all.
 */
function indexOfDelimiter(bytes: Uint8Array, delimiter: Uint8Array, from: number): number {
  const first = delimiter[0]!;
  const size = delimiter.length;
  if (size === 1) return bytes.indexOf(first, from);
  const last = bytes.length - size;
  let i = bytes.indexOf(first, from);
  while (i !== -1 && i <= last) {
    let k = 1;
    while (k < size && bytes[i + k] === delimiter[k]) k++;
    if (k === size) return i;
    i = bytes.indexOf(first, i + 1);
  }
  return -1;
}

function encodeLine(payload: Uint8Array, config: LinesConfig): Uint8Array {
  const size = payload.length;
  if (size > config.maxFrameSize) {
    throw new SocklineError(
      ErrorCodes.FRAME_TOO_LARGE,
      `Cannot send a line of ${size} bytes: over maxFrameSize (${config.maxFrameSize} bytes)`,
    );
  }
  const delimiter = config.delimiter;
  const frame = new Uint8Array(size + delimiter.length);
  frame.set(payload, 0);
  frame.set(delimiter, size);
  // Searched in the whole frame, not only in the payload: a payload ending in a prefix of
  // a multi-byte delimiter would make the delimiter appear early ("a\r\n" + "\r\n\r\n").
  const at = indexOfDelimiter(frame, delimiter, 0);
  if (at !== size) {
    throw new SocklineError(
      ErrorCodes.BAD_PAYLOAD,
      `lines framing cannot send a payload containing its delimiter (at byte ${at})`,
    );
  }
  if (config.stripCr && size > 0 && payload[size - 1] === CR) {
    throw new SocklineError(
      ErrorCodes.BAD_PAYLOAD,
      "lines framing cannot send a payload ending in '\\r': the receiver drops it",
    );
  }
  return frame;
}

/**
 * Decodes delimited frames. Invariant: the retained bytes never hold a whole delimiter,
 * so each push searches only the new chunk (plus, for a multi-byte delimiter, the few
 * retained bytes a delimiter may have begun in), never the whole buffer again.
 */
class LinesDecoder implements FrameDecoder {
  readonly #sink: FrameSink;
  readonly #maxFrameSize: number;
  readonly #delimiter: Uint8Array;
  readonly #stripCr: boolean;
  /**
   * Bytes past `maxFrameSize` that may be retained while the line can still be legal: the
   * start of a multi-byte delimiter, or the `'\r'` of a CRLF.
   */
  readonly #slack: number;
  readonly #buffer = new ChunkBuffer();
  /** The error that made the decoder unusable, until `reset()`. */
  #failure: { readonly error: unknown } | undefined;
  /** Bumped by `reset()`, so a sink that resets stops the loop over the current chunk. */
  #epoch = 0;

  constructor(sink: FrameSink, config: LinesConfig) {
    this.#sink = sink;
    this.#maxFrameSize = config.maxFrameSize;
    this.#delimiter = config.delimiter;
    this.#stripCr = config.stripCr;
    this.#slack = config.stripCr ? 1 : config.delimiter.length - 1;
  }

  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  push(chunk: Uint8Array): void {
    if (this.#failure !== undefined) throw this.#failure.error;
    try {
      this.#scan(chunk);
    } catch (error) {
      // The rest of the chunk was not parsed: nothing after this point can be trusted.
      this.#failure = { error };
      this.#buffer.clear();
      throw error;
    }
  }

  end(): void {
    const held = this.#buffer.length;
    this.reset();
    if (held > 0) {
      throw new SocklineError(
        ErrorCodes.TRUNCATED,
        `Stream ended inside a line: ${held} bytes with no delimiter were received and discarded`,
      );
    }
  }

  reset(): void {
    this.#buffer.clear();
    this.#failure = undefined;
    this.#epoch++;
  }

  #scan(chunk: Uint8Array): void {
    const buffer = this.#buffer;
    const delimiter = this.#delimiter;
    const size = delimiter.length;
    const stripCr = this.#stripCr;
    const epoch = this.#epoch;
    let start = 0;
    if (size > 1 && buffer.length > 0) {
      const used = this.#completeStraddling(chunk);
      if (used !== -1) {
        // The line ends inside the retained bytes; the rest of them is delimiter.
        const line = buffer.consume(buffer.length - (size - used));
        buffer.clear();
        start = used;
        this.#deliver(line);
        if (this.#epoch !== epoch) return;
      }
    }
    let end = indexOfDelimiter(chunk, delimiter, start);
    while (end !== -1) {
      let line: Uint8Array;
      if (buffer.length === 0) {
        // The whole line lies in this chunk: a view, no copy.
        const cr = stripCr && end > start && chunk[end - 1] === CR ? 1 : 0;
        line = chunk.subarray(start, end - cr);
      } else {
        // Straddles chunks: one copy. Its size is at most what was retained (bounded) plus
        // this chunk, and #deliver checks it before the sink sees it.
        buffer.push(chunk.subarray(start, end));
        line = buffer.consume(buffer.length);
        // The '\r' may have been the last retained byte, so it is checked after the join.
        if (stripCr && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
      }
      start = end + size;
      this.#deliver(line);
      if (this.#epoch !== epoch) return;
      end = indexOfDelimiter(chunk, delimiter, start);
    }
    const rest = chunk.length - start;
    if (rest === 0) return;
    const held = buffer.length + rest;
    // Refused before it is kept: a peer that never sends a delimiter cannot make us buffer
    // more than maxFrameSize (+ slack) bytes.
    if (held > this.#maxFrameSize + this.#slack) {
      throw new SocklineError(
        ErrorCodes.FRAME_TOO_LARGE,
        `A line grew to ${held} bytes with no delimiter: over maxFrameSize (${this.#maxFrameSize} bytes)`,
      );
    }
    buffer.push(start === 0 ? chunk : chunk.subarray(start));
  }

  /**
   * For a multi-byte delimiter that may have begun in the last retained bytes: the number
   * of bytes of `chunk` that complete it, or -1. Earliest start first, as a left-to-right
   * scan would find it.
   */
  #completeStraddling(chunk: Uint8Array): number {
    const buffer = this.#buffer;
    const delimiter = this.#delimiter;
    const size = delimiter.length;
    const held = buffer.length;
    const tail = Math.min(size - 1, held);
    for (let k = 0; k < tail; k++) {
      const inBuffer = tail - k; // delimiter bytes that would lie in the retained bytes
      const inChunk = size - inBuffer;
      if (inChunk > chunk.length) continue;
      let j = 0;
      while (j < inBuffer && buffer.byteAt(held - inBuffer + j) === delimiter[j]) j++;
      if (j < inBuffer) continue;
      while (j < size && chunk[j - inBuffer] === delimiter[j]) j++;
      if (j === size) return inChunk;
    }
    return -1;
  }

  /** Checks the size of a line (without delimiter, nor the '\r' of a CRLF) and hands it to the sink. */
  #deliver(line: Uint8Array): void {
    const size = line.length;
    if (size > this.#maxFrameSize) {
      throw new SocklineError(
        ErrorCodes.FRAME_TOO_LARGE,
        `Line of ${size} bytes is over maxFrameSize (${this.#maxFrameSize} bytes)`,
      );
    }
    this.#sink(line);
  }
}
