import { unrefTimer, type TimerHandle } from '../clock.js';
import { GuardedEmitter } from '../emitter.js';
import { messagesOf } from '../iteration.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import { argumentTypeError } from '../options/messages.js';
import { sendTtl } from './send-options.js';
import { framingDefaults } from '../framing/types.js';
import type { Transport, TransportCloseInfo, TransportHandlers } from '../transport.js';
import { backoffDelay } from './backoff.js';
import type { DisconnectInfo } from './options.js';
import { Outbox, type QueuedMessage } from './outbox.js';
import { canTransition, type LinkState } from './state.js';
import type {
  DeferredInfo,
  HandshakeReceiver,
  LinkConfig,
  LinkEvents,
  LinkMessage,
  SendOptions,
  SendResult,
} from './types.js';
import type { Wire, WireSink } from './wire.js';
import type { Link as LinkApi } from './api.js';

export type {
  Connector,
  DeferredInfo,
  DropReason,
  Handshake,
  HandshakeContext,
  HandshakeReceiver,
  LinkConfig,
  LinkEvents,
  LinkMessage,
  ReconnectingInfo,
  SendOptions,
  SendResult,
} from './types.js';
export type { Wire, WireFactory, WireSink } from './wire.js';

export { sendTtl } from './send-options.js';

type TimerName = 'connect' | 'retry' | 'uptime' | 'idle' | 'close' | 'expiry';

const encoder = new TextEncoder();
/** Fatal: text that is not UTF-8 is refused, never turned into U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The reconnecting socket: one transport at a time, replaced on failure with exponential
 * backoff and jitter; a bounded outbox while down; backpressure; liveness. It works with
 * any peer (raw mode) and is the base of the protocol session.
 *
 * @example
 * const link = new Link(config);
 * link.on('message', (m) => console.log(m));
 * await link.opened;
 * link.send('hello');
 */
export class Link extends GuardedEmitter<LinkEvents> implements LinkApi {
  /** Resolves when the link first opens; rejects if it closes before that. */
  readonly opened: Promise<void>;

  readonly #config: LinkConfig;
  readonly #outbox: Outbox<LinkMessage>;
  #state: LinkState = 'connecting';
  #transport: Transport | null = null;
  /**
   * What the current transport needs between it and the link (framing, a size limit, joined
   * writes); null: messages go to the transport as they are (a WebSocket).
   */
  #wire: Wire | null = null;
  /** Identifies the current attempt; callbacks from older transports are ignored. */
  #attemptId = 0;
  /** Consecutive failures since the link last stayed up for `minUptime`. */
  #failures = 0;
  readonly #timers: Record<TimerName, TimerHandle | undefined> = {
    connect: undefined,
    retry: undefined,
    uptime: undefined,
    idle: undefined,
    close: undefined,
    expiry: undefined,
  };
  #idleDue = 0;
  #lastReceived = 0;
  #idleTimeout: number | false;
  /** The peer asked to come back later: used by the next disconnect, once. */
  #deferred: DeferredInfo | undefined;
  #deferrals = 0;
  /** The current attempt is being ended by a final refusal (a handshake's `fail(…, false)`). */
  #refused = false;
  /** Set while a handshake runs on the current transport: it gets the messages. */
  #handshakeReceiver: HandshakeReceiver | null = null;
  #needDrain = false;
  #paused = false;
  #unref = false;
  #closeError: Error | undefined;
  #closedWaiters: Array<() => void> = [];
  #writableWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  #resolveOpened!: () => void;
  #rejectOpened!: (e: unknown) => void;

  constructor(config: LinkConfig) {
    super();
    this.#config = config;
    this.#idleTimeout = config.idleTimeout;
    this.#outbox = new Outbox(config.outbox);
    this.opened = new Promise<void>((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    // `opened` is often not awaited (an app that only listens for events); never unhandled.
    this.opened.catch(() => {});
    const signal = config.signal;
    if (signal?.aborted) {
      this.#state = 'closed';
      this.#closeError = this.#abortError(signal);
      this.#rejectOpened(this.#closeError);
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    // Starting in a microtask lets the caller attach listeners before the first event.
    queueMicrotask(() => {
      if (this.#state === 'connecting' && this.#transport === null) this.#attempt();
    });
  }

  get state(): LinkState {
    return this.#state;
  }

  /** Bytes waiting: in the transport's buffer plus in the outbox. */
  get bufferedAmount(): number {
    return (this.#transport?.bufferedAmount ?? 0) + (this.#wire?.bytes ?? 0) + this.#outbox.bytes;
  }

  /**
   * The largest frame this link writes or reads on a byte stream: its framing's
   * `maxFrameSize` (1 MiB by default, also where no stream transport exists).
   */
  get maxFrameSize(): number {
    return this.#config.framing?.maxFrameSize ?? framingDefaults.maxFrameSize;
  }

  /** Bytes of `bufferedAmount` above which a write reports backpressure (a `drain` follows). */
  get highWaterMark(): number {
    return this.#config.highWaterMark;
  }

  /** Messages waiting in the outbox for the link to open. */
  get queued(): number {
    return this.#outbox.length;
  }

  /** Times the peer asked the link to come back later (see the `deferred` event). */
  get deferrals(): number {
    return this.#deferrals;
  }

  /**
   * Sends a message: written now if the link is open, queued if it is down (bounded by the
   * outbox), dropped if `volatile` and down. Throws `ERR_QUEUE_FULL` under the `reject`
   * policy; `ERR_FRAME_TOO_LARGE`, `ERR_DATAGRAM_TOO_LARGE` or `ERR_BAD_PAYLOAD` (a line
   * holding its delimiter) for a message the transport can never carry, in every state the
   * transport is known in; `ERR_CLIENT_CLOSED` after `close()`. Never throws on I/O errors.
   */
  send(message: LinkMessage, options?: SendOptions): SendResult {
    if (typeof message !== 'string' && !(message instanceof Uint8Array)) {
      throw argumentTypeError('message', 'a Uint8Array or a string', message);
    }
    const ttl = sendTtl(options, this.#config.outbox.ttl);
    if (this.#state === 'closing' || this.#state === 'closed') {
      throw new SocklineError(ErrorCodes.CLIENT_CLOSED, `cannot send: the link is ${this.#state}`);
    }
    if (this.#state === 'open' && this.#outbox.length === 0 && this.#transport !== null) {
      this.#writeMessage(message, this.#transport, options?.volatile === true);
      return 'sent';
    }
    const size = sizeOf(message);
    const { clock, check } = this.#config;
    check?.(message);
    if (options?.volatile) {
      this.emit('drop', message, 'volatile');
      return 'dropped';
    }
    const item: QueuedMessage<LinkMessage> = { message, size, expiresAt: clock.now() + ttl };
    const dropped = this.#outbox.push(item);
    for (const d of dropped) this.emit('drop', d.message, 'overflow');
    if (dropped.includes(item)) return 'dropped';
    this.#armExpiry();
    return 'queued';
  }

  /** Resolves when the link is open and its buffer is below the high-water mark. */
  writable(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') {
      return Promise.reject(new SocklineError(ErrorCodes.CLIENT_CLOSED, `the link is ${this.#state}`));
    }
    if (this.#state === 'open' && !this.#needDrain) return Promise.resolve();
    return new Promise((resolve, reject) => this.#writableWaiters.push({ resolve, reject }));
  }

  /** Stops reading from the transport (and from the ones that replace it). */
  pause(): void {
    this.#paused = true;
    this.#transport?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#transport?.resume();
  }

  /** As on `net.Socket`: lets a Node process exit while only this link is alive. */
  unref(): this {
    this.#unref = true;
    this.#transport?.unref();
    for (const t of Object.values(this.#timers)) if (t !== undefined) unrefTimer(t);
    return this;
  }

  ref(): this {
    this.#unref = false;
    this.#transport?.ref();
    // Timers created from now on keep the process alive again; existing ones are short-lived.
    return this;
  }

  /**
   * Drops the current connection or attempt (if any) and starts a new attempt at once,
   * with the retry count reset. Callable in every state; from `closed` it starts again.
   */
  reconnect(): void {
    if (this.#state === 'closing') this.#finishClose(undefined);
    this.#failures = 0;
    this.#discardTransport();
    this.#clearTimer('retry');
    this.#attempt();
  }

  /**
   * Skips the backoff wait: used when the runtime says the network is back (browser
   * `online`, page visible again). Does nothing unless the link is waiting to reconnect.
   */
  wake(): void {
    if (this.#state !== 'reconnecting') return;
    this.#failures = 0;
    this.#clearTimer('retry');
    this.#attempt();
  }

  /**
   * Ends the connection, or the attempt in progress, and waits in `reconnecting` without
   * retrying until `wake()` or `reconnect()`: the page is about to be frozen (the
   * back/forward cache keeps no page with a live socket, and a retry timer would not run), or
   * the connection was found dead and the caller decides when to try again. What was written
   * still goes out. With `error`, the connection counts as failed with it (`error`, then
   * `disconnect`); without, `disconnect` alone.
   */
  suspend(error?: SocklineError): void {
    const state = this.#state;
    if (state === 'closing' || state === 'closed') return;
    this.#clearTimer('retry');
    if (state === 'reconnecting') return;
    this.#wire?.flush();
    const transport = this.#detachTransport();
    transport?.close(1000, '');
    if (error !== undefined) this.emit('error', error);
    this.emit('disconnect', { error, wasOpen: state === 'open' });
    this.#setState('reconnecting');
  }

  /**
   * Closes the link: an open transport is closed gracefully (buffered bytes flushed, up to
   * `closeTimeout`), attempts and timers are cancelled, queued messages are dropped with
   * reason `closed`. Idempotent; resolves once the link is `closed`.
   */
  close(): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#closedWaiters.push(resolve));
    if (this.#state === 'closing') return done;
    if (this.#state === 'open' && this.#transport !== null) {
      this.#setState('closing');
      this.#clearTimer('uptime');
      this.#clearTimer('idle');
      this.#setTimer('close', () => this.#finishClose(undefined), this.#config.closeTimeout);
      this.#wire?.flush();
      this.#transport.close(1000, '');
    } else {
      this.#finishClose(undefined);
    }
    return done;
  }

  /**
   * Messages as an async iterator, ending when the link closes; a slow consumer pauses
   * reading. Needs `import 'sockline/iterate'` (else `ERR_NOT_SUPPORTED`).
   */
  [Symbol.asyncIterator](): AsyncGenerator<LinkMessage, void, undefined> {
    return messagesOf<LinkMessage>(
      this,
      this.#state === 'closed',
      () => this.pause(),
      () => this.resume(),
    );
  }

  // --- attempts ---------------------------------------------------------------------------

  #attempt(): void {
    this.#setState('connecting');
    const id = ++this.#attemptId;
    this.#setTimer(
      'connect',
      () => {
        const ms = this.#config.connectTimeout;
        const error = new SocklineError(
          ErrorCodes.CONNECT_TIMEOUT,
          this.#handshakeReceiver === null
            ? `not connected within ${ms} ms`
            : `connected, but the peer did not answer the handshake within ${ms} ms`,
        );
        this.#killAttempt(id, error);
      },
      this.#config.connectTimeout,
    );
    let result: Transport | Promise<Transport>;
    try {
      result = this.#config.connector(this.#handlers(id), this.#failures);
    } catch (err) {
      this.#onTransportClose(id, { error: toSocklineError(err), wasOpen: false });
      return;
    }
    if (isPromise(result)) {
      result.then(
        (t) => this.#adopt(id, t),
        (err: unknown) => this.#onTransportClose(id, { error: toSocklineError(err), wasOpen: false }),
      );
    } else {
      this.#adopt(id, result);
    }
  }

  #adopt(id: number, transport: Transport): void {
    if (id !== this.#attemptId) {
      // The attempt was abandoned (close, reconnect, timeout) while it was being created.
      transport.destroy();
      return;
    }
    this.#transport = transport;
    if (this.#unref) transport.unref();
  }

  /** Per-attempt callbacks: created once per attempt, never per message. */
  #handlers(id: number): TransportHandlers {
    return {
      onOpen: () => {
        if (id === this.#attemptId) this.#onTransportOpen();
      },
      onData: (data) => {
        if (id === this.#attemptId) this.#onData(data);
      },
      onDrain: () => {
        if (id === this.#attemptId) this.#onDrain();
      },
      onSoftError: (error) => {
        if (id === this.#attemptId) this.emit('error', error);
      },
      onClose: (info) => this.#onTransportClose(id, info),
    };
  }

  #onTransportOpen(): void {
    if (this.#state !== 'connecting') return;
    const transport = this.#transport;
    if (transport === null) return;
    if (this.#paused) transport.pause();
    const sink: WireSink = {
      send: (data, volatile) => {
        if (this.#transport === transport && !transport.send(data, volatile)) this.#needDrain = true;
      },
      deliver: (message, text) => this.#deliver(message, text),
    };
    this.#wire = this.#config.wire?.(transport, sink, this.#config) ?? null;
    this.#needDrain = false;
    this.#lastReceived = this.#config.clock.now();
    const handshake = this.#config.handshake;
    if (handshake) {
      const id = this.#attemptId;
      const receiver = handshake({
        send: (message) => {
          if (id === this.#attemptId && this.#transport !== null)
            this.#writeMessage(message, this.#transport);
        },
        complete: () => {
          if (id === this.#attemptId && this.#handshakeReceiver !== null) this.#ready(transport);
        },
        batch: (wire) => {
          if (id === this.#attemptId && transport.kind === 'message') this.#wire = wire(sink);
        },
        fail: (error, retry) => {
          if (id !== this.#attemptId) return;
          // Final or not, the error is reported and the attempt ends the usual way; a final
          // one then closes the link instead of retrying.
          this.#refused = !retry;
          this.#killAttempt(id, error);
        },
        defer: (ms, reason) => {
          if (id !== this.#attemptId) return;
          this.deferReconnect(ms, reason);
          this.#killAttempt(id, undefined);
        },
      });
      // The handshake may have failed the attempt already (its HELLO could not be written).
      if (id === this.#attemptId && this.#transport === transport) this.#handshakeReceiver = receiver;
      return;
    }
    this.#ready(transport);
  }

  /** The transport is open (and the handshake, if any, done): the link is `open`. */
  #ready(transport: Transport): void {
    this.#handshakeReceiver = null;
    this.#clearTimer('connect');
    this.#setState('open');
    const reconnect = this.#config.reconnect;
    if (reconnect !== false && this.#failures > 0) {
      this.#setTimer('uptime', () => (this.#failures = 0), reconnect.minUptime);
    }
    this.#armIdle(this.#idleTimeout === false ? 0 : this.#idleTimeout);
    this.#flushOutbox(transport);
    this.#resolveOpened();
    if (!this.#needDrain) this.#releaseWritable();
    // The flush may have ended this transport already (a write error); then there is no open.
    if (this.#transport === transport) this.emit('open');
  }

  /**
   * The peer asked to be left alone for `ms` (a server restarting with a drain, or one
   * admitting handshakes at its own pace): the next reconnect waits that long instead of the
   * backoff delay, and the disconnect that follows is not counted as a failed attempt (it
   * neither grows the backoff nor counts against `maxRetries`) but as a deferral, with a
   * `deferred` event. Used once.
   */
  deferReconnect(ms: number, reason = ''): void {
    if (ms >= 0 && ms <= 0x7fffffff) this.#deferred = { delay: ms, reason };
  }

  /**
   * Changes the liveness deadline (a protocol learns it in its handshake): no inbound byte
   * for `ms` means the link is dead. `false` turns it off.
   */
  setIdleTimeout(ms: number | false): void {
    if (ms !== false && !(ms > 0)) throw new RangeError(`Invalid option idleTimeout: ${String(ms)}`);
    this.#idleTimeout = ms;
    this.#clearTimer('idle');
    if (this.#state === 'open' && ms !== false) this.#armIdle(ms);
  }

  #onTransportClose(id: number, info: TransportCloseInfo): void {
    if (id !== this.#attemptId) return;
    const wire = this.#wire;
    this.#detachTransport();
    // A stream that ended inside a frame: reported, and nothing partial is delivered.
    try {
      wire?.end?.();
    } catch (err) {
      this.emit('error', toSocklineError(err));
    }
    const disconnect: DisconnectInfo = {
      code: info.code,
      reason: info.reason,
      error: info.error,
      wasOpen: info.wasOpen,
    };
    if (info.error instanceof SocklineError) this.emit('error', info.error);
    this.emit('disconnect', disconnect);
    if (this.#state === 'closing' || this.#state === 'closed') {
      this.#finishClose(undefined);
      return;
    }
    const reconnect = this.#config.reconnect;
    const final = info.final === true || this.#refused;
    this.#refused = false;
    const deferred = this.#deferred;
    this.#deferred = undefined;
    if (deferred !== undefined) {
      // The peer is alive and said when to come back: not a failure.
      this.#deferrals++;
      this.emit('deferred', deferred);
    }
    if (reconnect === false || final || !this.#config.shouldReconnect(disconnect)) {
      this.#finishClose(info.error ?? this.#disconnectError(disconnect, deferred));
      return;
    }
    if (deferred !== undefined) {
      this.#retryAfter(deferred.delay, this.#failures + 1, info.error);
      return;
    }
    this.#failures++;
    if (this.#failures > reconnect.maxRetries) {
      const error = new SocklineError(
        ErrorCodes.MAX_RETRIES,
        `gave up after ${reconnect.maxRetries} reconnect attempts`,
        info.error ? { cause: info.error } : undefined,
      );
      this.#finishClose(error);
      return;
    }
    // A peer that said how long to wait (an HTTP Retry-After) is not asked sooner.
    const delay = backoffDelay(this.#failures - 1, reconnect, this.#config.random);
    this.#retryAfter(Math.max(delay, info.retryAfter ?? 0), this.#failures, info.error);
  }

  /** Schedules the next attempt in `delay` ms (`attempt`: as the `reconnecting` event tells it). */
  #retryAfter(delay: number, attempt: number, error: Error | undefined): void {
    this.#setState('reconnecting');
    this.#setTimer('retry', () => this.#state === 'reconnecting' && this.#attempt(), delay);
    this.emit('reconnecting', { attempt, delay, error });
  }

  /**
   * Ends attempt `id` with `error` (none for a deferral), through the transport's own close
   * when there is one, so the transport is torn down and the usual close path (error,
   * disconnect, retry) runs once.
   */
  #killAttempt(id: number, error: SocklineError | undefined): void {
    if (id !== this.#attemptId) return;
    this.#transport?.destroy(error);
    // No transport yet (an async connector still pending), or one that did not report.
    if (id === this.#attemptId)
      this.#onTransportClose(id, error ? { error, wasOpen: false } : { wasOpen: false });
  }

  /** Ends the current transport without the reconnect logic (the caller decides what follows). */
  #discardTransport(): void {
    this.#detachTransport()?.destroy();
  }

  /** Forgets the current transport and its timers; its late callbacks no longer match. */
  #detachTransport(): Transport | null {
    const transport = this.#transport;
    this.#attemptId++;
    this.#transport = null;
    this.#wire?.clear();
    this.#wire = null;
    this.#handshakeReceiver = null;
    this.#clearTimer('connect');
    this.#clearTimer('uptime');
    this.#clearTimer('idle');
    return transport;
  }

  #finishClose(error: Error | undefined): void {
    if (this.#state === 'closed') return;
    this.#discardTransport();
    this.#clearTimer('retry');
    this.#clearTimer('close');
    this.#clearTimer('expiry');
    this.#config.signal?.removeEventListener('abort', this.#onAbort);
    this.#closeError = error;
    this.#setState('closed');
    for (const item of this.#outbox.clear()) this.emit('drop', item.message, 'closed');
    const reason = error ?? new SocklineError(ErrorCodes.CLIENT_CLOSED, 'the link was closed');
    this.#rejectOpened(reason);
    const waiters = this.#writableWaiters;
    this.#writableWaiters = [];
    for (const w of waiters) w.reject(reason);
    this.emit('close', { error });
    const closed = this.#closedWaiters;
    this.#closedWaiters = [];
    for (const resolve of closed) resolve();
  }

  // --- data ---------------------------------------------------------------------------------

  /**
   * Writes a message in the form the transport carries: through the transport's wire when it
   * has one, else as it is. `volatile` goes to the transport: the message may be lost.
   */
  #writeMessage(message: LinkMessage, transport: Transport, volatile = false): void {
    const wire = this.#wire;
    if (wire !== null) wire.write(message, volatile);
    else if (!transport.send(message, volatile)) this.#needDrain = true;
  }

  /** Writes the outbox in order. A message the transport cannot carry is dropped as `invalid`. */
  #flushOutbox(transport: Transport): void {
    this.#expireNow();
    // A write may end the transport (it closed under us): what is left waits for the next one.
    while (this.#transport === transport) {
      const item = this.#outbox.shift();
      if (item === undefined) break;
      try {
        this.#writeMessage(item.message, transport);
      } catch (err) {
        this.emit('error', toSocklineError(err));
        this.emit('drop', item.message, 'invalid');
      }
    }
    if (this.#outbox.length === 0) this.#clearTimer('expiry');
  }

  /** Hands a message on as text (`true`), as bytes (`false`) or as it came (`undefined`). */
  #deliver(message: LinkMessage, text: boolean | undefined): void {
    let out = message;
    if (text === true && typeof message !== 'string') {
      try {
        out = utf8.decode(message);
      } catch (cause) {
        // One bad message is refused; the stream itself is intact (its framing held).
        this.emit('error', new SocklineError(ErrorCodes.BAD_PAYLOAD, NOT_UTF8, { cause }));
        return;
      }
    } else if (text === false && typeof message === 'string') {
      out = encoder.encode(message);
    }
    const receiver = this.#handshakeReceiver;
    if (receiver !== null) receiver.message(out);
    else this.emit('message', out);
  }

  #onData(data: Uint8Array | string): void {
    this.#lastReceived = this.#config.clock.now();
    const wire = this.#wire;
    if (wire?.read === undefined || typeof data === 'string') {
      this.#deliver(data, this.#config.text);
      return;
    }
    try {
      wire.read(data);
    } catch (err) {
      // A framing violation poisons the stream: nothing after it can be trusted.
      const id = this.#attemptId;
      const error = toSocklineError(err);
      this.#handshakeReceiver?.unreadable(error);
      this.#killAttempt(id, error);
    }
  }

  #onDrain(): void {
    if (!this.#needDrain) return;
    this.#needDrain = false;
    this.emit('drain');
    this.#releaseWritable();
  }

  #releaseWritable(): void {
    const waiters = this.#writableWaiters;
    if (waiters.length === 0) return;
    this.#writableWaiters = [];
    for (const w of waiters) w.resolve();
  }

  // --- liveness and expiry -----------------------------------------------------------------

  /** One timer for idleness, re-armed only when it fires: receiving costs a clock read. */
  #armIdle(ms: number): void {
    if (ms <= 0) return;
    this.#idleDue = this.#config.clock.now() + ms;
    this.#setTimer('idle', this.#checkIdle, ms);
  }

  #checkIdle = (): void => {
    const limit = this.#idleTimeout;
    if (limit === false || this.#state !== 'open') return;
    const now = this.#config.clock.now();
    if (now - this.#idleDue > limit) {
      // The timer fired far too late: the runtime was suspended or throttled (a hidden tab,
      // a laptop asleep). That says nothing about the peer, so start measuring again.
      this.#lastReceived = now;
    }
    const silent = now - this.#lastReceived;
    if (silent < limit) {
      this.#armIdle(limit - silent);
      return;
    }
    this.#killAttempt(
      this.#attemptId,
      new SocklineError(
        ErrorCodes.IDLE_TIMEOUT,
        `nothing received for ${silent} ms (idleTimeout ${limit} ms)`,
      ),
    );
  };

  #armExpiry(): void {
    const next = this.#outbox.nextExpiry;
    if (next === Infinity || this.#timers.expiry !== undefined) return;
    const delay = Math.max(0, next - this.#config.clock.now());
    this.#setTimer(
      'expiry',
      () => {
        this.#expireNow();
        this.#armExpiry();
      },
      delay,
    );
  }

  #expireNow(): void {
    for (const item of this.#outbox.expire(this.#config.clock.now())) this.emit('expire', item.message);
  }

  // --- plumbing --------------------------------------------------------------------------------

  #setState(to: LinkState): void {
    const from = this.#state;
    if (from === to) return;
    if (!canTransition(from, to)) throw new Error(`internal: illegal link transition ${from} -> ${to}`);
    this.#state = to;
    this.emit('state', { from, to });
  }

  /** Starts the named timer (replacing a running one); it forgets itself before the callback. */
  #setTimer(name: TimerName, callback: () => void, ms: number): void {
    const { clock } = this.#config;
    const running = this.#timers[name];
    if (running !== undefined) clock.clearTimeout(running);
    // Beyond 2**31-1 ms runtimes fire at once; such a deadline means "never".
    if (!(ms <= 0x7fffffff)) return;
    const handle = clock.setTimeout(() => {
      this.#timers[name] = undefined;
      callback();
    }, ms);
    if (this.#unref) unrefTimer(handle);
    this.#timers[name] = handle;
  }

  #clearTimer(name: TimerName): void {
    const handle = this.#timers[name];
    if (handle === undefined) return;
    this.#timers[name] = undefined;
    this.#config.clock.clearTimeout(handle);
  }

  #onAbort = (): void => {
    const signal = this.#config.signal;
    const error = signal ? this.#abortError(signal) : undefined;
    if (this.#state === 'closed') return;
    this.#finishClose(error);
  };

  #abortError(signal: AbortSignal): SocklineError {
    return new SocklineError(ErrorCodes.ABORTED, 'the link was aborted', { cause: signal.reason });
  }

  #disconnectError(info: DisconnectInfo, deferred: DeferredInfo | undefined): SocklineError {
    if (deferred !== undefined) {
      return new SocklineError(
        ErrorCodes.CONNECTION_CLOSED,
        `the peer asked to come back in ${deferred.delay} ms (${deferred.reason}), and reconnecting is off`,
      );
    }
    const detail =
      info.code !== undefined ? ` (code ${info.code}${info.reason ? `: ${info.reason}` : ''})` : '';
    return new SocklineError(ErrorCodes.CONNECTION_CLOSED, `the connection closed${detail}`);
  }
}

/** Outbox accounting: bytes for binary, UTF-16 code units for text (encoded when written). */
function sizeOf(message: LinkMessage): number {
  return typeof message === 'string' ? message.length : message.byteLength;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function toSocklineError(err: unknown): SocklineError {
  if (err instanceof SocklineError) return err;
  return new SocklineError(ErrorCodes.TRANSPORT, toError(err).message, { cause: err });
}

const NOT_UTF8 = 'discarded a message that is not UTF-8 (text: true)';
