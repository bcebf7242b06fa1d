import type { IncomingStream, StreamMeta } from './types.js';

/** Bytes besides a chunk's that its buffer may hold for the chunk to be kept without a copy: a frame header. */
const OWN_SLACK = 64;

/** What a {@link Receiver} tells the stream manager. */
export interface ReceiverOwner {
  /** The reader consumed bytes: the writer may reach offset `limit` (a CREDIT, if worth one). */
  credit(receiver: Receiver, limit: number): void;
  /** The application cancelled the stream: a CANCEL goes to the writer. */
  cancel(receiver: Receiver, reason: unknown): void;
}

/**
 * One stream the peer writes to this side, read by the application from a WHATWG
 * `ReadableStream` (docs/protocol.md §13.2). Credit follows reading: the writer may send up
 * to what was read plus `window`, so at most `window` bytes wait here whatever its speed. A
 * new limit is announced when the writer has less than half a window of credit left, or has
 * none: enough to keep it writing without a CREDIT per chunk.
 */
export class Receiver implements IncomingStream {
  readonly id: number;
  readonly meta: StreamMeta;
  /** The bytes reserved for it in a shared budget (its window), released when it ends. */
  readonly reserved: number;
  readonly #window: number;
  readonly #owner: ReceiverOwner;
  #received = 0;
  /** The credit announced to the writer: the offset it may reach. */
  announced: number;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** A `pull` waiting for the next chunk (see `pull`). */
  #wake: (() => void) | undefined;
  #over = false;
  readonly readable: ReadableStream<Uint8Array>;

  constructor(id: number, meta: StreamMeta, window: number, reserved: number, owner: ReceiverOwner) {
    this.id = id;
    this.meta = meta;
    this.#window = window;
    this.reserved = reserved;
    this.#owner = owner;
    this.announced = window;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: (controller) => this.#pull(controller),
        cancel: (reason) => {
          if (this.#over) return;
          this.#over = true;
          this.#owner.cancel(this, reason);
        },
      },
      { highWaterMark: window, size: (chunk) => chunk.byteLength },
    );
  }

  get bytesReceived(): number {
    return this.#received;
  }

  get over(): boolean {
    return this.#over;
  }

  /** The bytes the writer may still send before it needs more credit. */
  get room(): number {
    return this.announced - this.#received;
  }

  /**
   * Bytes of the stream, in order. Kept as they are when they are (nearly) all of the buffer
   * they lie in (a frame the transport copied out, a WebSocket message); copied otherwise,
   * since a view would pin a larger buffer for as long as the application keeps the chunk.
   */
  push(bytes: Uint8Array, fin: boolean): void {
    if (this.#over) return;
    this.#received += bytes.byteLength;
    const controller = this.#controller!;
    const own = bytes.buffer.byteLength - bytes.byteLength <= OWN_SLACK;
    if (bytes.byteLength > 0) controller.enqueue(own ? bytes : bytes.slice());
    if (fin) {
      this.#over = true;
      controller.close();
    }
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** The stream ends early (the writer reset it, the session ended): the readable errors. */
  fail(error: unknown): void {
    if (this.#over) return;
    this.#over = true;
    this.#controller?.error(error);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * The queue has room (`desiredSize` > 0: the application read): the credit grows to what
   * was read plus `streamWindow`. The promise returned settles with the next chunk, so the
   * stream asks again only then; since credit is announced whenever the writer runs low, a
   * pull that waits always has bytes on their way.
   */
  #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | undefined {
    if (this.#over) return undefined;
    const limit = this.#received + Math.max(0, controller.desiredSize ?? 0);
    if (limit > this.announced && this.announced - this.#received <= this.#window / 2) {
      this.announced = limit;
      this.#owner.credit(this, limit);
    }
    return new Promise<void>((resolve) => (this.#wake = resolve));
  }
}
