import { ErrorCodes, SocklineError } from '../errors.js';
import { resolveMaxFrameSize } from './types.js';
import type { FrameDecoder, FrameSink, Framing } from './types.js';

/** Options of {@link noneFraming}. */
export interface NoneFramingOptions {
  /**
   * The largest chunk, in bytes, that `encode` and the decoder accept; `Infinity` for no
   * limit. Unlimited by default because a stream's chunk sizes are chosen by the transport,
   * not the peer, and nothing is ever buffered.
   * @default Infinity
   */
  readonly maxFrameSize?: number;
}

/**
 * No framing: every chunk is delivered as it arrived and `encode` returns its input.
 * For transports that keep message boundaries themselves, or a raw byte pipe where the
 * application makes sense of the bytes (an echo server, a proxied protocol).
 *
 * @example
 * ```ts
 * const raw = connect('tcp://127.0.0.1:7000', { protocol: 'raw', framing: 'none' });
 * ```
 */
export function noneFraming(options: NoneFramingOptions = {}): Framing {
  const maxFrameSize = resolveMaxFrameSize(options.maxFrameSize, Infinity, Infinity);
  return Object.freeze({
    name: 'none' as const,
    encode: (payload: Uint8Array): Uint8Array => {
      checkSize(payload.length, maxFrameSize);
      return payload;
    },
    createDecoder: (sink: FrameSink): FrameDecoder => new PassThroughDecoder(sink, maxFrameSize),
  });
}

function checkSize(size: number, maxFrameSize: number): void {
  if (size > maxFrameSize) {
    throw new SocklineError(
      ErrorCodes.FRAME_TOO_LARGE,
      `Chunk of ${size} bytes is over maxFrameSize (${maxFrameSize} bytes)`,
    );
  }
}

/** Holds nothing, so `end()` never throws: no chunk can be partial. */
class PassThroughDecoder implements FrameDecoder {
  readonly #sink: FrameSink;
  readonly #maxFrameSize: number;
  /** The error that made the decoder unusable, until `reset()` (the same contract as the others). */
  #failure: { readonly error: unknown } | undefined;

  constructor(sink: FrameSink, maxFrameSize: number) {
    this.#sink = sink;
    this.#maxFrameSize = maxFrameSize;
  }

  get bufferedBytes(): number {
    return 0;
  }

  push(chunk: Uint8Array): void {
    if (this.#failure !== undefined) throw this.#failure.error;
    try {
      checkSize(chunk.length, this.#maxFrameSize);
      this.#sink(chunk);
    } catch (error) {
      this.#failure = { error };
      throw error;
    }
  }

  end(): void {
    this.reset();
  }

  reset(): void {
    this.#failure = undefined;
  }
}
