import { Emitter, type Disposer } from '../emitter.js';
import { iterate } from '../iterate.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import type { DisconnectInfo } from '../link/options.js';
import type { HandshakeContext, Link, LinkMessage } from '../link/link.js';
import type { LinkState } from '../link/state.js';
import { unrefTimer, type TimerHandle } from '../clock.js';
import { decodePayload, encodePayload, type Codec } from './codec.js';
import { Delivery, type OutgoingMessage } from './delivery.js';
import { BATCH_TYPE, encodeBatch, splitBatch } from './batch.js';
import { Capabilities, CloseCodes, SUPPORTED_VERSIONS, type Frame } from './frames.js';
import { decodeFrame } from './frames-decode.js';
import { assertMessageFits, encodeFrame } from './frames-encode.js';
import { PendingRequests } from './requests.js';
import { answerRequest } from './rpc.js';
import { subscriptionError, topicMatches, validatePattern, validateTopic } from './topics.js';
import type { ResolvedProtocolOptions } from './options.js';

/** What came with a message: its topic for a publish. */
export interface MessageMeta {
  readonly topic?: string;
}

export type SubscriptionHandler = (value: unknown, meta: { topic: string }) => void;
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
export class SocklineClient extends Emitter<ClientEvents> {
  readonly #link: Link;
  readonly #options: ResolvedProtocolOptions;
  readonly #codec: Codec;
  readonly #delivery: Delivery;
  readonly #requests: PendingRequests;
  /** Request frames waiting for the link to open, by id. */
  readonly #unsent = new Map<number, Uint8Array>();
  readonly #subscriptions = new Map<string, Set<SubscriptionHandler>>();
  /** Patterns to unsubscribe from at the server at the next chance. */
  readonly #staleSubscriptions = new Set<string>();
  readonly #handlers = new Map<string, RequestHandler>();
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

  constructor(
    createLink: (handshake: (ctx: HandshakeContext) => (m: LinkMessage) => void) => Link,
    options: ResolvedProtocolOptions,
  ) {
    super();
    this.#options = options;
    this.#codec = options.codec;
    this.#requests = new PendingRequests(options.clock, options.maxInFlight);
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
    return this.#sessionId;
  }

  /** The last measured round-trip time to the server, in ms. */
  get rtt(): number | undefined {
    return this.#rtt;
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
   * unsubscribes. Subscriptions are restored after every reconnect.
   */
  subscribe(pattern: string, handler: SubscriptionHandler): Disposer {
    validatePattern(pattern);
    if (typeof handler !== 'function') throw new TypeError('subscribe() needs a handler function');
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
   * Calls `method` on the server. Settles exactly once: with the result, an `ERR_REMOTE`
   * error carrying the server's code, `ERR_REQUEST_TIMEOUT`, `ERR_ABORTED`,
   * `ERR_CONNECTION_CLOSED` if the connection drops while it is in flight, or
   * `ERR_CLIENT_CLOSED`.
   */
  request(method: string, params?: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (typeof method !== 'string' || method.length === 0)
      throw new TypeError('request() needs a method name');
    if (this.#link.state === 'closed' || this.#link.state === 'closing') {
      return Promise.reject(
        new SocklineError(ErrorCodes.CLIENT_CLOSED, `cannot request "${method}": the client is closed`),
      );
    }
    const { kind, payload } = encodePayload(params ?? null, this.#codec);
    let opened: { id: number; promise: Promise<unknown> };
    try {
      opened = this.#requests.open(method, options.timeout ?? this.#options.requestTimeout, options.signal);
    } catch (err) {
      return Promise.reject(err);
    }
    const frame = encodeFrame({ type: 'request', id: opened.id, method, kind, payload });
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

  /** Closes gracefully (a CLOSE frame, then the link). Pending requests reject with `ERR_CLIENT_CLOSED`. */
  close(code: number = CloseCodes.NORMAL, reason = ''): Promise<void> {
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

  #handshake = (ctx: HandshakeContext): ((m: LinkMessage) => void) => {
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
    const step = (message: LinkMessage): void => {
      if (done) {
        // The rest of a BATCH that carried the WELCOME: the session is open now.
        if (this.#link.state === 'open') this.#onMessage(message);
        return;
      }
      const frame = this.#decode(message, this.#options.maxHandshakeSize);
      if (frame === undefined) {
        done = true;
        ctx.fail(new SocklineError(ErrorCodes.PROTOCOL, 'invalid handshake reply from the server'), true);
        return;
      }
      done = true;
      if (frame.type === 'welcome') this.#welcome(frame, ctx);
      else if (frame.type === 'refuse') this.#refused(frame, ctx);
      else if (frame.type === 'close') {
        // "Come back later" (a server's admission control, or a busy session lookup): the
        // next attempt waits what the server asked, and this one is not counted as a failure.
        if (frame.reconnectAfter !== undefined) this.#link.deferReconnect(frame.reconnectAfter);
        ctx.fail(closeError(frame), true);
      } else
        ctx.fail(
          new SocklineError(ErrorCodes.PROTOCOL, `expected WELCOME, got ${frame.type.toUpperCase()}`),
          true,
        );
    };
    return (message) => {
      if (done) return;
      const bodies = this.#split(message);
      if (bodies === undefined) {
        done = true;
        ctx.fail(new SocklineError(ErrorCodes.PROTOCOL, 'invalid handshake reply from the server'), true);
        return;
      }
      for (let i = 0; i < bodies.length; i++) step(bodies[i]!);
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
      (error as SocklineError & { versions?: number[] }).versions = frame.versions;
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
    const ttl = options?.ttl ?? this.#options.delivery.ttl;
    const message: OutgoingMessage = { topic, kind, payload, original: value };
    return this.#delivery.enqueue(message, ttl) ? 'sent' : 'queued';
  }

  #write(frame: Uint8Array): void {
    if (this.#link.state === 'open') this.#link.send(frame);
  }

  #decode(message: LinkMessage, maxSize = Infinity): Frame | undefined {
    if (typeof message === 'string' || message.byteLength > maxSize) return undefined;
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
          const error = new SocklineError(ErrorCodes.REMOTE, frame.error.message);
          (error as SocklineError & { remoteCode?: string }).remoteCode = frame.error.code;
          this.#requests.reject(frame.id, error);
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
        if (frame.reconnectAfter !== undefined) this.#link.deferReconnect(frame.reconnectAfter);
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
      for (const handler of handlers) handler(value, meta);
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
    const error = new SocklineError(
      ErrorCodes.CLIENT_CLOSED,
      'the client closed',
      info.error ? { cause: info.error } : undefined,
    );
    this.#stopPings(error);
    this.#requests.rejectAll(error);
    this.#unsent.clear();
    for (const message of this.#delivery.drain()) this.emit('drop', message.original, 'closed');
    this.emit('close', info);
  };
}

function closeError(frame: Extract<Frame, { type: 'close' }>): SocklineError {
  return new SocklineError(
    ErrorCodes.CONNECTION_CLOSED,
    `the server closed the connection (${frame.code}: ${frame.reason})`,
  );
}
