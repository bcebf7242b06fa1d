import type { ConnectTarget, UrlInput } from '../../core/connect-options.js';
import { SmallEmitter } from '../../core/emitter.js';
import { SocklineError, type ErrorCode } from '../../core/errors.js';
import { messagesOf } from '../../core/iteration.js';
import { backoffDelay } from '../../core/link/backoff.js';
import type { Link } from '../../core/link/api.js';
import type { DisconnectInfo } from '../../core/link/options.js';
import type { LinkState } from '../../core/link/state.js';
import type {
  DeferredInfo,
  HandshakeContext,
  HandshakeReceiver,
  LinkEvents,
  LinkMessage,
  SendOptions,
  SendResult,
} from '../../core/link/types.js';
import { argumentTypeError, optionRangeError } from '../../core/options/messages.js';
import { unrefTimer } from '../../core/clock.js';
import type { WebSocketConstructor, WebSocketLike } from '../../core/websocket-transport.js';
import { resolveCompact, sendTtl, type CompactConfig, type CompactLinkOptions } from './options.js';

/**
 * What a handshake can do on the compact link: the full link's `HandshakeContext` without
 * `batch` (a browser WebSocket carries each message as it is).
 */
export type CompactHandshakeContext = Omit<HandshakeContext, 'batch'>;

/**
 * A protocol's opening exchange on the compact link, run on every WebSocket that opens.
 * Until it calls `complete()`, messages go to the receiver it returns instead of the
 * `message` event, and `connectTimeout` bounds the connection and the handshake together.
 */
export type CompactHandshake = (context: CompactHandshakeContext) => HandshakeReceiver;

/** Who waits on a promise of the link (`opened`, `writable()`, `close()`): its resolve and reject. */
type Waiter = [resolve: (value?: undefined) => void, reject: (reason: unknown) => void];

/** A promise settled later by {@link settle} on `waiters`. */
const wait = (waiters: Waiter[]): Promise<void> => new Promise((...waiter) => waiters.push(waiter));

/** Resolves (`0`) or rejects (`1`) every waiter of `waiters`, and forgets them. */
const settle = (waiters: Waiter[], outcome: 0 | 1, reason?: unknown): void => {
  for (const waiter of waiters.splice(0)) waiter[outcome](reason as undefined);
};

/** A queued message: `[message, size, expiresAt]`. */
type Queued = [LinkMessage, number, number];

// Timers, by index in `#timers`.
const CONNECT = 0;
const RETRY = 1;
const UPTIME = 2;
const IDLE = 3;
const CLOSE = 4;
const EXPIRY = 5;
const DRAIN = 6;

/** Beyond 2**31-1 ms runtimes fire at once: such a deadline means "never". */
const NEVER = 0x7fffffff;
const encoder = new TextEncoder();
/** Fatal: text that is not UTF-8 is refused, never turned into U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const fail = (code: string, message: string, cause?: unknown): SocklineError =>
  new SocklineError(`ERR_${code}` as ErrorCode, message, cause === undefined ? undefined : { cause });

/** Any thrown value as a sockline error: `ERR_TRANSPORT` with it as `cause`, unless it is one. */
const toError = (err: unknown): SocklineError =>
  err instanceof SocklineError ? err : fail('TRANSPORT', String((err as Error)?.message ?? err), err);

/**
 * A URL the browser can open: `ERR_INVALID_URL` for one that does not parse or whose scheme
 * sockline does not know, `ERR_UNSUPPORTED_SCHEME` for `tcp:`, `tls:` and `udp:`.
 */
export function webSocketUrl(input: UrlInput): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch (cause) {
    throw fail('INVALID_URL', `Invalid URL: ${String(input)}`, cause);
  }
  const scheme = url.protocol;
  if (/^wss?:$/.test(scheme)) return url.href;
  throw /^(tcp|tls|udp):$/.test(scheme)
    ? fail('UNSUPPORTED_SCHEME', `Browsers cannot open ${scheme}// (no raw sockets): use a WebSocket URL`)
    : fail('INVALID_URL', `Unknown URL scheme ${scheme}`);
}

/**
 * The reconnecting link of the browser build: the same behaviour as the core's `Link` in raw
 * mode (states, events and their order, backoff with jitter, the bounded outbox, timeouts,
 * typed errors), written for the one transport a browser has, a WHATWG `WebSocket`, so a
 * raw-mode bundle stays small. Built by {@link createCompactLink}.
 */
export class CompactLink extends SmallEmitter<LinkEvents> implements Link {
  readonly opened: Promise<void>;
  #config: CompactConfig;
  #url: (attempt: number) => UrlInput | Promise<UrlInput>;
  #handshake: CompactHandshake | undefined;
  #state: LinkState = 'connecting';
  #ws: WebSocketLike | null = null;
  /** Whether the current WebSocket opened (`wasOpen` of its disconnect). */
  #up = false;
  /** The first `error` event of the current WebSocket; the close follows it. */
  #wsError: SocklineError | undefined;
  /** Identifies the current attempt; callbacks of older ones are ignored. */
  #id = 0;
  /** Consecutive failures since the link last stayed up for `minUptime`. */
  #failures = 0;
  #timers: Array<ReturnType<CompactConfig['clock']['setTimeout']>> = [];
  #idleTimeout: number | false;
  #idleDue = 0;
  #lastReceived = 0;
  #deferred: DeferredInfo | undefined;
  #deferrals = 0;
  /** The current attempt is being ended by a final refusal (`fail(…, false)`). */
  #refused = false;
  #receiver: HandshakeReceiver | null = null;
  #needDrain = false;
  #unref = false;
  /** The outbox: `#queue` from `#head` on (shifts are O(1), see `#shift`). */
  #queue: Array<Queued | undefined> = [];
  #head = 0;
  #queuedBytes = 0;
  /** When the expiry timer fires (Infinity: not armed). */
  #expiryDue = Infinity;
  #closedWaiters: Waiter[] = [];
  #writableWaiters: Waiter[] = [];
  /** Who waits on `opened`: settled once, by the first open or the close. */
  #openedWaiters: Waiter[] = [];

  constructor(
    config: CompactConfig,
    url: (attempt: number) => UrlInput | Promise<UrlInput>,
    handshake: CompactHandshake | undefined,
  ) {
    super();
    this.#config = config;
    this.#url = url;
    this.#handshake = handshake;
    this.#idleTimeout = config.idleTimeout;
    this.opened = wait(this.#openedWaiters);
    // `opened` is often not awaited (an app that only listens for events); never unhandled.
    this.opened.catch(() => {});
    const signal = config.signal;
    if (signal?.aborted) {
      this.#state = 'closed';
      settle(this.#openedWaiters, 1, this.#abortError());
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    // Starting in a microtask lets the caller attach listeners before the first event.
    queueMicrotask(() => {
      if (this.#state === 'connecting' && this.#ws === null) this.#attempt();
    });
  }

  get state(): LinkState {
    return this.#state;
  }

  get bufferedAmount(): number {
    return (this.#ws?.bufferedAmount ?? 0) + this.#queuedBytes;
  }

  /** No framing on a WebSocket: the default of stream transports, as the full link says. */
  get maxFrameSize(): number {
    return 1 << 20;
  }

  get highWaterMark(): number {
    return this.#config.highWaterMark;
  }

  get queued(): number {
    return this.#queue.length - this.#head;
  }

  get deferrals(): number {
    return this.#deferrals;
  }

  send(message: LinkMessage, options?: SendOptions): SendResult {
    if (typeof message !== 'string' && !(message instanceof Uint8Array)) {
      throw argumentTypeError('message', 'a Uint8Array or a string', message);
    }
    const config = this.#config;
    const { maxMessages, maxBytes, overflow, ttl: fallback } = config.outbox;
    const ttl = sendTtl(options, fallback);
    const closed = this.#closedError();
    if (closed) throw closed;
    if (this.#state === 'open' && this.queued === 0) {
      this.#write(message);
      return 'sent';
    }
    if (options?.volatile) {
      this.emit('drop', message, 'volatile');
      return 'dropped';
    }
    const size = typeof message === 'string' ? message.length : message.byteLength;
    const fits = (): boolean => this.queued < maxMessages && this.#queuedBytes + size <= maxBytes;
    const dropped: Queued[] = [];
    if (size > maxBytes || !fits()) {
      if (overflow === 'reject') {
        throw fail('QUEUE_FULL', `outbox full: ${this.queued} messages, ${this.#queuedBytes} B`);
      }
      // What could never fit is refused whatever the policy.
      if (size > maxBytes || overflow === 'drop-newest') {
        this.emit('drop', message, 'overflow');
        return 'dropped';
      }
      while (!fits()) dropped.push(this.#shift()!);
    }
    const expiresAt = this.#now() + ttl;
    this.#queue.push([message, size, expiresAt]);
    this.#queuedBytes += size;
    for (const [m] of dropped) this.emit('drop', m, 'overflow');
    if (expiresAt < this.#expiryDue) this.#armExpiry(expiresAt);
    return 'queued';
  }

  writable(): Promise<void> {
    const closed = this.#closedError();
    if (closed) return Promise.reject(closed);
    if (this.#state === 'open' && !this.#needDrain) return Promise.resolve();
    return wait(this.#writableWaiters);
  }

  /** A WebSocket cannot stop reading: as on the full link over one, a no-op. */
  pause(): void {}

  resume(): void {}

  /**
   * As on the full link: its timers stop keeping a Node process alive (the browser build
   * with `ws` injected); a no-op in a browser, where timers are numbers.
   */
  unref(): this {
    this.#unref = true;
    this.#timers.forEach(unrefTimer);
    return this;
  }

  ref(): this {
    // Timers created from now on keep the process alive again; existing ones are short-lived.
    this.#unref = false;
    return this;
  }

  reconnect(): void {
    if (this.#state === 'closing') this.#finish(undefined);
    this.#failures = 0;
    this.#detach();
    this.#clear(RETRY);
    this.#attempt();
  }

  wake(): void {
    if (this.#state !== 'reconnecting') return;
    this.#failures = 0;
    this.#clear(RETRY);
    this.#attempt();
  }

  suspend(error?: SocklineError): void {
    if (this.#closedError()) return;
    const state = this.#state;
    this.#clear(RETRY);
    if (state === 'reconnecting') return;
    // What was written still goes out: a closing handshake, not an abort.
    this.#detach(1000);
    if (error !== undefined) this.emit('error', error);
    this.emit('disconnect', { error, wasOpen: state === 'open' });
    this.#setState('reconnecting');
  }

  close(): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    const done = wait(this.#closedWaiters);
    if (this.#state === 'closing') return done;
    const ws = this.#ws;
    if (this.#state === 'open' && ws !== null) {
      this.#setState('closing');
      this.#clear(UPTIME);
      this.#clear(IDLE);
      this.#set(CLOSE, () => this.#finish(undefined), this.#config.closeTimeout);
      // The close event ends it the usual way (`disconnect`, then `close`).
      ws.close(1000, '');
    } else {
      this.#finish(undefined);
    }
    return done;
  }

  deferReconnect(ms: number, reason = ''): void {
    if (ms >= 0 && ms <= NEVER) this.#deferred = { delay: ms, reason };
  }

  setIdleTimeout(ms: number | false): void {
    if (ms !== false && !(ms > 0)) throw optionRangeError('idleTimeout', ms);
    this.#idleTimeout = ms;
    this.#clear(IDLE);
    if (this.#state === 'open' && ms !== false) this.#armIdle(ms);
  }

  [Symbol.asyncIterator](): AsyncGenerator<LinkMessage, void, undefined> {
    return messagesOf<LinkMessage>(this, this.#state === 'closed', this.pause, this.resume);
  }

  // --- attempts ---------------------------------------------------------------------------

  #attempt(): void {
    this.#setState('connecting');
    const id = ++this.#id;
    this.#up = false;
    this.#wsError = undefined;
    const { connectTimeout, WebSocket, protocols } = this.#config;
    this.#set(
      CONNECT,
      () =>
        this.#kill(
          id,
          fail(
            'CONNECT_TIMEOUT',
            `${this.#receiver ? 'handshake' : 'connect'} timeout (${connectTimeout} ms)`,
          ),
        ),
      connectTimeout,
    );
    const open = (input: UrlInput): void => {
      if (id !== this.#id) return;
      const ws = new WebSocket(webSocketUrl(input), protocols);
      this.#ws = ws;
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => this.#onOpen(id);
      ws.onmessage = ({ data }) => {
        // Text, or bytes as `binaryType` asks; anything else (a Blob) is not ours to read.
        const message =
          typeof data === 'string'
            ? data
            : data instanceof ArrayBuffer
              ? new Uint8Array(data)
              : ArrayBuffer.isView(data)
                ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
                : undefined;
        if (id !== this.#id || message === undefined) return;
        this.#lastReceived = this.#now();
        this.#deliver(message);
      };
      ws.onerror = (ev) => {
        // Browsers hide why on purpose; an injected `ws` says it (`Unexpected server response: 403`).
        const why = (ev as { message?: unknown } | null)?.message;
        const what = `WebSocket ${this.#up ? 'error' : 'connection failed'}`;
        this.#wsError ??= fail('TRANSPORT', why ? `${what}: ${String(why)}` : what);
      };
      ws.onclose = ({ code, reason }) => {
        // 1006: no closing handshake (RFC 6455 §7.1.5): the peer crashed or the path broke.
        const error =
          this.#wsError ??
          (code === 1006 ? fail('TRANSPORT', 'WebSocket closed abnormally (1006)') : undefined);
        this.#down(id, { code, reason, error, wasOpen: this.#up });
      };
    };
    const failed = (err: unknown): void => this.#down(id, { error: toError(err), wasOpen: false });
    try {
      const input = this.#url(this.#failures);
      if (typeof input === 'string' || input instanceof URL) open(input);
      else input.then(open).catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  #onOpen(id: number): void {
    if (id !== this.#id || this.#state !== 'connecting') return;
    this.#up = true;
    this.#needDrain = false;
    this.#lastReceived = this.#now();
    const handshake = this.#handshake;
    if (handshake === undefined) return this.#ready();
    const current = (): boolean => id === this.#id;
    const receiver = handshake({
      send: (message) => current() && this.#write(message),
      complete: () => current() && this.#receiver !== null && this.#ready(),
      fail: (error, retry) => {
        if (!current()) return;
        // Final or not, the attempt ends the usual way; a final one then closes the link.
        this.#refused = !retry;
        this.#kill(id, error);
      },
      defer: (ms, reason) => {
        if (!current()) return;
        this.deferReconnect(ms, reason);
        this.#kill(id, undefined);
      },
    });
    // The handshake may have ended the attempt already (its first message could not be written).
    if (current()) this.#receiver = receiver;
  }

  /** The WebSocket is open (and the handshake, if any, done): the link is `open`. */
  #ready(): void {
    const ws = this.#ws;
    this.#receiver = null;
    this.#clear(CONNECT);
    this.#setState('open');
    const r = this.#config.reconnect;
    if (r !== false && this.#failures > 0) this.#set(UPTIME, () => (this.#failures = 0), r.minUptime);
    if (this.#idleTimeout !== false) this.#armIdle(this.#idleTimeout);
    // The outbox, in order, after what expired meanwhile.
    this.#expire();
    let item: Queued | undefined;
    while (this.#ws === ws && (item = this.#shift()) !== undefined) this.#write(item[0]);
    // A write may have ended this WebSocket: what is left keeps its expiry for the next one.
    if (this.queued === 0) {
      this.#clear(EXPIRY);
      this.#expiryDue = Infinity;
    }
    settle(this.#openedWaiters, 0);
    if (!this.#needDrain) settle(this.#writableWaiters, 0);
    // The flush may have ended this WebSocket already (a write error): then there is no open.
    if (this.#ws === ws) this.emit('open');
  }

  /** A WebSocket ended or an attempt failed: report it, then retry, or close the link. */
  #down(id: number, info: DisconnectInfo & { error?: SocklineError | undefined }): void {
    if (id !== this.#id) return;
    this.#detach();
    const { error } = info;
    if (error) this.emit('error', error);
    this.emit('disconnect', info);
    if (this.#closedError()) return this.#finish(undefined);
    const r = this.#config.reconnect;
    const final = this.#refused;
    const deferred = this.#deferred;
    this.#refused = false;
    this.#deferred = undefined;
    if (deferred) {
      // The peer is alive and said when to come back: not a failure.
      this.#deferrals++;
      this.emit('deferred', deferred);
    }
    const should = this.#config.shouldReconnect;
    if (r === false || final || (should && !should(info))) {
      return this.#finish(
        error ??
          fail('CONNECTION_CLOSED', deferred ? `deferred ${deferred.delay} ms` : `closed (${info.code})`),
      );
    }
    if (deferred) return this.#retry(deferred.delay, this.#failures + 1, error);
    const failures = ++this.#failures;
    if (failures > r.maxRetries) {
      return this.#finish(fail('MAX_RETRIES', `gave up after ${r.maxRetries} retries`, error));
    }
    this.#retry(backoffDelay(failures - 1, r, this.#config.random), failures, error);
  }

  #retry(delay: number, attempt: number, error: Error | undefined): void {
    this.#setState('reconnecting');
    this.#set(RETRY, () => this.#state === 'reconnecting' && this.#attempt(), delay);
    this.emit('reconnecting', { attempt, delay, error });
  }

  /** Ends attempt `id` with `error` (none for a deferral) the usual way. */
  #kill(id: number, error: SocklineError | undefined): void {
    if (id === this.#id) this.#down(id, { error, wasOpen: this.#up });
  }

  /**
   * Forgets the current WebSocket and its timers (its late events no longer match) and
   * closes it: with `code`, a closing handshake; without, an abort.
   */
  #detach(code?: number): void {
    const ws = this.#ws;
    this.#id++;
    this.#ws = null;
    this.#receiver = null;
    for (const timer of [CONNECT, UPTIME, IDLE, DRAIN]) this.#clear(timer);
    if (ws === null) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
    // Closing a CONNECTING socket would report an error: the caller asked for the end.
    if (ws.readyState <= 1) ws.close(ws.readyState === 1 ? code : undefined);
  }

  #finish(error: Error | undefined): void {
    if (this.#state === 'closed') return;
    this.#detach();
    for (const timer of [RETRY, CLOSE, EXPIRY]) this.#clear(timer);
    this.#expiryDue = Infinity;
    this.#config.signal?.removeEventListener('abort', this.#onAbort);
    this.#setState('closed');
    let item: Queued | undefined;
    while ((item = this.#shift()) !== undefined) this.emit('drop', item[0], 'closed');
    const reason = error ?? fail('CLIENT_CLOSED', 'link closed');
    settle(this.#openedWaiters, 1, reason);
    settle(this.#writableWaiters, 1, reason);
    this.emit('close', { error });
    settle(this.#closedWaiters, 0);
  }

  // --- data ---------------------------------------------------------------------------------

  /** Writes to the open WebSocket; over `highWaterMark`, polls its buffer until it drains. */
  #write(message: LinkMessage): void {
    const ws = this.#ws;
    if (ws?.readyState !== 1) return;
    try {
      ws.send(message);
    } catch (err) {
      return this.#kill(this.#id, fail('TRANSPORT', 'send failed', err));
    }
    if (ws.bufferedAmount > this.#config.highWaterMark) {
      this.#needDrain = true;
      if (this.#timers[DRAIN] === undefined) this.#pollDrain();
    }
  }

  #pollDrain = (): void => {
    if ((this.#ws?.bufferedAmount ?? 0) > this.#config.highWaterMark)
      return this.#set(DRAIN, this.#pollDrain, 20);
    if (!this.#needDrain) return;
    this.#needDrain = false;
    this.emit('drain');
    settle(this.#writableWaiters, 0);
  };

  /** Hands a message on as `text` says: strings (`true`), bytes (`false`) or as it came. */
  #deliver(message: LinkMessage): void {
    const text = this.#config.text;
    if (text && typeof message !== 'string') {
      try {
        message = utf8.decode(message);
      } catch (cause) {
        return this.emit('error', fail('BAD_PAYLOAD', 'not UTF-8', cause));
      }
    } else if (text === false && typeof message === 'string') {
      message = encoder.encode(message);
    }
    if (this.#receiver) this.#receiver.message(message);
    else this.emit('message', message);
  }

  // --- liveness and expiry -----------------------------------------------------------------

  #armIdle(ms: number): void {
    this.#idleDue = this.#now() + ms;
    this.#set(IDLE, this.#checkIdle, ms);
  }

  #checkIdle = (): void => {
    const limit = this.#idleTimeout;
    if (limit === false || this.#state !== 'open') return;
    const now = this.#now();
    // A timer that fired far too late: the runtime was suspended (a hidden tab, a laptop
    // asleep). That says nothing about the peer, so start measuring again.
    if (now - this.#idleDue > limit) this.#lastReceived = now;
    const silent = now - this.#lastReceived;
    if (silent < limit) this.#armIdle(limit - silent);
    else this.#kill(this.#id, fail('IDLE_TIMEOUT', `silent ${silent} ms`));
  };

  #armExpiry(at: number): void {
    this.#expiryDue = at;
    this.#set(
      EXPIRY,
      () => {
        this.#expiryDue = Infinity;
        this.#expire();
        let next = Infinity;
        for (const item of this.#queue) if (item && item[2] < next) next = item[2];
        if (next < Infinity) this.#armExpiry(next);
      },
      Math.max(0, at - this.#now()),
    );
  }

  #expire(): void {
    const now = this.#now();
    const queued = this.#queue.slice(this.#head) as Queued[];
    const expired = queued.filter((item) => item[2] <= now);
    if (expired.length === 0) return;
    this.#queue = queued.filter((item) => item[2] > now);
    this.#head = 0;
    for (const [message, size] of expired) {
      this.#queuedBytes -= size;
      this.emit('expire', message);
    }
  }

  /**
   * Takes the oldest message out of the outbox. `Array.prototype.shift` is O(n) on a large
   * array (100,000 messages took seconds to flush): the head moves instead, and the array is
   * cut once half of it is gone.
   */
  #shift(): Queued | undefined {
    const queue = this.#queue;
    const item = queue[this.#head];
    if (item === undefined) return undefined;
    queue[this.#head++] = undefined;
    this.#queuedBytes -= item[1];
    if (this.#head * 2 >= queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  // --- plumbing --------------------------------------------------------------------------------

  /** `ERR_CLIENT_CLOSED` once `close()` was called or the link closed; undefined before. */
  #closedError(): SocklineError | undefined {
    const state = this.#state;
    return state === 'closing' || state === 'closed' ? fail('CLIENT_CLOSED', `link ${state}`) : undefined;
  }

  #now(): number {
    return this.#config.clock.now();
  }

  #setState(to: LinkState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.emit('state', { from, to });
  }

  #set(timer: number, callback: () => void, ms: number): void {
    this.#clear(timer);
    if (ms > NEVER) return;
    const handle = (this.#timers[timer] = this.#config.clock.setTimeout(() => {
      this.#timers[timer] = undefined;
      callback();
    }, ms));
    if (this.#unref) unrefTimer(handle);
  }

  #clear(timer: number): void {
    const handle = this.#timers[timer];
    if (handle === undefined) return;
    this.#timers[timer] = undefined;
    this.#config.clock.clearTimeout(handle);
  }

  #onAbort = (): void => this.#finish(this.#abortError());

  #abortError(): SocklineError {
    return fail('ABORTED', 'aborted', this.#config.signal?.reason);
  }
}

/**
 * The compact link to `target` (a URL, a list tried in rotation, or a provider called before
 * every attempt), over `options.WebSocket` or the runtime's. Static URLs are checked at once.
 * With a `handshake`, every WebSocket that opens runs it before the link is `open`: the hook
 * a protocol client is built on. Option names and types are the caller's to check.
 *
 * @example
 * const link = createCompactLink('wss://example.com/ws', { reconnect: { maxRetries: 5 } });
 * link.on('message', (m) => console.log(m));
 */
export function createCompactLink(
  target: ConnectTarget,
  options: CompactLinkOptions = {},
  handshake?: CompactHandshake,
): CompactLink {
  // Without a WebSocket (Node 20, server-side rendering) every attempt would fail the same
  // way, forever: say it now.
  const WebSocket = (options.WebSocket ?? globalThis.WebSocket) as WebSocketConstructor | undefined;
  if (typeof WebSocket !== 'function')
    throw fail('UNSUPPORTED_SCHEME', 'No WebSocket: pass options.WebSocket');
  let url = target as (attempt: number) => UrlInput | Promise<UrlInput>;
  if (typeof target !== 'function') {
    const list =
      typeof target === 'string' || target instanceof URL ? [target] : Array.isArray(target) ? target : [];
    if (list.length === 0) throw fail('INVALID_URL', 'no URL');
    list.forEach(webSocketUrl);
    let rotation = 0;
    url = () => list[rotation++ % list.length]!;
  }
  return new CompactLink(resolveCompact(options, WebSocket), url, handshake);
}
