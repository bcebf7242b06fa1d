import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import { PendingRequests } from './requests.js';
import { decodePayload, encodePayload, jsonCodec, type Codec } from './codec.js';
import { Delivery, type DeliveryLimits, type OutgoingMessage } from './delivery.js';
import { CloseCodes, SUPPORTED_VERSIONS, type Frame, type PayloadKind } from './frames.js';
import { decodeFrame } from './frames-decode.js';
import { encodeFrame } from './frames-encode.js';
import { topicMatches, validatePattern, validateTopic } from './topics.js';
import { answerRequest, errorResponse } from './rpc.js';

/** The wire under one server-side session: one accepted connection, any transport. */
export interface ServerConnection {
  /** Writes one frame body; false when the connection's buffer is over its high-water mark. */
  send(frame: Uint8Array): boolean;
  /** Ends the connection (after the frames already written). */
  close(): void;
}

/** The HELLO as the `authenticate` hook sees it. */
export interface HelloInfo {
  readonly token: string | undefined;
  readonly versions: readonly number[];
  readonly codec: string;
}

/** Where pub/sub traffic goes between sessions (one process now; Redis later). */
export interface Hub {
  publish(topic: string, kind: PayloadKind, payload: Uint8Array, from: SessionState): void;
}

const EMPTY: ReadonlySet<string> = new Set();

/** One session's state, kept across connections for `resumeWindow` so it can be resumed. */
export class SessionState {
  readonly id: string;
  readonly delivery: Delivery;
  /** Made on the first subscribe: most sessions never subscribe, and an empty Set costs memory. */
  #subscriptions: Set<string> | null = null;
  user: unknown;
  connection: ServerConnection | null = null;
  expiry: TimerHandle | undefined;

  constructor(id: string, limits: DeliveryLimits, clock: Clock) {
    this.id = id;
    this.delivery = new Delivery(limits, clock, {
      write: (frame) => void this.connection?.send(frame),
      dropped: () => {},
    });
  }

  /** The topic patterns this session subscribed to. */
  get subscriptions(): ReadonlySet<string> {
    return this.#subscriptions ?? EMPTY;
  }

  subscribe(pattern: string): void {
    (this.#subscriptions ??= new Set()).add(pattern);
  }

  unsubscribe(pattern: string): void {
    this.#subscriptions?.delete(pattern);
  }

  /** Queues a publish for this session's client if one of its patterns matches. */
  offer(topic: string, kind: PayloadKind, payload: Uint8Array): boolean {
    if (this.#subscriptions === null) return false;
    for (const pattern of this.#subscriptions) {
      if (topicMatches(pattern, topic)) {
        this.delivery.enqueue({ topic, kind, payload, original: undefined }, Infinity);
        return true;
      }
    }
    return false;
  }
}

/**
 * Where sessions live between connections. The in-memory store is the default; a shared
 * store (Redis) lets another server process resume a session.
 */
export interface SessionStore {
  readonly size: number;
  get(id: string): SessionState | undefined;
  all(): IterableIterator<SessionState>;
  /** Adds a new session (a full store may evict its oldest). */
  add(state: SessionState): void;
  /** The session's connection ended: keep it `ms` for a resume, then forget it (calling `expired`). */
  expire(state: SessionState, ms: number, expired?: (state: SessionState) => void): void;
  /** The session was resumed: stop its expiry. */
  keep(state: SessionState): void;
  delete(id: string): void;
  clear(): void;
}

/** Sessions waiting to be resumed, bounded in count, each for `resumeWindow` ms. */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, SessionState>();
  readonly #max: number;
  readonly #clock: Clock;

  constructor(options: { maxSessions?: number; clock?: Clock } = {}) {
    this.#max = options.maxSessions ?? 10_000;
    this.#clock = options.clock ?? systemClock;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(id: string): SessionState | undefined {
    return this.#sessions.get(id);
  }

  all(): IterableIterator<SessionState> {
    return this.#sessions.values();
  }

  /** Adds a session; the oldest one is evicted if the store is full. */
  add(state: SessionState): void {
    if (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value as string;
      this.delete(oldest);
    }
    this.#sessions.set(state.id, state);
  }

  /** Keeps a detached session for `ms`, then forgets it (and calls `expired`, if given). */
  expire(state: SessionState, ms: number, expired?: (state: SessionState) => void): void {
    if (state.expiry !== undefined) this.#clock.clearTimeout(state.expiry);
    state.expiry = this.#clock.setTimeout(() => {
      this.delete(state.id);
      expired?.(state);
    }, ms);
  }

  keep(state: SessionState): void {
    if (state.expiry !== undefined) this.#clock.clearTimeout(state.expiry);
    state.expiry = undefined;
  }

  delete(id: string): void {
    const state = this.#sessions.get(id);
    if (state === undefined) return;
    if (state.expiry !== undefined) this.#clock.clearTimeout(state.expiry);
    state.delivery.drain();
    this.#sessions.delete(id);
  }

  clear(): void {
    for (const id of [...this.#sessions.keys()]) this.delete(id);
  }
}

export type ServerRequestHandler = (params: unknown, session: SessionState) => unknown;

/** Per-connection overrides of {@link ServerSessionOptions}. */
export interface ServerSessionHooks {
  readonly authenticate?: ((hello: HelloInfo) => unknown) | undefined;
  readonly onSession?: ((session: SessionState, resumed: boolean) => void) | undefined;
}

export interface ServerSessionOptions {
  readonly store: SessionStore;
  readonly hub: Hub;
  readonly handlers: ReadonlyMap<string, ServerRequestHandler>;
  readonly onMessage?: (value: unknown, session: SessionState) => void;
  /** A handshake completed: a new session (`resumed` false) or a resumed one; after WELCOME. */
  readonly onSession?: (session: SessionState, resumed: boolean) => void;
  /** A session ended for good: the client sent CLOSE, or its resume window expired. */
  readonly onSessionEnd?: (session: SessionState, reason: 'close' | 'expired') => void;
  /** Accept (return user data) or refuse (throw) a HELLO. */
  readonly authenticate?: (hello: HelloInfo) => unknown;
  readonly versions?: readonly number[];
  readonly heartbeatInterval?: number;
  readonly heartbeatTimeout?: number;
  readonly handshakeTimeout?: number;
  readonly maxHandshakeSize?: number;
  readonly resumeWindow?: number;
  readonly maxInFlight?: number;
  readonly maxFrameSize?: number;
  readonly delivery?: Partial<DeliveryLimits>;
  readonly codec?: Codec;
  readonly clock?: Clock;
  readonly newId?: () => string;
}

/** Server defaults, finite everywhere. */
export const serverSessionDefaults = Object.freeze({
  heartbeatInterval: 10_000,
  heartbeatTimeout: 5_000,
  handshakeTimeout: 10_000,
  maxHandshakeSize: 16 << 10,
  resumeWindow: 60_000,
  maxInFlight: 100,
  maxFrameSize: 1 << 20,
  delivery: Object.freeze({
    maxMessages: 10_000,
    maxBytes: 8 << 20,
    overflow: 'drop-oldest' as const,
    replayMessages: 10_000,
    replayBytes: 8 << 20,
    ackDelay: 20,
  }),
});

const defaultCodec = jsonCodec();
const limitsByOptions = new WeakMap<ServerSessionOptions, DeliveryLimits>();

/** The delivery limits of a server's options, resolved once and shared by its sessions. */
function deliveryLimits(options: ServerSessionOptions): DeliveryLimits {
  let limits = limitsByOptions.get(options);
  if (limits === undefined) {
    limits = Object.freeze({ ...serverSessionDefaults.delivery, ...options.delivery });
    limitsByOptions.set(options, limits);
  }
  return limits;
}

let counter = 0;
const defaultId = (): string =>
  `${Date.now().toString(36)}-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/**
 * The server side of one connection: answers HELLO (version, authentication, resume),
 * then carries data, pub/sub, requests and heartbeats over the session's `Delivery`.
 */
export class ServerSession {
  readonly #connection: ServerConnection;
  readonly #options: ServerSessionOptions;
  readonly #hooks: ServerSessionHooks | undefined;
  readonly #clock: Clock;
  readonly #codec: Codec;
  #state: SessionState | null = null;
  #phase: 'handshake' | 'open' | 'closed' = 'handshake';
  #timer: TimerHandle | undefined;
  #lastHeard: number;
  #inFlight = 0;
  #pingNonce = 0;
  /** Requests this server made to the client over this connection. */
  #requests: PendingRequests | null = null;

  /**
   * `options` is meant to be shared by every connection of a server; `hooks` carries what is
   * specific to this one, so no per-connection copy of the options is made (it costs memory).
   */
  constructor(connection: ServerConnection, options: ServerSessionOptions, hooks?: ServerSessionHooks) {
    this.#connection = connection;
    this.#options = options;
    this.#hooks = hooks;
    this.#clock = options.clock ?? systemClock;
    this.#codec = options.codec ?? defaultCodec;
    this.#lastHeard = this.#clock.now();
    const deadline = options.handshakeTimeout ?? serverSessionDefaults.handshakeTimeout;
    this.#timer = this.#clock.setTimeout(
      () => this.#fail(CloseCodes.HANDSHAKE_TIMEOUT, `no HELLO within ${deadline} ms`),
      deadline,
    );
  }

  get session(): SessionState | null {
    return this.#state;
  }

  /** One frame body from the connection. */
  receive(bytes: Uint8Array): void {
    if (this.#phase === 'closed') return;
    this.#lastHeard = this.#clock.now();
    const limit =
      this.#phase === 'handshake'
        ? (this.#options.maxHandshakeSize ?? serverSessionDefaults.maxHandshakeSize)
        : Infinity;
    if (bytes.byteLength > limit) {
      this.#fail(
        CloseCodes.PROTOCOL_ERROR,
        `HELLO of ${bytes.byteLength} bytes is over the ${limit}-byte cap`,
      );
      return;
    }
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (err) {
      this.#fail(CloseCodes.PROTOCOL_ERROR, (err as Error).message);
      return;
    }
    if (this.#phase === 'handshake') {
      if (frame.type !== 'hello')
        this.#fail(CloseCodes.PROTOCOL_ERROR, `expected HELLO, got ${frame.type.toUpperCase()}`);
      else this.#hello(frame);
      return;
    }
    try {
      this.#dispatch(frame);
    } catch (err) {
      this.#fail(CloseCodes.PROTOCOL_ERROR, (err as Error).message);
    }
  }

  /** The connection ended: keep the session for resume, stop timers. */
  closed(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#clearTimer();
    this.#requests?.rejectAll(
      new SocklineError(
        ErrorCodes.CONNECTION_CLOSED,
        'the connection closed while the request was in flight',
      ),
    );
    const state = this.#state;
    if (state === null || state.connection !== this.#connection) return;
    state.connection = null;
    state.delivery.detach();
    this.#options.store.expire(
      state,
      this.#options.resumeWindow ?? serverSessionDefaults.resumeWindow,
      this.#options.onSessionEnd && ((s) => this.#options.onSessionEnd?.(s, 'expired')),
    );
  }

  /** Closes with a CLOSE frame; `reconnectAfter` tells the client when to come back. */
  close(code: number = CloseCodes.GOING_AWAY, reason = '', reconnectAfter?: number): void {
    if (this.#phase === 'closed') return;
    this.#connection.send(
      encodeFrame({
        type: 'close',
        code,
        reason,
        ...(reconnectAfter !== undefined ? { reconnectAfter } : {}),
      }),
    );
    this.#connection.close();
    this.closed();
  }

  /**
   * Calls `method` on the client (a server → client request). Settles exactly once: the
   * result, `ERR_REMOTE`, `ERR_REQUEST_TIMEOUT`, `ERR_ABORTED`, or `ERR_CONNECTION_CLOSED`
   * when this connection ends first. Requests are not carried across a resume.
   */
  request(
    method: string,
    params: unknown,
    options: { timeout?: number; signal?: AbortSignal } = {},
  ): Promise<unknown> {
    if (this.#phase !== 'open') {
      return Promise.reject(new SocklineError(ErrorCodes.CONNECTION_CLOSED, 'the connection is not open'));
    }
    this.#requests ??= new PendingRequests(
      this.#clock,
      this.#options.maxInFlight ?? serverSessionDefaults.maxInFlight,
    );
    let opened: { id: number; promise: Promise<unknown> };
    try {
      opened = this.#requests.open(method, options.timeout ?? 10_000, options.signal);
    } catch (err) {
      return Promise.reject(err);
    }
    const { kind, payload } = encodePayload(params ?? null, this.#codec);
    this.#connection.send(encodeFrame({ type: 'request', id: opened.id, method, kind, payload }));
    return opened.promise;
  }

  /** Writes a value without a sequence number: lost if the connection is down or refuses it. */
  sendVolatile(value: unknown): boolean {
    if (this.#phase !== 'open') return false;
    const { kind, payload } = encodePayload(value, this.#codec);
    return this.#connection.send(encodeFrame({ type: 'data', kind, payload }));
  }

  /** Sends a value to this session's client, exactly once across its reconnects. */
  send(value: unknown): void {
    const { kind, payload } = encodePayload(value, this.#codec);
    this.#state?.delivery.enqueue({ topic: undefined, kind, payload, original: value }, Infinity);
  }

  async #hello(frame: Extract<Frame, { type: 'hello' }>): Promise<void> {
    const o = this.#options;
    const versions = o.versions ?? SUPPORTED_VERSIONS;
    const version = Math.max(...frame.versions.filter((v) => versions.includes(v)));
    if (!Number.isFinite(version)) {
      this.#refuse(
        ErrorCodes.VERSION_UNSUPPORTED,
        'no protocol version in common',
        versions,
        CloseCodes.VERSION_UNSUPPORTED,
      );
      return;
    }
    if (frame.codec !== this.#codec.name) {
      this.#refuse(
        ErrorCodes.BAD_PAYLOAD,
        `codec "${frame.codec}" is not spoken here (${this.#codec.name})`,
        [],
        CloseCodes.PROTOCOL_ERROR,
      );
      return;
    }
    let user: unknown;
    try {
      const authenticate = this.#hooks?.authenticate ?? o.authenticate;
      user = await authenticate?.({ token: frame.token, versions: frame.versions, codec: frame.codec });
    } catch (err) {
      this.#refuse(
        ErrorCodes.AUTH_FAILED,
        err instanceof Error ? err.message : String(err),
        [],
        CloseCodes.AUTH_FAILED,
      );
      return;
    }
    if (this.#phase !== 'handshake') return;
    this.#clearTimer();
    const store = o.store;
    let state = frame.resume ? store.get(frame.resume.sessionId) : undefined;
    const resumed = state !== undefined;
    if (state === undefined) {
      state = new SessionState((o.newId ?? defaultId)(), deliveryLimits(o), this.#clock);
      store.add(state);
    } else {
      store.keep(state);
      // A resumed session may still be attached to a connection we have not noticed is dead.
      state.connection?.close();
      state.delivery.detach();
    }
    state.user = user;
    state.connection = this.#connection;
    this.#state = state;
    this.#phase = 'open';
    const interval = o.heartbeatInterval ?? serverSessionDefaults.heartbeatInterval;
    const timeout = o.heartbeatTimeout ?? serverSessionDefaults.heartbeatTimeout;
    this.#connection.send(
      encodeFrame({
        type: 'welcome',
        version,
        sessionId: state.id,
        resumed,
        heartbeatInterval: interval,
        heartbeatTimeout: timeout,
        lastSeq: state.delivery.received,
        maxFrameSize: o.maxFrameSize ?? serverSessionDefaults.maxFrameSize,
        maxInFlight: o.maxInFlight ?? serverSessionDefaults.maxInFlight,
        resumeWindow: o.resumeWindow ?? serverSessionDefaults.resumeWindow,
      }),
    );
    state.delivery.attach(resumed ? frame.resume!.lastSeq : 0);
    this.#timer = this.#clock.setTimeout(this.#heartbeat, interval);
    (this.#hooks?.onSession ?? o.onSession)?.(state, resumed);
  }

  #dispatch(frame: Frame): void {
    const state = this.#state!;
    switch (frame.type) {
      case 'data':
      case 'publish': {
        if (frame.ack !== undefined && !state.delivery.acknowledged(frame.ack)) {
          throw new Error(`ack ${frame.ack} is above the last sequence number sent`);
        }
        // Validate before accepting: a message that cannot be delivered must not count as received.
        let value: unknown;
        if (frame.type === 'publish') validateTopic(frame.topic);
        else value = decodePayload(frame.kind, frame.payload, this.#codec);
        if (frame.seq !== undefined) {
          const verdict = state.delivery.accept(frame.seq);
          if (verdict === 'duplicate') return;
          if (verdict === 'gap')
            throw new Error(`sequence gap: got ${frame.seq} after ${state.delivery.received}`);
        }
        if (frame.type === 'publish')
          this.#options.hub.publish(frame.topic, frame.kind, frame.payload, state);
        else this.#options.onMessage?.(value, state);
        return;
      }
      case 'ack':
        if (!state.delivery.acknowledged(frame.seq))
          throw new Error(`ack ${frame.seq} is above the last sequence number sent`);
        return;
      case 'subscribe':
        validatePattern(frame.topic);
        state.subscribe(frame.topic);
        return;
      case 'unsubscribe':
        state.unsubscribe(frame.topic);
        return;
      case 'request':
        void this.#answer(frame, state);
        return;
      case 'ping':
        this.#connection.send(encodeFrame({ type: 'pong', nonce: frame.nonce }));
        return;
      case 'response':
        if (frame.error) {
          const error = new SocklineError(ErrorCodes.REMOTE, frame.error.message);
          (error as SocklineError & { remoteCode?: string }).remoteCode = frame.error.code;
          this.#requests?.reject(frame.id, error);
        } else {
          let result: unknown;
          try {
            result = decodePayload(frame.kind, frame.payload, this.#codec);
          } catch (err) {
            this.#requests?.reject(frame.id, err);
            return;
          }
          this.#requests?.resolve(frame.id, result);
        }
        return;
      case 'pong':
        return;
      case 'close':
        this.#connection.close();
        this.closed();
        // A client that says a normal goodbye will not resume: free its session now. After
        // any other close (a protocol error it saw) it will come back and resume.
        if (frame.code === CloseCodes.NORMAL) {
          this.#options.store.delete(state.id);
          this.#options.onSessionEnd?.(state, 'close');
        }
        return;
      default:
        throw new Error(`unexpected ${frame.type.toUpperCase()} after the handshake`);
    }
  }

  async #answer(frame: Extract<Frame, { type: 'request' }>, state: SessionState): Promise<void> {
    const max = this.#options.maxInFlight ?? serverSessionDefaults.maxInFlight;
    let response: Frame;
    if (this.#inFlight >= max) {
      response = errorResponse(frame.id, ErrorCodes.TOO_MANY_REQUESTS, `more than ${max} requests in flight`);
    } else {
      this.#inFlight++;
      const handler = this.#options.handlers.get(frame.method);
      try {
        response = await answerRequest(frame, handler && ((params) => handler(params, state)), this.#codec);
      } finally {
        this.#inFlight--;
      }
    }
    if (this.#phase === 'open' && state.connection === this.#connection)
      this.#connection.send(encodeFrame(response));
  }

  #heartbeat = (): void => {
    this.#timer = undefined;
    if (this.#phase !== 'open') return;
    const o = this.#options;
    const interval = o.heartbeatInterval ?? serverSessionDefaults.heartbeatInterval;
    const timeout = o.heartbeatTimeout ?? serverSessionDefaults.heartbeatTimeout;
    const silent = this.#clock.now() - this.#lastHeard;
    if (silent >= interval + timeout) {
      this.#fail(CloseCodes.HEARTBEAT_TIMEOUT, `no frame for ${silent} ms`);
      return;
    }
    this.#connection.send(encodeFrame({ type: 'ping', nonce: ++this.#pingNonce }));
    this.#timer = this.#clock.setTimeout(this.#heartbeat, Math.min(interval, interval + timeout - silent));
  };

  #refuse(code: string, message: string, versions: readonly number[], closeCode: number): void {
    if (this.#phase === 'closed') return;
    this.#connection.send(encodeFrame({ type: 'refuse', code, message, versions: [...versions] }));
    this.#fail(closeCode, message);
  }

  #fail(code: number, reason: string): void {
    if (this.#phase === 'closed') return;
    this.#connection.send(encodeFrame({ type: 'close', code, reason: reason.slice(0, 200) }));
    this.#connection.close();
    this.closed();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** The simplest hub: every session in one store, all in this process, no network between. */
export function localHub(store: SessionStore): Hub {
  return {
    publish(topic, kind, payload) {
      for (const state of store.all()) state.offer(topic, kind, payload);
    },
  };
}

export type { OutgoingMessage };
