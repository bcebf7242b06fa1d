import { ErrorCodes, SocklineError } from '../errors.js';
import { ChunkBuffer } from './chunk-buffer.js';
import { MAX_UINT32, framingDefaults, resolveMaxFrameSize } from './types.js';
import type { FrameDecoder, FrameSink, FrameWriter, Framing } from './types.js';

/** Bytes of the length prefix. */
const HEADER_SIZE = 4;

/** Options of {@link lengthFraming}. */
export interface LengthFramingOptions {
  /**
   * The largest payload, in bytes (the 4-byte prefix is not counted), that `encode`
   * accepts and the decoder buffers. A positive integer up to 2^32 - 1; `Infinity` is not
   * accepted because the limit is what protects a decoder from a hostile length prefix.
   * @default 1048576
   */
  readonly maxFrameSize?: number;
}

/**
 * Length-prefixed framing, sockline's default: each frame is a u32 big-endian payload
 * length followed by the payload. Binary-safe, and a decoder knows a frame's size from its
 * first 4 bytes, so an oversized frame is refused before any of its payload is kept.
 *
 * ```
 * +--------+--------+--------+--------+----------------------+
 * |   payload length (u32, big-endian) |  payload (0..2^32-1) |
 * +--------+--------+--------+--------+----------------------+
 * ```
 *
 * @example
 * ```ts
 * const framing = lengthFraming({ maxFrameSize: 64 * 1024 });
 * socket.write(framing.encode(new TextEncoder().encode('hello'))); // 00 00 00 05 68 65 6c 6c 6f
 * const decoder = framing.createDecoder((frame) => console.log(frame.length));
 * socket.on('data', (chunk) => decoder.push(chunk));
 * socket.on('end', () => decoder.end()); // throws ERR_TRUNCATED if a frame was cut short
 * ```
 */
export function lengthFraming(
  options: LengthFramingOptions = {},
): Framing & { readonly writer: FrameWriter } {
  const maxFrameSize = resolveMaxFrameSize(options.maxFrameSize, framingDefaults.maxFrameSize, MAX_UINT32);
  const writer: FrameWriter = Object.freeze({
    frameSize(payload: Uint8Array): number {
      const size = payload.length;
      if (size > maxFrameSize) throw frameTooLarge(size, maxFrameSize);
      return HEADER_SIZE + size;
    },
    writeFrame(payload: Uint8Array, out: Uint8Array, at: number): void {
      const size = payload.length;
      out[at] = size >>> 24;
      out[at + 1] = size >>> 16;
      out[at + 2] = size >>> 8;
      out[at + 3] = size;
      out.set(payload, at + HEADER_SIZE);
    },
    header(payload: Uint8Array): Uint8Array {
      const size = payload.length;
      return Uint8Array.of(size >>> 24, size >>> 16, size >>> 8, size);
    },
  });
  return Object.freeze({
    name: 'length' as const,
    maxFrameSize,
    encode(payload: Uint8Array): Uint8Array {
      const frame = new Uint8Array(writer.frameSize(payload));
      writer.writeFrame(payload, frame, 0);
      return frame;
    },
    createDecoder: (sink: FrameSink): FrameDecoder => new LengthDecoder(sink, maxFrameSize),
    writer,
  });
}

/** A {@link FrameSink} as an object: a connection that takes its frames itself needs no closure. */
export interface FrameReceiver {
  receive(frame: Uint8Array): void;
  /**
   * Optional: a frame that lies whole in one chunk, as the bytes `start` to `end` of it, so no
   * view is made for a frame whose receiver makes its own of what it keeps (a payload). A
   * receiver with it still gets `receive` for a frame put together from several chunks.
   */
  receiveRange?(chunk: Uint8Array, start: number, end: number): void;
}

/**
 * A length-prefix decoder whose limit can change between pushes: a server reads a
 * connection's first frames under a small handshake cap, then under its full `maxFrameSize`
 * (docs/protocol.md §6.3). `maxFrameSize` is not validated here: it comes from validated options.
 */
export function createLengthDecoder(sink: FrameSink | FrameReceiver, maxFrameSize: number): LengthDecoder {
  return new LengthDecoder(sink, maxFrameSize);
}

/** The refusal of a payload of `size` bytes over `maxFrameSize` (the peer would refuse it). */
function frameTooLarge(size: number, maxFrameSize: number): SocklineError {
  return new SocklineError(
    ErrorCodes.FRAME_TOO_LARGE,
    `Cannot send a frame of ${size} bytes: over maxFrameSize (${maxFrameSize} bytes)`,
  );
}

/**
 * Decodes length-prefixed frames. There is no "header read" state between pushes: the
 * prefix is peeked again until the whole frame is there, which costs 4 byte reads per
 * chunk and keeps every state change before the sink is called.
 *
 * A chunk that arrives while nothing is held (the common case: a socket read holds whole
 * frames) is read in place, as raw-net code does, without going through the chunk list: one
 * view per frame, and only the incomplete tail, if any, is kept.
 */
export class LengthDecoder implements FrameDecoder {
  readonly #receiver: FrameReceiver;
  #maxFrameSize: number;
  /** Bytes of an incomplete frame, from earlier pushes; null while none are held. */
  #buffer: ChunkBuffer | null = null;
  /** The error that made the decoder unusable, until `reset()`. */
  #failure: { readonly error: unknown } | undefined;
  /** Bumped by `reset()`, so a sink that resets stops the loop over the current chunk. */
  #epoch = 0;

  /** The receiver takes frames in place (`receiveRange`). */
  readonly #ranged: boolean;

  constructor(sink: FrameSink | FrameReceiver, maxFrameSize: number) {
    this.#receiver = typeof sink === 'function' ? { receive: sink } : sink;
    this.#ranged = typeof this.#receiver.receiveRange === 'function';
    this.#maxFrameSize = maxFrameSize;
  }

  get bufferedBytes(): number {
    return this.#buffer?.length ?? 0;
  }

  /**
   * The largest payload accepted from now on. Lowering it below the size a held header
   * already declared refuses that frame on the next `push`.
   */
  get maxFrameSize(): number {
    return this.#maxFrameSize;
  }

  set maxFrameSize(value: number) {
    this.#maxFrameSize = value;
  }

  push(chunk: Uint8Array): void {
    if (this.#failure !== undefined) throw this.#failure.error;
    try {
      const buffer = this.#buffer;
      if (buffer === null) this.#readInPlace(chunk);
      else this.#readHeld(chunk, buffer);
    } catch (error) {
      // The rest of the stream cannot be trusted (or was not parsed): refuse it all.
      this.#failure = { error };
      this.#buffer = null;
      throw error;
    }
  }

  /** Frames straight from `chunk` (nothing is held before it); keeps what is left of it. */
  #readInPlace(chunk: Uint8Array): void {
    const receiver = this.#receiver;
    const maxFrameSize = this.#maxFrameSize;
    const epoch = this.#epoch;
    const ranged = this.#ranged;
    const length = chunk.length;
    let at = 0;
    // A loop, never recursion: a chunk of a million empty frames must not grow the stack.
    while (length - at >= HEADER_SIZE) {
      const size = chunk[at]! * 0x1000000 + ((chunk[at + 1]! << 16) | (chunk[at + 2]! << 8) | chunk[at + 3]!);
      if (size > maxFrameSize) throw prefixTooLarge(size, maxFrameSize);
      const start = at + HEADER_SIZE;
      const end = start + size;
      if (end > length) break;
      at = end;
      if (ranged) receiver.receiveRange!(chunk, start, end);
      else receiver.receive(chunk.subarray(start, end));
      if (this.#epoch !== epoch) return;
    }
    if (at < length) (this.#buffer = new ChunkBuffer()).push(at === 0 ? chunk : chunk.subarray(at));
  }

  /** `chunk` after bytes held from earlier pushes: read through the chunk list. */
  #readHeld(chunk: Uint8Array, buffer: ChunkBuffer): void {
    const receiver = this.#receiver;
    const maxFrameSize = this.#maxFrameSize;
    const epoch = this.#epoch;
    buffer.push(chunk);
    while (buffer.length >= HEADER_SIZE) {
      const size = buffer.peekUint32BE();
      // Checked the moment the prefix is complete, before waiting for (and keeping) any
      // of the payload: a 4-byte header must not be able to reserve 4 GiB.
      if (size > maxFrameSize) throw prefixTooLarge(size, maxFrameSize);
      if (buffer.length - HEADER_SIZE < size) return;
      buffer.skip(HEADER_SIZE);
      // A view when the payload lies in one chunk; a copy only when it straddles chunks.
      const frame = buffer.consume(size);
      // Nothing held any more: the next chunk is read in place, and an idle connection keeps no buffer.
      if (buffer.length === 0) this.#buffer = null;
      receiver.receive(frame);
      if (this.#epoch !== epoch) return;
    }
  }

  end(): void {
    const buffer = this.#buffer;
    const held = buffer?.length ?? 0;
    const declared = held >= HEADER_SIZE ? ` of the ${buffer!.peekUint32BE() + HEADER_SIZE} declared` : '';
    this.reset();
    if (held > 0) {
      throw new SocklineError(
        ErrorCodes.TRUNCATED,
        `Stream ended inside a frame: ${held} bytes${declared} were received and discarded`,
      );
    }
  }

  reset(): void {
    this.#buffer = null;
    this.#failure = undefined;
    this.#epoch++;
  }
}

/** A length prefix over the limit, refused before any of its payload is kept. */
function prefixTooLarge(size: number, maxFrameSize: number): SocklineError {
  return new SocklineError(
    ErrorCodes.FRAME_TOO_LARGE,
    `Frame length prefix declares ${size} bytes: over maxFrameSize (${maxFrameSize} bytes)`,
  );
}
