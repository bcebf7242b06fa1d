import { Coalescer } from '../coalesce.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import type { FrameDecoder, FrameWriter, Framing } from '../framing/types.js';
import type { Transport } from '../transport.js';
import type { LinkMessage } from './types.js';
import type { Wire, WireFactory, WireSink } from './wire.js';

const encoder = new TextEncoder();

/**
 * The wires of the transports that carry bytes (Node's TCP, TLS and UDP): a byte stream is
 * cut into messages by the link's framing, and what is written in one tick goes as one write;
 * a datagram (and a message transport with a size limit) refuses a message over its limit.
 * A WebSocket gets none: the link writes to it directly.
 */
export const byteWires: WireFactory = (transport, sink, config) => {
  if (transport.kind === 'stream') {
    const framing = config.framing;
    if (framing === null) throw new TypeError('a stream transport needs a framing');
    return new StreamWire(framing, sink, config.text ?? framing.name === 'lines');
  }
  return transport.maxMessageSize === Infinity ? null : datagramWire(transport, sink);
};

/**
 * Frames on a byte stream: written through a coalescer (one write per tick; with the
 * framing's writer, straight into that write's buffer), read through the framing's decoder.
 */
class StreamWire implements Wire {
  readonly #framing: Framing;
  readonly #decoder: FrameDecoder;
  readonly #coalescer: Coalescer;
  readonly #writer: FrameWriter | null;

  /** @param text frames are delivered as text (`text`, or `lines` framing by default) */
  constructor(framing: Framing, sink: WireSink, text: boolean) {
    this.#framing = framing;
    this.#decoder = framing.createDecoder((frame) => sink.deliver(frame, text));
    this.#coalescer = new Coalescer((chunk) => sink.send(chunk));
    this.#writer = framing.writer ?? null;
  }

  get bytes(): number {
    return this.#coalescer.bytes;
  }

  write(message: LinkMessage): void {
    const bytes = typeof message === 'string' ? encoder.encode(message) : message;
    const writer = this.#writer;
    // The framing checks the size first: a refused message pushes nothing.
    if (writer !== null) this.#coalescer.pushFrame(bytes, writer);
    else this.#coalescer.push(this.#framing.encode(bytes));
  }

  read(data: Uint8Array): void {
    this.#decoder.push(data);
  }

  flush(): void {
    this.#coalescer.flush();
  }

  clear(): void {
    this.#coalescer.clear();
  }

  end(): void {
    this.#decoder.end();
  }
}

/**
 * A transport with a size limit per message: bytes over it are refused at `send()`. On a
 * datagram transport text goes as its UTF-8 bytes; a message transport carries it as it is.
 */
function datagramWire(transport: Transport, sink: WireSink): Wire {
  const datagram = transport.kind === 'datagram';
  return {
    bytes: 0,
    write(message, volatile) {
      const wire = datagram && typeof message === 'string' ? encoder.encode(message) : message;
      if (typeof wire !== 'string' && wire.byteLength > transport.maxMessageSize) {
        throw datagramTooLarge(wire.byteLength, transport.maxMessageSize);
      }
      sink.send(wire, volatile);
    },
    flush() {},
    clear() {},
  };
}

/** `ERR_DATAGRAM_TOO_LARGE` for a message of `size` bytes over a datagram limit of `limit`. */
export function datagramTooLarge(size: number, limit: number): SocklineError {
  return new SocklineError(
    ErrorCodes.DATAGRAM_TOO_LARGE,
    `message of ${size} bytes is over the datagram limit of ${limit} bytes`,
  );
}
