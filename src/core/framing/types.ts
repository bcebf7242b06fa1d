import { optionRangeError, optionTypeError } from '../options/messages.js';

/**
 * The framings sockline speaks over byte streams:
 * - `length`: a u32 big-endian length prefix, then the payload (the default; binary-safe);
 * - `lines`: payloads separated by a delimiter, `\n` by default (line-based services);
 * - `none`: every chunk the transport delivers is one message (boundaries kept by the
 *   transport itself, or a raw byte pipe).
 */
export type FramingName = 'length' | 'lines' | 'none';

/**
 * Receives each complete frame. The view may point into a chunk the decoder was given:
 * copy it to keep it past the callback, since a retained view also pins its whole parent
 * chunk (possibly 64 KiB for a 10-byte frame).
 *
 * The sink should not throw. If it does, the error propagates out of
 * {@link FrameDecoder.push} and the decoder is unusable until {@link FrameDecoder.reset}:
 * the rest of that chunk was never parsed, so nothing after it can be trusted.
 */
export type FrameSink = (frame: Uint8Array) => void;

/**
 * Turns a byte stream into frames, incrementally: bytes may arrive in any chunking, one
 * byte at a time or many frames per chunk. One decoder serves one connection.
 */
export interface FrameDecoder {
  /**
   * Feeds bytes; calls the sink once per complete frame, in order, iteratively. Throws
   * SocklineError `ERR_FRAME_TOO_LARGE` when a limit is hit (the decoder is then
   * unusable: `reset()` before reuse; until then `push` throws the same error again).
   *
   * The decoder keeps `chunk` by reference when a frame is incomplete: do not modify it
   * after pushing. Calling `reset()` from inside the sink stops delivery of the rest;
   * calling `push()` from inside the sink is not supported (frames could be reordered).
   */
  push(chunk: Uint8Array): void;
  /**
   * The stream ended: throws `ERR_TRUNCATED` if a partial frame is held (nothing partial
   * is ever delivered), then clears, so the decoder is ready for a new stream either way.
   */
  end(): void;
  /** Drops any partial frame and any earlier failure (used when a connection is replaced). */
  reset(): void;
  /** Bytes currently retained. */
  readonly bufferedBytes: number;
}

/** One way to cut a byte stream into messages; stateless, so one instance serves every connection. */
export interface Framing {
  readonly name: FramingName;
  /** The largest payload `encode` accepts and a decoder buffers, when the framing has one. */
  readonly maxFrameSize?: number;
  /**
   * Encodes one message as one contiguous buffer ready to write. Throws
   * `ERR_FRAME_TOO_LARGE` if the payload is over `maxFrameSize` (the sender refuses what
   * the peer would refuse).
   */
  encode(payload: Uint8Array): Uint8Array;
  /** A decoder with its own buffer, for one connection. */
  createDecoder(sink: FrameSink): FrameDecoder;
  /**
   * Optional: encodes in place, into a buffer the writer owns. The link joins the frames
   * written in one tick into one write; with a `writer` they go straight into that write's
   * buffer, with no buffer per frame. Without one, each frame is `encode`d, then joined.
   * The built-in `length` framing has one.
   */
  readonly writer?: FrameWriter;
}

/**
 * Writes frames into a buffer shared by many (see {@link Framing.writer}). The result must be
 * the bytes `encode` would return, and the same payloads must be refused.
 *
 * @example
 * ```ts
 * const { writer } = lengthFraming({ maxFrameSize: 1024 });
 * const out = new Uint8Array(64);
 * let at = 0;
 * for (const payload of [Uint8Array.of(1, 2), Uint8Array.of(3)]) {
 *   const size = writer.frameSize(payload); // throws ERR_FRAME_TOO_LARGE before anything is written
 *   writer.writeFrame(payload, out, at);
 *   at += size;
 * }
 * // out.subarray(0, at): 00 00 00 02 01 02 00 00 00 01 03
 * ```
 */
export interface FrameWriter {
  /**
   * The bytes `payload` takes once framed. Throws what `encode` would throw for it (such as
   * `ERR_FRAME_TOO_LARGE`), so a refused payload is refused before anything is written.
   */
  frameSize(payload: Uint8Array): number;
  /** Writes `payload` framed at `out[at]`, where `frameSize(payload)` bytes are free. */
  writeFrame(payload: Uint8Array, out: Uint8Array, at: number): void;
  /**
   * For a framing whose frame is a header followed by the payload unchanged (a length
   * prefix): the header of `payload`'s frame, called after `frameSize`. A large payload whose
   * buffer holds that header right before it is then written as it is, header included,
   * rather than copied into a frame.
   */
  header?(payload: Uint8Array): Uint8Array;
}

/**
 * Defaults shared by every framing, in one place (they are also the values in the
 * `@default` tags of the options).
 */
export const framingDefaults = Object.freeze({
  /**
   * 1 MiB: finite, so a peer cannot make a decoder hold an arbitrary amount of memory
   * (ws defaults `maxPayload` to 100 MiB; a messaging SDK's frames are far smaller).
   */
  maxFrameSize: 1_048_576,
  delimiter: '\n',
});

/** The largest size a u32 length prefix can declare. */
export const MAX_UINT32 = 0xffff_ffff;

/**
 * Validates `maxFrameSize` once, at the public boundary: a positive integer no larger than
 * `upper`, or `Infinity` where the framing can do without a limit. No silent coercion
 * (`| 0`, rounding): a wrong limit is a bug to report, not to guess at.
 */
export function resolveMaxFrameSize(value: unknown, fallback: number, upper: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw optionTypeError('maxFrameSize', 'a number', value);
  const ok = value === Infinity ? upper === Infinity : Number.isInteger(value) && value > 0 && value <= upper;
  if (!ok) {
    throw optionRangeError(
      'maxFrameSize',
      value,
      `a positive integer ${upper === Infinity ? 'or Infinity' : `up to ${upper}`}`,
    );
  }
  return value;
}
