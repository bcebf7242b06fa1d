import { GuardedEmitter } from '../emitter.js';
import { messagesOf } from '../iteration.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import { argumentTypeError } from '../options/messages.js';
import { sendTtl } from './send-options.js';
import { framingDefaults } from '../framing/types.js';
import type { Transport, TransportCloseInfo } from '../transport.js';
import { Attempts, type LinkEmit } from './attempts.js';
import type { DisconnectInfo } from './options.js';
import { Pending } from './pending.js';
import { RetryPolicy } from './retry-policy.js';
import { canTransition, type LinkState } from './state.js';
import { LinkTimers } from './timers.js';
import type { LinkConfig, LinkEvents, LinkMessage, SendOptions, SendResult } from './types.js';
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

/**
 * The reconnecting socket: one transport at a time, replaced on failure with exponential
 * backoff and jitter; a bounded outbox while down; backpressure; liveness. It works with
 * any peer (raw mode) and is the base of the protocol session.
 *
 * The link itself is the state machine and the public surface; each concept is an object it
 * owns: the transports, their messages and liveness ({@link Attempts}), what follows a
 * disconnect ({@link RetryPolicy}), the outbox while down ({@link Pending}) and the named
 * timers ({@link LinkTimers}).
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
  readonly #timers: LinkTimers;
  readonly #retry: RetryPolicy;
  readonly #pending: Pending;
  readonly #attempts: Attempts;
  #state: LinkState = 'connecting';
  #closedWaiters: Array<() => void> = [];
  #writableWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  #resolveOpened!: () => void;
  #rejectOpened!: (e: unknown) => void;

  constructor(config: LinkConfig) {
    super();
    this.#config = config;
    const emit: LinkEmit = (event, ...args) => this.emit(event, ...args);
    this.#timers = new LinkTimers(config.clock);
    this.#retry = new RetryPolicy(config, emit);
    this.#pending = new Pending(config, this.#timers, emit);
    this.#attempts = new Attempts(
      config,
      this.#timers,
      this.#retry,
      {
        state: () => this.#state,
        ready: (transport) => this.#ready(transport),
        closed: (info) => this.#closed(info),
        drained: () => {
          this.emit('drain');
          this.#releaseWritable();
        },
      },
      emit,
    );
    this.opened = new Promise<void>((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    // `opened` is often not awaited (an app that only listens for events); never unhandled.
    this.opened.catch(() => {});
    const signal = config.signal;
    if (signal?.aborted) {
      this.#state = 'closed';
      this.#rejectOpened(abortError(signal));
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    // Starting in a microtask lets the caller attach listeners before the first event.
    queueMicrotask(() => {
      if (this.#state === 'connecting' && this.#attempts.transport === null) this.#attempt();
    });
  }

  get state(): LinkState {
    return this.#state;
  }

  /** Bytes waiting: in the transport's buffer plus in the outbox. */
  get bufferedAmount(): number {
    return this.#attempts.bufferedAmount + this.#pending.bytes;
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
    return this.#pending.length;
  }

  /** Times the peer asked the link to come back later (see the `deferred` event). */
  get deferrals(): number {
    return this.#retry.deferrals;
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
    const attempts = this.#attempts;
    if (this.#state === 'open' && this.#pending.length === 0 && attempts.transport !== null) {
      attempts.write(message, options?.volatile === true);
      return 'sent';
    }
    this.#config.check?.(message);
    if (options?.volatile) {
      this.emit('drop', message, 'volatile');
      return 'dropped';
    }
    return this.#pending.add(message, ttl);
  }

  /** Resolves when the link is open and its buffer is below the high-water mark. */
  writable(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') {
      return Promise.reject(new SocklineError(ErrorCodes.CLIENT_CLOSED, `the link is ${this.#state}`));
    }
    if (this.#state === 'open' && !this.#attempts.needDrain) return Promise.resolve();
    return new Promise((resolve, reject) => this.#writableWaiters.push({ resolve, reject }));
  }

  /** Stops reading from the transport (and from the ones that replace it). */
  pause(): void {
    this.#attempts.pause();
  }

  resume(): void {
    this.#attempts.resume();
  }

  /** As on `net.Socket`: lets a Node process exit while only this link is alive. */
  unref(): this {
    this.#timers.unref();
    this.#attempts.transport?.unref();
    return this;
  }

  ref(): this {
    this.#timers.ref();
    this.#attempts.transport?.ref();
    return this;
  }

  /**
   * Drops the current connection or attempt (if any) and starts a new attempt at once,
   * with the retry count reset. Callable in every state; from `closed` it starts again.
   */
  reconnect(): void {
    if (this.#state === 'closing') this.#finishClose(undefined);
    this.#retry.failures = 0;
    this.#attempts.discard();
    this.#timers.clear('retry');
    this.#attempt();
  }

  /**
   * Skips the backoff wait: used when the runtime says the network is back (browser
   * `online`, page visible again). Does nothing unless the link is waiting to reconnect.
   */
  wake(): void {
    if (this.#state !== 'reconnecting') return;
    this.#retry.failures = 0;
    this.#timers.clear('retry');
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
    this.#timers.clear('retry');
    if (state === 'reconnecting') return;
    this.#attempts.flush();
    const transport = this.#attempts.detach();
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
    const transport = this.#attempts.transport;
    if (this.#state === 'open' && transport !== null) {
      this.#setState('closing');
      this.#timers.clear('uptime');
      this.#timers.clear('idle');
      this.#timers.set('close', () => this.#finishClose(undefined), this.#config.closeTimeout);
      this.#attempts.flush();
      transport.close(1000, '');
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

  /**
   * The peer asked to be left alone for `ms` (a server restarting with a drain, or one
   * admitting handshakes at its own pace): the next reconnect waits that long instead of the
   * backoff delay, and the disconnect that follows is not counted as a failed attempt (it
   * neither grows the backoff nor counts against `maxRetries`) but as a deferral, with a
   * `deferred` event. Used once.
   */
  deferReconnect(ms: number, reason = ''): void {
    this.#retry.defer(ms, reason);
  }

  /**
   * Changes the liveness deadline (a protocol learns it in its handshake): no inbound byte
   * for `ms` means the link is dead. `false` turns it off.
   */
  setIdleTimeout(ms: number | false): void {
    if (ms !== false && !(ms > 0)) throw new RangeError(`Invalid option idleTimeout: ${String(ms)}`);
    this.#attempts.idleTimeout = ms;
    this.#timers.clear('idle');
    if (this.#state === 'open' && ms !== false) this.#attempts.watch(ms);
  }

  // --- the state machine ---------------------------------------------------------------------

  #attempt(): void {
    this.#setState('connecting');
    this.#attempts.start();
  }

  /** The transport is open (and the handshake, if any, done): the link is `open`. */
  #ready(transport: Transport): void {
    this.#setState('open');
    const uptime = this.#retry.uptime;
    if (uptime !== undefined) this.#timers.set('uptime', () => (this.#retry.failures = 0), uptime);
    const limit = this.#attempts.idleTimeout;
    this.#attempts.watch(limit === false ? 0 : limit);
    this.#pending.flush(this.#attempts, transport);
    this.#resolveOpened();
    if (!this.#attempts.needDrain) this.#releaseWritable();
    // The flush may have ended this transport already (a write error); then there is no open.
    if (this.#attempts.transport === transport) this.emit('open');
  }

  /** The current transport ended: reported, then a retry is scheduled or the link closes. */
  #closed(info: TransportCloseInfo): void {
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
    const next = this.#retry.next(info, disconnect);
    if ('close' in next) {
      this.#finishClose(next.close);
      return;
    }
    this.#setState('reconnecting');
    this.#timers.set('retry', () => this.#state === 'reconnecting' && this.#attempt(), next.delay);
    this.emit('reconnecting', { attempt: next.attempt, delay: next.delay, error: info.error });
  }

  #finishClose(error: Error | undefined): void {
    if (this.#state === 'closed') return;
    this.#attempts.discard();
    this.#timers.clear('retry');
    this.#timers.clear('close');
    this.#timers.clear('expiry');
    this.#config.signal?.removeEventListener('abort', this.#onAbort);
    this.#setState('closed');
    this.#pending.dropAll();
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

  #releaseWritable(): void {
    const waiters = this.#writableWaiters;
    if (waiters.length === 0) return;
    this.#writableWaiters = [];
    for (const w of waiters) w.resolve();
  }

  #setState(to: LinkState): void {
    const from = this.#state;
    if (from === to) return;
    if (!canTransition(from, to)) throw new Error(`internal: illegal link transition ${from} -> ${to}`);
    this.#state = to;
    this.emit('state', { from, to });
  }

  #onAbort = (): void => {
    const signal = this.#config.signal;
    const error = signal ? abortError(signal) : undefined;
    if (this.#state === 'closed') return;
    this.#finishClose(error);
  };
}

function abortError(signal: AbortSignal): SocklineError {
  return new SocklineError(ErrorCodes.ABORTED, 'the link was aborted', { cause: signal.reason });
}
