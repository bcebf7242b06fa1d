import { ErrorCodes, SocklineError } from '../errors.js';
import type { LargeMessage } from '../protocol/endpoint/transfer.js';
import type { OutgoingMessage, SequencedFrame } from '../protocol/endpoint/sequenced.js';
import { encodeChunk } from '../protocol/frames-stream.js';
import type { OutgoingStream, StreamMeta } from './types.js';

const EMPTY = new Uint8Array(0);

/** What a {@link Sender} tells the stream manager. */
export interface SenderOwner {
  /** It may have a chunk to write now (data and credit, or its end). */
  ready(sender: Sender): void;
  /** The writer gave up: a RESET goes to the reader. */
  reset(sender: Sender, reason: unknown): void;
  /** It is over (its end acknowledged, or it failed): it leaves the session. */
  finished(sender: Sender): void;
}

/** A write waiting for its bytes to be numbered. */
interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One stream this side writes (docs/protocol.md §13): a user stream fed by a WHATWG
 * `WritableStream`, or a message stream carrying one large message. Its bytes go out in
 * CHUNKs, each within the reader's credit (cumulative: `limit` is the offset the writer may
 * reach) and no larger than `chunkSize`; the last one carries FIN. It holds only what it was
 * given and has not numbered: a chunk becomes a frame when the session writes it, and the
 * session's replay buffer keeps that frame until the reader's side acknowledges it.
 */
export class Sender implements OutgoingStream {
  /** Given when its OPEN is written (0 until then). */
  id = 0;
  readonly meta: StreamMeta;
  /** The message it carries (a message stream), or undefined (a user stream). */
  readonly message: LargeMessage | undefined;
  readonly #owner: SenderOwner;
  /** Bytes given and not yet numbered, oldest first; `#first` is how far into the first. */
  #queue: Uint8Array[] = [];
  #first = 0;
  #queued = 0;
  /** Bytes numbered (written). */
  #offset = 0;
  /** The reader's credit: the offset this stream may reach. */
  limit: number;
  #acknowledged = 0;
  /** The writer closed it: FIN follows the last byte. */
  #ending = false;
  #finSent = false;
  /** Over: done, or failed with `#error`. */
  #over = false;
  #error: unknown;
  /** In the manager's round of streams that may write. */
  queued = false;
  #writes: Waiter[] = [];
  #closing: Waiter | undefined;
  #controller: WritableStreamDefaultController | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  readonly done: Promise<void>;
  #settle!: Waiter;

  constructor(meta: StreamMeta, message: LargeMessage | undefined, owner: SenderOwner) {
    this.meta = meta;
    this.message = message;
    this.#owner = owner;
    this.done = new Promise<void>((resolve, reject) => (this.#settle = { resolve, reject }));
    // Nobody has to watch `done`: its failure is the writable's too.
    this.done.catch(() => {});
    if (message !== undefined) {
      this.limit = message.payload.byteLength;
      this.#queue.push(message.payload);
      this.#queued = message.payload.byteLength;
      this.#ending = true;
    } else this.limit = 0;
  }

  get bytesSent(): number {
    return this.#offset;
  }

  get bytesAcknowledged(): number {
    return this.#acknowledged;
  }

  get over(): boolean {
    return this.#over;
  }

  /** The WritableStream that feeds a user stream (made on first use). */
  get writable(): WritableStream<Uint8Array> {
    return (this.#writable ??= new WritableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        if (this.#over) controller.error(this.#error);
      },
      write: (chunk) => this.#write(chunk),
      close: () => this.#close(),
      abort: (reason) => this.#abort(reason),
    }));
  }

  /** Whether it has a chunk to write now: opened, with bytes within credit or its end. */
  get canWrite(): boolean {
    if (this.#over || this.#finSent || this.id === 0) return false;
    if (this.#queued > 0) return this.#offset < this.limit;
    return this.#ending;
  }

  /** More credit from the reader (CREDIT): the offset it may now reach. */
  credit(limit: number): void {
    if (limit <= this.limit || this.message !== undefined) return;
    this.limit = limit;
    if (this.canWrite) this.#owner.ready(this);
  }

  /** The next CHUNK, at most `max` bytes, within credit; undefined when it cannot write. */
  chunk(max: number): OutgoingMessage | undefined {
    if (!this.canWrite) return undefined;
    const room = Math.min(max, this.limit - this.#offset, this.#queued);
    const bytes = this.#take(room);
    this.#offset += bytes.byteLength;
    const fin = this.#ending && this.#queued === 0;
    if (fin) this.#finSent = true;
    this.#resolveWrites();
    return {
      topic: undefined,
      kind: 'binary',
      // The frame is made when it is numbered; nothing else needs the bytes counted here.
      payload: EMPTY,
      original: undefined,
      other: new ChunkFrame(this, bytes, fin),
    };
  }

  /** `n` bytes as one view: of the first queued buffer when they lie in it (no copy). */
  #take(n: number): Uint8Array {
    const queue = this.#queue;
    this.#queued -= n;
    const head = queue[0];
    if (head === undefined) return EMPTY;
    if (head.byteLength - this.#first >= n) {
      const view = head.subarray(this.#first, this.#first + n);
      this.#first += n;
      if (this.#first === head.byteLength) {
        queue.shift();
        this.#first = 0;
      }
      return view;
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const buffer = queue[0]!;
      const part = Math.min(n - at, buffer.byteLength - this.#first);
      out.set(buffer.subarray(this.#first, this.#first + part), at);
      at += part;
      this.#first += part;
      if (this.#first === buffer.byteLength) {
        queue.shift();
        this.#first = 0;
      }
    }
    return out;
  }

  /** The reader's side has a chunk of `bytes` bytes (`fin`: the last). */
  acknowledged(bytes: number, fin: boolean): void {
    this.#acknowledged += bytes;
    if (!fin || this.#over) return;
    this.#over = true;
    this.#closing?.resolve();
    this.#closing = undefined;
    this.#settle.resolve();
    this.#owner.finished(this);
  }

  /**
   * The stream ends without its end being acknowledged: the reader cancelled it, the session
   * was lost or closed. Everything waiting rejects with `error`; what was queued is dropped.
   */
  fail(error: unknown): void {
    if (this.#over) return;
    this.#over = true;
    this.#error = error;
    this.#queue = [];
    this.#queued = 0;
    this.#controller?.error(error);
    for (const w of this.#writes.splice(0)) w.reject(error);
    this.#closing?.reject(error);
    this.#closing = undefined;
    this.#settle.reject(error);
    this.#owner.finished(this);
  }

  #write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`a stream takes Uint8Array chunks, got ${describe(chunk)}`));
    }
    if (this.#over) return Promise.reject(this.#error);
    if (chunk.byteLength === 0) return Promise.resolve();
    this.#queue.push(chunk);
    this.#queued += chunk.byteLength;
    const written = new Promise<void>((resolve, reject) => this.#writes.push({ resolve, reject }));
    if (this.canWrite) this.#owner.ready(this);
    return written;
  }

  /**
   * Every write whose bytes are all numbered is done. Each write queued one buffer, taken
   * from the front; a buffer partly taken is still in the queue: so the writes beyond the
   * buffers left are the first ones, and finished.
   */
  #resolveWrites(): void {
    const writes = this.#writes;
    while (writes.length > this.#queue.length) writes.shift()!.resolve();
  }

  #close(): Promise<void> {
    if (this.#over) return this.#finSent ? Promise.resolve() : Promise.reject(this.#error);
    this.#ending = true;
    const closed = new Promise<void>((resolve, reject) => (this.#closing = { resolve, reject }));
    if (this.canWrite) this.#owner.ready(this);
    return closed;
  }

  #abort(reason: unknown): void {
    if (this.#over) return;
    const error =
      reason instanceof Error ? reason : new SocklineError(ErrorCodes.ABORTED, 'the stream was aborted');
    this.#owner.reset(this, reason);
    this.fail(error);
  }
}

/** A CHUNK of a {@link Sender}, made into its frame when it is numbered. */
class ChunkFrame implements SequencedFrame {
  readonly #sender: Sender;
  #bytes: Uint8Array | null;
  readonly #size: number;
  readonly #fin: boolean;

  constructor(sender: Sender, bytes: Uint8Array, fin: boolean) {
    this.#sender = sender;
    this.#bytes = bytes;
    this.#size = bytes.byteLength;
    this.#fin = fin;
  }

  encode(seq: number, ack: number | undefined): Uint8Array {
    const frame = encodeChunk(seq, ack, this.#sender.id, this.#fin, this.#bytes!);
    // The frame is a copy: the writer's buffer is not kept for the replay buffer's sake.
    this.#bytes = null;
    return frame;
  }

  acknowledged(): void {
    this.#sender.acknowledged(this.#size, this.#fin);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}
