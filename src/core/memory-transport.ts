import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { ErrorCodes, SocklineError } from './errors.js';
import { BaseTransport } from './transport-base.js';
import type {
  BaseTransportOptions,
  TransportFactory,
  TransportHandlers,
  TransportKind,
} from './transport.js';

/** Faults a {@link MemoryServer} applies to all its connections; change them at any time. */
export interface MemoryFaults {
  /** Above 0, every delivery of bytes is cut into pieces of at most this many bytes (stream kind; strings stay whole). @default 0 */
  chunkSize: number;
  /** Milliseconds added to every delivery, through the clock; 0 = the next microtask. Order is kept. @default 0 */
  delay: number;
  /** Discards the data sent both ways while set (`send()` still returns true); closes still pass. @default false */
  drop: boolean;
  /**
   * A black hole: data and closes sent both ways are discarded, and new connections neither open
   * nor fail. A graceful `close()` then never completes, as with a vanished peer; `destroy()`
   * still ends the local side. @default false
   */
  halfOpen: boolean;
}

/** The server's side of one in-memory connection. */
export interface MemoryServerEnd {
  /** False above the server's `highWaterMark`; throws `ERR_DATAGRAM_TOO_LARGE` above `maxMessageSize`. */
  send(data: Uint8Array | string): boolean;
  /** Graceful: the client gets the data in flight first, then its `onClose`. */
  close(): void;
  /** Immediate: the client's `onClose` reports a reset. */
  destroy(): void;
  onData: ((data: Uint8Array | string) => void) | null;
  onClose: ((info: { error?: SocklineError }) => void) | null;
  /** True once this end has ended (its `onClose` fired). */
  readonly closed: boolean;
}

export interface MemoryServerOptions {
  /** @default systemClock */
  clock?: Clock;
  /** @default 'stream' */
  kind?: TransportKind;
  /** A server end's `send()` returns false above this many undelivered bytes. @default 1048576 */
  highWaterMark?: number;
  /** Messages above this many bytes are refused both ways with `ERR_DATAGRAM_TOO_LARGE`. @default Infinity */
  maxMessageSize?: number;
}

type Payload = Uint8Array | string;
type Item = { data: Payload | null; size: number; due: number }; // null data = end of stream (a FIN)

const resetError = (): SocklineError => new SocklineError(ErrorCodes.TRANSPORT, 'connection reset');

/** The server's set as this module fills it: read-only outside, it only ever holds sides. */
const connectionsOf = (server: MemoryServer): Set<Side> => server.connections as Set<Side>;

const encoder = new TextEncoder();
const byteLength = (data: Payload): number =>
  typeof data === 'string' ? encoder.encode(data).byteLength : data.byteLength;

/**
 * One side of a connection; the server end is one, a client transport wraps the other. Each
 * side owns the FIFO of what it sent, delivered through the clock. A side that receives the
 * other's FIN answers with its own (after its own data in flight) and ends; the side that sent
 * the first FIN ends when the answer arrives, as TCP does.
 */
class Side implements MemoryServerEnd {
  onData: ((data: Payload) => void) | null = null;
  onClose: ((info: { error?: SocklineError }) => void) | null = null;
  onDrain: (() => void) | null = null;
  peer!: Side;
  /** Set on the receiving side: stop taking items from the peer's queue. */
  paused = false;
  buffered = 0;
  readonly #items: Item[] = [];
  #state: 'open' | 'closing' | 'closed' = 'open';
  #timer: TimerHandle | undefined;
  #scheduled = false;
  #needDrain = false;

  constructor(
    readonly server: MemoryServer,
    readonly highWaterMark: number,
  ) {}

  get closed(): boolean {
    return this.#state === 'closed';
  }

  send(data: Payload): boolean {
    if (this.#state !== 'open') return false;
    const size = byteLength(data);
    const max = this.server.options.maxMessageSize;
    if (size > max) {
      const msg = `message of ${size} bytes is larger than maxMessageSize (${max})`;
      throw new SocklineError(ErrorCodes.DATAGRAM_TOO_LARGE, msg);
    }
    if (this.server.faults.drop) return true;
    // Copy, as a socket does: the caller may reuse its buffer as soon as send() returns.
    this.#push(typeof data === 'string' ? data : new Uint8Array(data), size);
    if (this.buffered <= this.highWaterMark) return true;
    this.#needDrain = true;
    return false;
  }

  close(): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    this.#push(null, 0);
  }

  /** Ends this side now (with `error`), discarding what it sent in flight, and resets the peer. */
  destroy(error?: SocklineError): void {
    if (this.#end(error, true) && !this.server.faults.halfOpen)
      queueMicrotask(() => this.peer.#end(resetError(), true));
  }

  resume(): void {
    this.paused = false;
    this.peer.#schedule();
  }

  #push(data: Payload | null, size: number): void {
    if (this.server.faults.halfOpen) return;
    this.buffered += size;
    this.#items.push({ data, size, due: this.server.options.clock.now() + this.server.faults.delay });
    this.#schedule();
  }

  /** Reports the end. A graceful end still delivers what this side sent (its FIN too); an abort discards it. */
  #end(error?: SocklineError, abort = false): boolean {
    if (this.#state === 'closed') return false;
    this.#state = 'closed';
    if (abort) {
      this.#items.length = 0;
      this.buffered = 0;
      if (this.#timer !== undefined) this.server.options.clock.clearTimeout(this.#timer);
    }
    connectionsOf(this.server).delete(this);
    this.onClose?.(error ? { error } : {});
    return true;
  }

  #schedule(): void {
    const head = this.#items[0];
    if (this.#scheduled || head === undefined || this.peer.paused) return;
    this.#scheduled = true;
    const wait = head.due - this.server.options.clock.now();
    if (wait > 0) this.#timer = this.server.options.clock.setTimeout(this.#pump, wait);
    else queueMicrotask(this.#pump);
  }

  /** Delivers every item that is due, in order, then schedules the next one. */
  #pump = (): void => {
    this.#scheduled = false;
    this.#timer = undefined;
    const now = this.server.options.clock.now();
    for (let item = this.#items[0]; item !== undefined && item.due <= now; item = this.#items[0]) {
      if (this.peer.paused) break;
      this.#items.shift();
      this.buffered -= item.size;
      if (item.data === null) this.peer.#receiveEnd();
      else this.#deliver(item.data);
      if (this.#needDrain && this.buffered <= this.highWaterMark && this.#state === 'open') {
        this.#needDrain = false;
        this.onDrain?.();
      }
    }
    this.#schedule();
  };

  #deliver(data: Payload): void {
    const n = this.server.faults.chunkSize;
    if (n <= 0 || typeof data === 'string' || this.server.options.kind !== 'stream') this.peer.#receive(data);
    else for (let i = 0; i < data.length; i += n) this.peer.#receive(data.subarray(i, i + n));
  }

  #receive(data: Payload): void {
    if (this.#state !== 'closed') this.onData?.(data); // the peer may close between two chunks
  }

  #receiveEnd(): void {
    this.close(); // our own FIN goes after our data in flight; a no-op if we sent ours already
    this.#end();
  }
}

/** The client side of a connection: a transport over a {@link Side}. */
class MemoryTransport extends BaseTransport {
  readonly kind: TransportKind;
  override readonly maxMessageSize: number;
  #side: Side | null = null;

  constructor(server: MemoryServer, url: URL, handlers: TransportHandlers, options: BaseTransportOptions) {
    super(handlers);
    this.kind = server.options.kind;
    this.maxMessageSize = server.options.maxMessageSize;
    queueMicrotask(() => {
      if (this.finished || server.faults.halfOpen) return; // a black hole never answers
      if (server.refusing) {
        this.finish({ error: new SocklineError(ErrorCodes.TRANSPORT, `connection refused: ${url.href}`) });
        return;
      }
      const side = new Side(server, options.highWaterMark);
      side.onData = (data) => this.emitData(data);
      side.onDrain = () => this.emitDrain();
      side.onClose = (info) => this.finish(info);
      this.#side = side;
      const end = new Side(server, server.options.highWaterMark);
      end.peer = side;
      side.peer = end;
      connectionsOf(server).add(end);
      server.onConnection?.(end);
      this.emitOpen();
    });
  }

  get bufferedAmount(): number {
    return this.#side?.buffered ?? 0;
  }

  send(data: Uint8Array | string): boolean {
    return this.#side !== null && !this.finished && this.#side.send(data);
  }

  close(): void {
    if (this.#side === null) this.destroy();
    else this.#side.close();
  }

  override destroy(error?: SocklineError): void {
    if (this.#side === null) this.finish(error ? { error } : {});
    else this.#side.destroy(error);
  }

  override pause(): void {
    if (this.#side) this.#side.paused = true;
  }

  override resume(): void {
    this.#side?.resume();
  }

  protected detach(): void {}
}

/**
 * An in-memory server and transport for core tests: no sockets and no Node APIs, time through
 * the injected clock (so fake timers drive it), and faults to switch on at any time.
 *
 * @example
 * const server = new MemoryServer();
 * server.onConnection = (end) => (end.onData = (data) => end.send(data)); // echo
 * const transport = server.connect(new URL('tcp://memory:1'), handlers, { highWaterMark: 1024 });
 * server.faults.delay = 50;
 */
export class MemoryServer {
  readonly faults: MemoryFaults = { chunkSize: 0, delay: 0, drop: false, halfOpen: false };
  /** While true, new connections fail: the client's `onClose` reports `ERR_TRANSPORT`, `wasOpen` false. */
  refusing = false;
  onConnection: ((end: MemoryServerEnd) => void) | null = null;
  /** The options, with their defaults filled in. */
  readonly options: Readonly<Required<MemoryServerOptions>>;

  constructor({
    clock = systemClock,
    kind = 'stream',
    highWaterMark = 1 << 20,
    maxMessageSize = Infinity,
  }: MemoryServerOptions = {}) {
    this.options = Object.freeze({ clock, kind, highWaterMark, maxMessageSize });
  }

  /** The open connections, by their server end. */
  readonly connections: ReadonlySet<MemoryServerEnd> = new Set<Side>();

  /** A `TransportFactory` for clients (the URL only appears in error messages). Opens on a later microtask. */
  readonly connect: TransportFactory = (url, handlers, options) =>
    new MemoryTransport(this, url, handlers, options);

  /** Resets every open connection: both ends close with `ERR_TRANSPORT` "connection reset". */
  resetAll(): void {
    for (const end of [...connectionsOf(this)]) end.destroy(resetError());
  }

  /** Closes every connection gracefully from the server side. */
  closeAll(): void {
    for (const end of this.connections) end.close();
  }
}
