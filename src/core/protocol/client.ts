import { Emitter, type Disposer } from '../emitter.js';
import { iterate } from '../iterate.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import type { DisconnectInfo } from '../link/options.js';
import type { HandshakeContext, Link, LinkMessage } from '../link/link.js';
import type { LinkState } from '../link/state.js';
import { unrefTimer, type TimerHandle } from '../clock.js';
import { encodeBatch } from './batch.js';
import { CloseCodes } from './frames.js';
import { validateTopic } from './topics.js';
import { readHelloAnswer, type HelloAnswer } from './client-handshake.js';
import { Endpoint, type EndpointHost } from './endpoint/endpoint.js';
import type { SubscriptionHandler } from './endpoint/subscriptions.js';
import type { ResolvedProtocolOptions } from './options.js';

/** What came with a message: its topic for a publish. */
export interface MessageMeta {
  readonly topic?: string;
}

export type { SubscriptionHandler } from './endpoint/subscriptions.js';
export type RequestHandler = (params: unknown) => unknown;

export interface ProtocolSendOptions {
  /** Never queued, never replayed: dropped if the link is down. @default false */
  volatile?: boolean;
  /** How long the message may wait to be written, in ms. @default Infinity */
  ttl?: number;
}

export interface RequestOptions {
  /** @default the client's `requestTimeout` */
  timeout?: number;
  signal?: AbortSignal;
}

export interface ClientEvents {
  [event: string]: (...args: never[]) => void;
  state: (change: { from: LinkState; to: LinkState }) => void;
  /** The session is ready (after every handshake). */
  open: () => void;
  message: (value: unknown, meta: MessageMeta) => void;
  /** Every handshake: `resumed` says whether the previous session continued. */
  session: (info: { id: string; resumed: boolean }) => void;
  /**
   * The server could not resume the session: messages it had sent and we had not received
   * are gone, and `resent` unacknowledged messages of ours were sent again (possibly twice).
   */
  sessionlost: (info: { previousId: string; id: string; resent: number }) => void;
  disconnect: (info: DisconnectInfo) => void;
  reconnecting: (info: { attempt: number; delay: number; error?: Error | undefined }) => void;
  close: (info: { error?: Error | undefined }) => void;
  error: (error: SocklineError) => void;
  drop: (value: unknown, reason: string) => void;
}

const NO_MESSAGE: MessageMeta = Object.freeze({});

/** A timer armed for one of the endpoint's deadlines. */
interface ArmedTimer {
  readonly due: number;
  handle: TimerHandle;
}

/** The longest a runtime timer can wait; a later deadline is re-armed when this one fires. */
const MAX_TIMER = 0x7fffffff;

/**
 * sockline's protocol on top of the reconnecting link: a handshake on every connection,
 * messages delivered exactly once and in order across reconnects (sequence numbers, acks,
 * session resume), request/response, publish/subscribe, heartbeats.
 *
 * The protocol itself is the session session endpoint (`Endpoint`) (shared with the server); this class is
 * the client's role over a {@link Link}: the token and the HELLO on every connection, the
 * policy for refusals and deferrals, and one timer for the endpoint's deadlines.
 *
 * @example
 * const client = connect('wss://example.com/ws', { token: () => fetchToken() });
 * client.subscribe('chat/+', (msg, { topic }) => console.log(topic, msg));
 * const sum = await client.request('sum', [1, 2]);
 */
export class SocklineClient extends Emitter<ClientEvents> {
  readonly #link: Link;
  readonly #options: ResolvedProtocolOptions;
  readonly #endpoint: Endpoint;
  readonly #handlers = new Map<string, RequestHandler>();
  /** The handshake of the current attempt, until it completes or fails. */
  #ctx: HandshakeContext | null = null;
  #authFailure: { message: string; count: number } | undefined;
  #unref = false;
  /**
   * The timers behind the endpoint's deadlines, latest first: a deadline earlier than every
   * armed one adds a timer rather than moving one (an ack due in 20 ms leaves the PING due in
   * 10 s armed), so a deadline costs one timer operation, not three.
   */
  #timers: ArmedTimer[] = [];

  constructor(
    createLink: (handshake: (ctx: HandshakeContext) => (m: LinkMessage) => void) => Link,
    options: ResolvedProtocolOptions,
  ) {
    super();
    this.#options = options;
    const link = (this.#link = createLink(this.#handshake));
    this.#endpoint = new Endpoint(
      {
        role: 'client',
        codec: options.codec,
        clock: options.clock,
        // Until a WELCOME says what the server takes, a frame is held to this side's own limit.
        delivery: { ...options.delivery, maxFrameSize: link.maxFrameSize },
        requestTimeout: options.requestTimeout,
        maxInFlight: options.maxInFlight,
        maxAnswering: Infinity,
        queueRequests: true,
        resume: options.resume,
        maxHandshakeSize: options.maxHandshakeSize,
        announce: null,
      },
      this.#host(),
    );
    link.on('state', (change) => this.emit('state', change));
    link.on('message', (message) => this.#endpoint.receive(message));
    link.on('open', this.#onOpen);
    link.on('disconnect', this.#onDisconnect);
    link.on('reconnecting', (info) => this.emit('reconnecting', info));
    link.on('error', (error) => this.emit('error', error));
    link.on('drop', (m, reason) => this.emit('drop', m, reason));
    link.on('close', this.#onClose);
  }

  get state(): LinkState {
    return this.#link.state;
  }

  /** Resolves when the first session is ready; rejects if the client closes first. */
  get opened(): Promise<void> {
    return this.#link.opened;
  }

  /** The current session's id, once a handshake has completed. */
  get sessionId(): string | undefined {
    return this.#endpoint.sessionId;
  }

  /** The last measured round-trip time to the server, in ms. */
  get rtt(): number | undefined {
    return this.#endpoint.rtt;
  }

  /** Bytes held for the server: messages not yet acknowledged plus the link's buffers. */
  get bufferedAmount(): number {
    return this.#endpoint.delivery.bufferedBytes + this.#link.bufferedAmount;
  }

  /**
   * Sends a value (bytes, text, or anything the codec encodes) to the server, exactly once
   * and in order across reconnects. Returns `'sent'` when written now, `'queued'` when it
   * waits for the link (bounded by the outbox), `'dropped'` for a volatile message while down.
   */
  send(value: unknown, options?: ProtocolSendOptions): 'sent' | 'queued' | 'dropped' {
    return this.#post(undefined, value, options);
  }

  /** Publishes to a topic: delivered to every subscriber, on any transport, exactly once. */
  publish(topic: string, value: unknown, options?: ProtocolSendOptions): 'sent' | 'queued' | 'dropped' {
    validateTopic(topic);
    return this.#post(topic, value, options);
  }

  /**
   * Subscribes to a topic pattern (`+` one level, `#` the rest). Returns a function that
   * unsubscribes. Subscriptions are restored after every reconnect.
   */
  subscribe(pattern: string, handler: SubscriptionHandler): Disposer {
    return this.#endpoint.subscribe(pattern, handler);
  }

  /**
   * Calls `method` on the server. Settles exactly once: with the result, an `ERR_REMOTE`
   * error carrying the server's code, `ERR_REQUEST_TIMEOUT`, `ERR_ABORTED`,
   * `ERR_CONNECTION_CLOSED` if the connection drops while it is in flight, or
   * `ERR_CLIENT_CLOSED`. At most the server's `maxInFlight` (from WELCOME) are written at
   * once; the others wait in order, also while the link is down.
   */
  request(method: string, params?: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (typeof method !== 'string' || method.length === 0)
      throw new TypeError('request() needs a method name');
    if (this.#link.state === 'closed' || this.#link.state === 'closing') {
      return Promise.reject(
        new SocklineError(ErrorCodes.CLIENT_CLOSED, `cannot request "${method}": the client is closed`),
      );
    }
    return this.#endpoint.request(method, params, options);
  }

  /** Answers requests the server makes to this client. A thrown error becomes an error response. */
  handle(method: string, handler: RequestHandler): Disposer {
    if (typeof handler !== 'function') throw new TypeError('handle() needs a handler function');
    this.#handlers.set(method, handler);
    return () => {
      if (this.#handlers.get(method) === handler) this.#handlers.delete(method);
    };
  }

  /** Measures the round trip to the server now; rejects if the connection drops first. */
  ping(): Promise<number> {
    return this.#endpoint.ping();
  }

  reconnect(): void {
    this.#link.reconnect();
  }

  /** Skips the backoff wait if the client is waiting to reconnect (the network is back). */
  wake(): void {
    this.#link.wake();
  }

  unref(): this {
    this.#unref = true;
    this.#link.unref();
    for (const timer of this.#timers) unrefTimer(timer.handle);
    return this;
  }

  ref(): this {
    this.#link.ref();
    return this;
  }

  /** Closes gracefully (a CLOSE frame, then the link). Pending requests reject with `ERR_CLIENT_CLOSED`. */
  close(code: number = CloseCodes.NORMAL, reason = ''): Promise<void> {
    if (this.#link.state === 'open') this.#endpoint.writeClose(code, reason);
    return this.#link.close();
  }

  /** Messages (not publishes) as an async iterator, ending when the client closes. */
  [Symbol.asyncIterator](): AsyncGenerator<unknown, void, undefined> {
    return iterate<unknown>({
      subscribe: (push) => this.on('message', push),
      onEnd: (end) => this.on('close', end),
      ended: this.#link.state === 'closed',
      pause: () => this.#link.pause(),
      resume: () => this.#link.resume(),
    });
  }

  // --- the role: what the endpoint writes and tells -----------------------------------------

  #host(): EndpointHost {
    const link = this.#link;
    return {
      write: (frame) => {
        if (link.state === 'open') link.send(frame);
      },
      wake: (at) => this.#arm(at),
      dropped: (message, reason) => this.emit('drop', message.original, reason),
      message: (value) => this.emit('message', value, NO_MESSAGE),
      handler: (method) => this.#handlers.get(method),
      error: (error) => this.emit('error', error),
      // A protocol error: the endpoint wrote CLOSE; a new connection resumes the session.
      end: (_code, error) => {
        this.emit('error', error);
        link.reconnect();
      },
      closed: (frame) => {
        if (frame.reconnectAfter !== undefined) link.deferReconnect(frame.reconnectAfter);
      },
    };
  }

  /** Every connection: a fresh token, then the HELLO; then its answer. */
  #handshake = (ctx: HandshakeContext): ((m: LinkMessage) => void) => {
    this.#ctx = ctx;
    const hello = async (): Promise<void> => {
      const token = await this.#options.token();
      if (this.#ctx === ctx) ctx.send(this.#endpoint.hello(token));
    };
    hello().catch((err: unknown) => {
      if (this.#ctx !== ctx) return;
      this.#ctx = null;
      ctx.fail(new SocklineError(ErrorCodes.AUTH_FAILED, 'the token provider failed', { cause: err }), true);
    });
    // The first message is the answer, even one that came before the HELLO left (a server
    // that turns the connection away at once).
    return (message) => {
      if (this.#ctx !== ctx) return;
      this.#ctx = null;
      this.#answered(ctx, readHelloAnswer(message, this.#options.maxHandshakeSize));
    };
  };

  /**
   * The server answered: a WELCOME opens the session (the link completes, its `open` opens
   * the endpoint); anything else ends the attempt, retried or not by this role's policy.
   */
  #answered(ctx: HandshakeContext, answer: HelloAnswer): void {
    const link = this.#link;
    if ('welcome' in answer) {
      const { welcome, rest } = answer;
      const { resumed, previousId, resent } = this.#endpoint.welcomed(welcome);
      this.#authFailure = undefined;
      link.setIdleTimeout(welcome.heartbeatInterval + welcome.heartbeatTimeout);
      if (welcome.batch === true) ctx.batch(encodeBatch);
      ctx.complete();
      this.emit('session', { id: welcome.sessionId, resumed });
      if (previousId !== undefined) this.emit('sessionlost', { previousId, id: welcome.sessionId, resent });
      // The rest of a BATCH that carried the WELCOME belongs to the session now open.
      for (const body of rest) this.#endpoint.receive(body);
      return;
    }
    const { error, frame, cause } = answer;
    let retry = answer.retry;
    if (cause !== undefined) this.emit('error', cause);
    if (frame?.type === 'close' && frame.reconnectAfter !== undefined) {
      // "Come back later" (a server's admission control, or a busy session lookup): the
      // next attempt waits what the server asked, and this one is not counted as a failure.
      link.deferReconnect(frame.reconnectAfter);
    } else if (frame?.type === 'refuse' && error.code === ErrorCodes.AUTH_FAILED) {
      // The same refusal again and again will not change by itself: stop hammering.
      const same = this.#authFailure?.message === frame.message;
      this.#authFailure = { message: frame.message, count: same ? this.#authFailure!.count + 1 : 1 };
      retry = this.#authFailure.count < this.#options.authRetries;
    }
    ctx.fail(error, retry);
  }

  #post(
    topic: string | undefined,
    value: unknown,
    options: ProtocolSendOptions | undefined,
  ): 'sent' | 'queued' | 'dropped' {
    const state = this.#link.state;
    if (state === 'closing' || state === 'closed') {
      throw new SocklineError(ErrorCodes.CLIENT_CLOSED, `cannot send: the client is ${state}`);
    }
    const volatile = options?.volatile === true;
    const result = this.#endpoint.send(topic, value, volatile, options?.ttl ?? this.#options.delivery.ttl);
    if (volatile && result === 'dropped') this.emit('drop', value, 'volatile');
    return result;
  }

  #onOpen = (): void => {
    this.#endpoint.open();
    this.emit('open');
  };

  #onDisconnect = (info: DisconnectInfo): void => {
    this.#ctx = null;
    // Requests on the wire may or may not have been handled: say so, once. When the
    // connection ends because close() was called, that is the reason they get.
    const closing = this.#link.state === 'closing' || this.#link.state === 'closed';
    this.#endpoint.detach(
      new SocklineError(
        closing ? ErrorCodes.CLIENT_CLOSED : ErrorCodes.CONNECTION_CLOSED,
        closing
          ? 'the client closed while the request was in flight'
          : 'the connection closed while the request was in flight',
        { cause: info.error },
      ),
    );
    this.emit('disconnect', info);
  };

  #onClose = (info: { error?: Error | undefined }): void => {
    this.#ctx = null;
    const error = new SocklineError(
      ErrorCodes.CLIENT_CLOSED,
      'the client closed',
      info.error ? { cause: info.error } : undefined,
    );
    const unsent = this.#endpoint.close(error);
    this.#disarm();
    for (const message of unsent) this.emit('drop', message.original, 'closed');
    this.emit('close', info);
  };

  // --- time -----------------------------------------------------------------------------------

  /** The endpoint has something to do at `at`: a timer, unless one fires by then already. */
  #arm(at: number): void {
    const timers = this.#timers;
    if ((timers.length > 0 && timers[timers.length - 1]!.due <= at) || this.#link.state === 'closed') return;
    const clock = this.#options.clock;
    const timer: ArmedTimer = { due: at, handle: undefined };
    timer.handle = clock.setTimeout(
      () => this.#fire(timer),
      Math.min(MAX_TIMER, Math.max(0, at - clock.now())),
    );
    if (this.#unref) unrefTimer(timer.handle);
    timers.push(timer);
  }

  #fire(timer: ArmedTimer): void {
    const timers = this.#timers;
    timers.splice(timers.indexOf(timer), 1);
    const next = this.#endpoint.tick(this.#options.clock.now());
    if (next !== Infinity) this.#arm(next);
  }

  #disarm(): void {
    for (const timer of this.#timers) this.#options.clock.clearTimeout(timer.handle);
    this.#timers = [];
  }
}
