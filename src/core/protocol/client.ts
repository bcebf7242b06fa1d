import { GuardedEmitter, type Disposer } from '../emitter.js';
import { iterate } from '../iterate.js';
import { ErrorCodes, SocklineError, callbackError, isSocklineError } from '../errors.js';
import type { DisconnectInfo } from '../link/options.js';
import type {
  DeferredInfo,
  Handshake,
  HandshakeContext,
  HandshakeReceiver,
  Link,
  LinkMessage,
  ReconnectingInfo,
} from '../link/link.js';
import { sendTtl } from '../link/link.js';
import type { LinkState } from '../link/state.js';
import { unrefTimer, type TimerHandle } from '../clock.js';
import { decodePayload, encodePayload, type Codec } from './codec.js';
import { Delivery, type OutgoingMessage } from './delivery.js';
import { BATCH_TYPE, encodeBatch, splitBatch } from './batch.js';
import { Capabilities, CloseCodes, SUPPORTED_VERSIONS, type Frame } from './frames.js';
import { decodeFrame } from './frames-decode.js';
import { assertMessageFits, encodeFrame } from './frames-encode.js';
import { PendingRequests } from './requests.js';
import { answerRequest, responseError } from './rpc.js';
import { handshakeReplies, notSockline } from './client-errors.js';
import { argumentTypeError, optionRangeError } from '../options/messages.js';
import { checkOptions } from '../options/validate.js';
import { subscriptionError, topicMatches, validatePattern, validateTopic } from './topics.js';
import type { ResolvedProtocolOptions } from './options.js';

/** What came with a message: its topic for a publish. */
export interface MessageMeta {
  readonly topic?: string;
}

/**
 * Called with each message published on a matching topic. `T` is what the application
 * expects there; nothing checks it (the value comes from the network).
 */
export type SubscriptionHandler<T = unknown> = (value: T, meta: { topic: string }) => void;
/**
 * Answers a request from the server. `P` is what the application expects as params (nothing
 * checks it); the result (or what it resolves to) is encoded by the codec.
 */
export type RequestHandler<P = unknown, R = unknown> = (params: P) => R | Promise<R>;

/** What `request()` accepts as options (checked on every call). */
const REQUEST_OPTIONS = { timeout: 'number', signal: 'object' } as const;

export interface ProtocolSendOptions {
  /** Never queued, never replayed: dropped if the link is down. @default false */
  volatile?: boolean;
  /** How long the message may wait to be written, in ms. @default Infinity */
  ttl?: number;
}

export interface RequestOptions {
  /** In ms, above 0 (`Infinity`: none). @default the client's `requestTimeout` */
  timeout?: number;
  signal?: AbortSignal;
}

export interface ClientEvents {
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
  reconnecting: (info: ReconnectingInfo) => void;
  /**
   * The server asked the client to come back later (admission control turning a HELLO away,
   * a server draining): normal operation, not an error. Counted in `deferrals`.
   */
  deferred: (info: DeferredInfo) => void;
  close: (info: { error?: Error | undefined }) => void;
  /**
   * Something failed: an I/O error, a protocol error, a refusal, or a listener or handler of
   * the application that threw (`ERR_CALLBACK`, with what it threw as `cause`).
   */
  error: (error: SocklineError) => void;
  drop: (value: unknown, reason: string) => void;
}

const NO_MESSAGE: MessageMeta = Object.freeze({});

/**
 * sockline's protocol on top of the reconnecting link: a handshake on every connection,
 * messages delivered exactly once and in order across reconnects (sequence numbers, acks,
 * session resume), request/response, publish/subscribe, heartbeats.
 *
 * @example
 * const client = connect('wss://example.com/ws', { token: () => fetchToken() });
 * client.subscribe('chat/+', (msg, { topic }) => console.log(topic, msg));
 * const sum = await client.request('sum', [1, 2]);
 */
export class SocklineClient extends GuardedEmitter<ClientEvents> {
  readonly #link: Link;
  readonly #options: ResolvedProtocolOptions;
  readonly #codec: Codec;
  readonly #delivery: Delivery;
  readonly #requests: PendingRequests;
  /** Request frames waiting for the link to open, by id. */
  readonly #unsent = new Map<number, Uint8Array>();
  readonly #subscriptions = new Map<string, Set<SubscriptionHandler<never>>>();
  /** Patterns to unsubscribe from at the server at the next chance. */
  readonly #staleSubscriptions = new Set<string>();
  readonly #handlers = new Map<string, (params: unknown) => Promise<unknown>>();
  readonly #pings = new Map<
    number,
    { sent: number; resolve: (rtt: number) => void; reject: (e: unknown) => void }
  >();
  #pingTimer: TimerHandle | undefined;
  #heartbeatInterval = 0;
  #sessionId: string | undefined;
  #rtt: number | undefined;
  #pingNonce = 0;
  #authFailure: { message: string; count: number } | undefined;
  #unref = false;
  /** A session was ever established (errors then say "lost", not "never connected"). */
  #everOpen = false;
  /** The last error the link reported: why the client is not connected, when it is not. */
  #lastError: SocklineError | undefined;
  /** Why the client closed, when it closed by itself. */
  #closeError: Error | undefined;

  constructor(createLink: (handshake: Handshake) => Link, options: ResolvedProtocolOptions) {
    super();
    this.#options = options;
    this.#codec = options.codec;
    this.#requests = new PendingRequests(options.clock, options.maxInFlight, this.#waitContext);
    this.#delivery = new Delivery(options.delivery, options.clock, {
      write: (frame) => this.#write(frame),
      dropped: (message, reason) => this.emit('drop', message.original, reason),
    });
    this.#link = createLink(this.#handshake);
    const link = this.#link;
    // Until a WELCOME says what the server takes, a frame is held to this side's own limit.
    this.#delivery.frameLimit = link.maxFrameSize;
    link.on('state', (change) => this.emit('state', change));
    link.on('message', this.#onBatch);
    link.on('open', this.#onOpen);
    link.on('disconnect', this.#onDisconnect);
    link.on('reconnecting', (info) => this.emit('reconnecting', info));
    link.on('deferred', (info) => this.emit('deferred', info));
    link.on('error', (error) => {
      this.#lastError = error;
      this.emit('error', error);
    });
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
    return this.#sessionId;
  }

  /** The last measured round-trip time to the server, in ms. */
  get rtt(): number | undefined {
    return this.#rtt;
  }

  /** Times the server asked the client to come back later (see the `deferred` event). */
  get deferrals(): number {
    return this.#link.deferrals;
  }

  /** Bytes held for the server: messages not yet acknowledged plus the link's buffers. */
  get bufferedAmount(): number {
    return this.#delivery.bufferedBytes + this.#link.bufferedAmount;
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
   * unsubscribes. Subscriptions are restored after every reconnect. A handler that throws is
   * reported as an `'error'` (`ERR_CALLBACK`); the other handlers still run.
   */
  subscribe<T = unknown>(pattern: string, handler: SubscriptionHandler<T>): Disposer {
    validatePattern(pattern);
    if (typeof handler !== 'function') throw argumentTypeError('handler', 'a function', handler);
    let set = this.#subscriptions.get(pattern);
    if (set === undefined) {
      set = new Set();
      this.#subscriptions.set(pattern, set);
      this.#staleSubscriptions.delete(pattern);
      if (this.#link.state === 'open') this.#write(encodeFrame({ type: 'subscribe', topic: pattern }));
    }
    set.add(handler);
    return () => {
      const current = this.#subscriptions.get(pattern);
      if (!current?.delete(handler) || current.size > 0) return;
      this.#subscriptions.delete(pattern);
      if (this.#link.state === 'open') this.#write(encodeFrame({ type: 'unsubscribe', topic: pattern }));
      else this.#staleSubscriptions.add(pattern);
    };
  }

  /**
   * Calls `method` on the server and resolves with its result, as `T` (what the application
   * expects; nothing checks it). Settles exactly once, and never throws: misuse (a bad method
   * name, params the codec cannot encode, a bad option) rejects too. It rejects with a
   * {@link RemoteError} (`ERR_REMOTE`, with `remoteCode` and `data`) when the handler refused
   * on purpose, a `SocklineError` of sockline's code when the server did (`ERR_UNKNOWN_METHOD`,
   * `ERR_TOO_MANY_REQUESTS`, `ERR_INTERNAL`…), `ERR_REQUEST_TIMEOUT` (saying when the client
   * never connected), `ERR_ABORTED`, `ERR_CONNECTION_CLOSED` when the connection drops while
   * it is in flight, `ERR_CLIENT_CLOSED` after `close()`, or the error that closed the client.
   *
   * @example
   * const sum = await client.request<number>('sum', [1, 2]);
   */
  request<T = unknown>(method: string, params?: unknown, options?: RequestOptions): Promise<T> {
    try {
      return this.#request(method, params, options) as Promise<T>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #request(method: string, params: unknown, options: RequestOptions | undefined): Promise<unknown> {
    if (typeof method !== 'string' || method.length === 0)
      throw argumentTypeError('method', 'a non-empty string', method);
    if (options !== undefined) checkOptions(options, REQUEST_OPTIONS);
    const timeout = options?.timeout ?? this.#options.requestTimeout;
    if (!(timeout > 0)) throw optionRangeError('timeout', timeout, '> 0, or Infinity');
    if (this.#link.state === 'closed' || this.#link.state === 'closing') {
      throw this.#closedError(`cannot request "${method}"`);
    }
    const { kind, payload } = encodePayload(params ?? null, this.#codec);
    const opened = this.#requests.open(method, timeout, options?.signal);
    let frame: Uint8Array;
    try {
      frame = encodeFrame({ type: 'request', id: opened.id, method, kind, payload });
    } catch (err) {
      this.#requests.reject(opened.id, err);
      return opened.promise;
    }
    const limit = this.#delivery.frameLimit;
    if (frame.byteLength > limit) {
      const error = new SocklineError(
        ErrorCodes.FRAME_TOO_LARGE,
        `request "${method}" of ${frame.byteLength} bytes is over maxFrameSize (${limit} bytes)`,
      );
      this.#requests.reject(opened.id, error);
      return opened.promise;
    }
    if (this.#link.state === 'open') this.#write(frame);
    else this.#unsent.set(opened.id, frame);
    return opened.promise.finally(() => this.#unsent.delete(opened.id));
  }

  /**
   * Answers requests the server makes to this client (`peer.request(method, params)`). To
   * refuse on purpose, throw a {@link RemoteError} (its code, message and `data` reach the
   * caller). Any other exception is reported here as an `'error'` (`ERR_CALLBACK`) and
   * reaches the caller as `ERR_INTERNAL`, without its message.
   *
   * @example
   * client.handle('confirm', async (question: string) => window.confirm(question));
   */
  handle<P = unknown, R = unknown>(method: string, handler: RequestHandler<P, R>): Disposer {
    if (typeof method !== 'string' || method.length === 0)
      throw argumentTypeError('method', 'a non-empty string', method);
    if (typeof handler !== 'function') throw argumentTypeError('handler', 'a function', handler);
    const answer = async (params: unknown): Promise<unknown> => {
      try {
        return await handler(params as P);
      } catch (err) {
        throw this.#answerable(method, err);
      }
    };
    this.#handlers.set(method, answer);
    return () => {
      if (this.#handlers.get(method) === answer) this.#handlers.delete(method);
    };
  }

  /** Measures the round trip to the server now; rejects if the connection drops first. */
  ping(): Promise<number> {
    if (this.#link.state !== 'open') {
      return Promise.reject(
        new SocklineError(ErrorCodes.CONNECTION_CLOSED, 'cannot ping: the link is not open'),
      );
    }
    const nonce = ++this.#pingNonce;
    const promise = new Promise<number>((resolve, reject) =>
      this.#pings.set(nonce, { sent: this.#options.clock.now(), resolve, reject }),
    );
    this.#write(encodeFrame({ type: 'ping', nonce }));
    return promise;
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
    this.#requests.unref();
    this.#delivery.unref();
    return this;
  }

  ref(): this {
    this.#link.ref();
    return this;
  }

  /**
   * Closes gracefully (a CLOSE frame, then the link). Pending requests reject with
   * `ERR_CLIENT_CLOSED`. A bad code or reason rejects.
   */
  close(code: number = CloseCodes.NORMAL, reason = ''): Promise<void> {
    if (!Number.isInteger(code) || code < 0 || code > 0xffff)
      return Promise.reject(optionRangeError('code', code, 'an integer from 0 to 65535'));
    if (typeof reason !== 'string') return Promise.reject(argumentTypeError('reason', 'a string', reason));
    if (this.#link.state === 'open') this.#write(encodeFrame({ type: 'close', code, reason }));
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

  // --- handshake ----------------------------------------------------------------------------

  #handshake: Handshake = (ctx: HandshakeContext): HandshakeReceiver => {
    let done = false;
    const hello = async (): Promise<void> => {
      const token = await this.#options.token();
      if (done) return;
      const resume =
        this.#sessionId !== undefined && this.#options.resume
          ? { sessionId: this.#sessionId, lastSeq: this.#delivery.received }
          : undefined;
      ctx.send(
        encodeFrame({
          type: 'hello',
          versions: [...SUPPORTED_VERSIONS],
          capabilities:
            Capabilities.RELIABLE |
            Capabilities.PUBSUB |
            Capabilities.RPC |
            Capabilities.BATCH |
            Capabilities.SUBREFUSE,
          codec: this.#codec.name,
          ...(token !== undefined ? { token } : {}),
          ...(resume ? { resume } : {}),
        }),
      );
    };
    hello().catch((err: unknown) => {
      done = true;
      ctx.fail(new SocklineError(ErrorCodes.AUTH_FAILED, 'the token provider failed', { cause: err }), true);
    });
    /** No sockline server answers this way, on any attempt: stop, and say what it is. */
    const foreign = (what: string, cause?: unknown): void => {
      done = true;
      ctx.fail(notSockline(what, cause), false);
    };
    const step = (message: LinkMessage): void => {
      if (done) {
        // The rest of a BATCH that carried the WELCOME: the session is open now.
        if (this.#link.state === 'open') this.#onMessage(message);
        return;
      }
      if (typeof message === 'string') return foreign(handshakeReplies.text);
      if (message.byteLength > this.#options.maxHandshakeSize) {
        return foreign(handshakeReplies.tooLarge(message.byteLength));
      }
      let frame: Frame;
      try {
        frame = decodeFrame(message);
      } catch (err) {
        return foreign(handshakeReplies.unreadable, err);
      }
      done = true;
      if (frame.type === 'welcome') this.#welcome(frame, ctx);
      else if (frame.type === 'refuse') this.#refused(frame, ctx);
      else if (frame.type === 'close' && frame.reconnectAfter !== undefined) {
        // "Come back later" (admission control, a busy session lookup, a server limit): the
        // next attempt waits what the server asked; a deferral, neither an error nor a failure.
        ctx.defer(frame.reconnectAfter, `${frame.code}: ${frame.reason}`);
      } else if (frame.type === 'close') ctx.fail(closeError(frame), true);
      else foreign(handshakeReplies.frame(frame.type));
    };
    return {
      message: (message) => {
        if (done) return;
        let bodies: readonly LinkMessage[];
        try {
          bodies = typeof message === 'string' || message[0] !== BATCH_TYPE ? [message] : splitBatch(message);
        } catch (err) {
          return foreign(handshakeReplies.unreadable, err);
        }
        for (let i = 0; i < bodies.length; i++) step(bodies[i]!);
      },
      unreadable: (error) => {
        if (!done) foreign(handshakeReplies.unreadable, error);
      },
    };
  };

  #welcome(frame: Extract<Frame, { type: 'welcome' }>, ctx: HandshakeContext): void {
    if (!SUPPORTED_VERSIONS.includes(frame.version)) {
      ctx.fail(
        new SocklineError(ErrorCodes.VERSION_UNSUPPORTED, `the server chose version ${frame.version}`),
        false,
      );
      return;
    }
    this.#authFailure = undefined;
    const previous = this.#sessionId;
    const resumed = frame.resumed && previous === frame.sessionId;
    this.#sessionId = frame.sessionId;
    let resent = 0;
    if (!resumed) {
      resent = this.#delivery.restart();
      // The server has none of our subscriptions: all of them go out again below.
      this.#staleSubscriptions.clear();
    }
    this.#link.setIdleTimeout(frame.heartbeatInterval + frame.heartbeatTimeout);
    // The server refuses a larger frame (and would close the connection): never send one.
    this.#delivery.frameLimit = Math.min(this.#link.maxFrameSize, frame.maxFrameSize);
    this.#heartbeatInterval = frame.heartbeatInterval;
    if (frame.batch === true) ctx.batch(encodeBatch);
    ctx.complete();
    for (const pattern of this.#staleSubscriptions)
      this.#write(encodeFrame({ type: 'unsubscribe', topic: pattern }));
    this.#staleSubscriptions.clear();
    for (const pattern of this.#subscriptions.keys())
      this.#write(encodeFrame({ type: 'subscribe', topic: pattern }));
    this.#delivery.attach(resumed ? frame.lastSeq : 0);
    this.emit('session', { id: frame.sessionId, resumed });
    if (!resumed && previous !== undefined)
      this.emit('sessionlost', { previousId: previous, id: frame.sessionId, resent });
  }

  #refused(frame: Extract<Frame, { type: 'refuse' }>, ctx: HandshakeContext): void {
    if (frame.code === ErrorCodes.VERSION_UNSUPPORTED) {
      const error = new SocklineError(
        ErrorCodes.VERSION_UNSUPPORTED,
        `the server speaks protocol versions [${frame.versions.join(', ')}], this client [${SUPPORTED_VERSIONS.join(', ')}]`,
      );
      error.versions = frame.versions;
      ctx.fail(error, false);
      return;
    }
    if (frame.code === ErrorCodes.AUTH_FAILED) {
      // The same refusal again and again will not change by itself: stop hammering.
      const same = this.#authFailure?.message === frame.message;
      this.#authFailure = { message: frame.message, count: same ? this.#authFailure!.count + 1 : 1 };
      const error = new SocklineError(ErrorCodes.AUTH_FAILED, `authentication failed: ${frame.message}`);
      ctx.fail(error, this.#authFailure.count < this.#options.authRetries);
      return;
    }
    ctx.fail(
      new SocklineError(ErrorCodes.PROTOCOL, `the server refused: ${frame.code} ${frame.message}`),
      true,
    );
  }

  // --- traffic --------------------------------------------------------------------------------

  #post(
    topic: string | undefined,
    value: unknown,
    options: ProtocolSendOptions | undefined,
  ): 'sent' | 'queued' | 'dropped' {
    const state = this.#link.state;
    if (state === 'closing' || state === 'closed') {
      throw new SocklineError(ErrorCodes.CLIENT_CLOSED, `cannot send: the client is ${state}`);
    }
    const ttl = sendTtl(options, this.#options.delivery.ttl);
    const { kind, payload } = encodePayload(value, this.#codec);
    assertMessageFits(topic, payload, this.#delivery.frameLimit);
    if (options?.volatile) {
      if (state !== 'open') {
        this.emit('drop', value, 'volatile');
        return 'dropped';
      }
      this.#write(
        encodeFrame(
          topic === undefined ? { type: 'data', kind, payload } : { type: 'publish', topic, kind, payload },
        ),
      );
      return 'sent';
    }
    const message: OutgoingMessage = { topic, kind, payload, original: value };
    return this.#delivery.enqueue(message, ttl) ? 'sent' : 'queued';
  }

  #write(frame: Uint8Array): void {
    if (this.#link.state === 'open') this.#link.send(frame);
  }

  #decode(message: LinkMessage): Frame | undefined {
    if (typeof message === 'string') return undefined;
    try {
      return decodeFrame(message);
    } catch (err) {
      if (err instanceof SocklineError) this.emit('error', err);
      return undefined;
    }
  }

  /** The frame bodies of a transport message (several for a BATCH); undefined if malformed. */
  #split(message: LinkMessage): readonly LinkMessage[] | undefined {
    if (typeof message === 'string' || message[0] !== BATCH_TYPE) return [message];
    try {
      return splitBatch(message);
    } catch (err) {
      if (err instanceof SocklineError) this.emit('error', err);
      return undefined;
    }
  }

  #onBatch = (message: LinkMessage): void => {
    if (typeof message === 'string' || message[0] !== BATCH_TYPE) {
      this.#onMessage(message);
      return;
    }
    const bodies = this.#split(message);
    if (bodies === undefined) {
      this.#protocolError('malformed batch from the server');
      return;
    }
    // A protocol error in one body reconnects: the rest of the batch belongs to a dead connection.
    const link = this.#link;
    for (let i = 0; i < bodies.length && link.state === 'open'; i++) this.#onMessage(bodies[i]!);
  };

  #onMessage = (message: LinkMessage): void => {
    const frame = this.#decode(message);
    if (frame === undefined) {
      this.#protocolError('malformed frame from the server');
      return;
    }
    switch (frame.type) {
      case 'data':
      case 'publish': {
        if (frame.ack !== undefined && !this.#delivery.acknowledged(frame.ack)) {
          this.#protocolError(`ack ${frame.ack} is above the last sequence number sent`);
          return;
        }
        // Decode before accepting: a message that cannot be delivered must not count as received.
        let value: unknown;
        try {
          value = decodePayload(frame.kind, frame.payload, this.#codec);
        } catch (err) {
          this.#protocolError('undecodable payload', err);
          return;
        }
        if (frame.seq !== undefined) {
          const verdict = this.#delivery.accept(frame.seq);
          if (verdict === 'duplicate') return;
          if (verdict === 'gap') {
            this.#protocolError(`sequence gap: got ${frame.seq} after ${this.#delivery.received}`);
            return;
          }
        }
        this.#deliverPayload(frame, value);
        return;
      }
      case 'ack':
        if (!this.#delivery.acknowledged(frame.seq))
          this.#protocolError(`ack ${frame.seq} is above the last sequence number sent`);
        return;
      case 'request':
        void this.#answer(frame);
        return;
      case 'response':
        if (frame.error) {
          this.#requests.reject(frame.id, responseError(frame, this.#codec));
        } else {
          let result: unknown;
          try {
            result = decodePayload(frame.kind, frame.payload, this.#codec);
          } catch (err) {
            // A result we cannot decode fails that request; the connection itself is fine.
            this.#requests.reject(frame.id, err);
            return;
          }
          this.#requests.resolve(frame.id, result);
        }
        return;
      case 'ping':
        this.#write(encodeFrame({ type: 'pong', nonce: frame.nonce }));
        return;
      case 'pong': {
        const ping = this.#pings.get(frame.nonce);
        if (ping === undefined) return;
        this.#pings.delete(frame.nonce);
        this.#rtt = this.#options.clock.now() - ping.sent;
        ping.resolve(this.#rtt);
        return;
      }
      case 'close':
        if (frame.reconnectAfter !== undefined)
          this.#link.deferReconnect(frame.reconnectAfter, `${frame.code}: ${frame.reason}`);
        return;
      case 'subrefuse':
        this.emit('error', subscriptionError(frame));
        return;
      default:
        this.#protocolError(`unexpected ${frame.type.toUpperCase()} after the handshake`);
    }
  };

  #deliverPayload(frame: Extract<Frame, { type: 'data' | 'publish' }>, value: unknown): void {
    if (frame.type === 'data') {
      this.emit('message', value, NO_MESSAGE);
      return;
    }
    const meta = { topic: frame.topic };
    for (const [pattern, handlers] of this.#subscriptions) {
      if (!topicMatches(pattern, frame.topic)) continue;
      for (const handler of handlers) {
        // The application's code must not cost the rest of the batch, nor the connection.
        try {
          (handler as SubscriptionHandler)(value, meta);
        } catch (err) {
          this.emit('error', callbackError(`the subscription handler of '${pattern}'`, err));
        }
      }
    }
  }

  async #answer(frame: Extract<Frame, { type: 'request' }>): Promise<void> {
    const handler = this.#handlers.get(frame.method);
    const response = await answerRequest(frame, handler, this.#codec, this.#delivery.frameLimit);
    this.#write(encodeFrame(response));
  }

  #protocolError(message: string, cause?: unknown): void {
    const error = new SocklineError(
      ErrorCodes.PROTOCOL,
      message,
      cause === undefined ? undefined : { cause },
    );
    this.emit('error', error);
    this.#write(
      encodeFrame({ type: 'close', code: CloseCodes.PROTOCOL_ERROR, reason: message.slice(0, 100) }),
    );
    this.#link.reconnect();
  }

  #onOpen = (): void => {
    this.#everOpen = true;
    this.#lastError = undefined;
    for (const frame of this.#unsent.values()) this.#link.send(frame);
    this.#unsent.clear();
    this.#measure();
    this.emit('open');
  };

  /** Keeps `rtt` fresh: one ping now and one per heartbeat interval while open. */
  #measure = (): void => {
    this.#pingTimer = undefined;
    if (this.#link.state !== 'open') return;
    this.ping().catch(() => {});
    if (this.#heartbeatInterval > 0) {
      this.#pingTimer = this.#options.clock.setTimeout(this.#measure, this.#heartbeatInterval);
      if (this.#unref) unrefTimer(this.#pingTimer);
    }
  };

  #stopPings(error: SocklineError): void {
    if (this.#pingTimer !== undefined) this.#options.clock.clearTimeout(this.#pingTimer);
    this.#pingTimer = undefined;
    const pings = [...this.#pings.values()];
    this.#pings.clear();
    for (const p of pings) p.reject(error);
  }

  #onDisconnect = (info: DisconnectInfo): void => {
    this.#delivery.detach();
    // Requests on the wire may or may not have been handled: say so, once. When the
    // connection ends because close() was called, that is the reason they get.
    const closing = this.#link.state === 'closing' || this.#link.state === 'closed';
    const error = new SocklineError(
      closing ? ErrorCodes.CLIENT_CLOSED : ErrorCodes.CONNECTION_CLOSED,
      closing
        ? 'the client closed while the request was in flight'
        : 'the connection closed while the request was in flight',
      { cause: info.error },
    );
    this.#stopPings(error);
    this.#requests.rejectExcept(this.#unsent, error);
    this.emit('disconnect', info);
  };

  #onClose = (info: { error?: Error | undefined }): void => {
    this.#delivery.detach();
    this.#closeError = info.error;
    const error = this.#closedError('the request could not complete');
    this.#stopPings(error);
    this.#requests.rejectAll(error);
    this.#unsent.clear();
    for (const message of this.#delivery.drain()) this.emit('drop', message.original, 'closed');
    this.emit('close', info);
  };

  /**
   * What an operation that cannot go on because the client is closed rejects with: closed by
   * `close()` (`ERR_CLIENT_CLOSED`), or the error that closed it, saying whether the client
   * ever connected (a refusal, `ERR_MAX_RETRIES`…, with that code).
   */
  #closedError(what: string): SocklineError {
    const cause = this.#closeError;
    if (cause === undefined) {
      return new SocklineError(ErrorCodes.CLIENT_CLOSED, `${what}: the client was closed by close()`);
    }
    const code = isSocklineError(cause) ? cause.code : ErrorCodes.CONNECTION_CLOSED;
    const how = this.#everOpen ? 'the client closed' : 'the client closed without ever connecting';
    return new SocklineError(code, `${what}: ${how}: ${cause.message}`, { cause });
  }

  /** Why a request is still waiting when it times out, if it is not the server's doing. */
  #waitContext = (): { note: string; cause?: unknown } | undefined => {
    if (this.#link.state === 'open') return undefined;
    const last = this.#lastError;
    const note = this.#everOpen ? 'the connection is down' : 'the client has not connected yet';
    return last === undefined ? { note } : { note: `${note} (${last.message})`, cause: last };
  };

  /**
   * What a throw in a `handle()` handler answers with (the RPC error model): a
   * {@link RemoteError} goes to the caller as it is; anything else is the application's
   * failure, reported here and answered `ERR_INTERNAL` without its message.
   */
  #answerable(method: string, err: unknown): unknown {
    if (isSocklineError(err, ErrorCodes.REMOTE) && typeof err.remoteCode === 'string') return err;
    this.emit('error', callbackError(`the handler of '${method}'`, err));
    return new SocklineError(ErrorCodes.INTERNAL, 'internal error');
  }
}

function closeError(frame: Extract<Frame, { type: 'close' }>): SocklineError {
  return new SocklineError(
    ErrorCodes.CONNECTION_CLOSED,
    `the server closed the connection (${frame.code}: ${frame.reason})`,
  );
}
