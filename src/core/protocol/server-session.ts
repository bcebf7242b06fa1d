import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import { PendingRequests } from './requests.js';
import { decodePayload, encodePayload, jsonCodec, type Codec } from './codec.js';
import {
  Delivery,
  type DeliveryHooks,
  type DeliveryLimits,
  type OutgoingMessage,
  type SentFrame,
} from './delivery.js';
import { Capabilities, CloseCodes, SUPPORTED_VERSIONS, type Frame, type PayloadKind } from './frames.js';
import { decodeFrame } from './frames-decode.js';
import { encodeFrame } from './frames-encode.js';
import { validatePattern, validateTopic } from './topics.js';
import { TopicIndex } from './topic-index.js';
import { answerRequest, errorResponse, isSocklineMade, responseError } from './rpc.js';
import type { Admission } from './admission.js';
import {
  defaultIdentify,
  newSessionSecret,
  ownedBy,
  ownerTag,
  publicIdOf,
  unmatchableTag,
  type Identify,
} from './session-id.js';

/** The wire under one server-side session: one accepted connection, any transport. */
export interface ServerConnection {
  /** Writes one frame body; false when the connection's buffer is over its high-water mark. */
  send(frame: Uint8Array): boolean;
  /** Ends the connection (after the frames already written). */
  close(): void;
  /** Bytes written but not yet sent (counted in the server's memory budget); absent means 0. */
  readonly bufferedAmount?: number;
  /**
   * Optional: from now on, join the frames written in one tick into BATCH messages
   * (docs/protocol.md §1.1). Returns whether the connection does; absent means it does not.
   */
  batch?(): boolean;
}

/** The HELLO as the `authenticate` hook sees it. */
export interface HelloInfo {
  readonly token: string | undefined;
  readonly versions: readonly number[];
  readonly codec: string;
}

/** Where pub/sub traffic goes between sessions: this process, or every process of a cluster. */
export interface Hub {
  /** `seq` is the sequence number of the client's PUBLISH, when it had one. */
  publish(topic: string, kind: PayloadKind, payload: Uint8Array, from: SessionState, seq?: number): void;
}

/**
 * What a shared session store learns as a session changes, so another process can resume
 * it (every member optional). With `durable`, received messages are acknowledged to the
 * client only once the observer calls `state.delivery.confirm(seq)`.
 */
export interface SessionObserver {
  readonly durable?: boolean;
  /** A new session (not a resumed one), before its WELCOME. */
  created?(state: SessionState): void;
  /** A connection carries the session (new or resumed), after its WELCOME. */
  attached?(state: SessionState): void;
  /** The connection ended; the session waits `ms` for a resume. */
  detached?(state: SessionState, ms: number): void;
  subscribed?(state: SessionState, pattern: string): void;
  unsubscribed?(state: SessionState, pattern: string): void;
  /** A sequenced DATA message from the client was handled. */
  received?(state: SessionState, seq: number): void;
  /** An outbound message got its seq (it is written next, unless the session's gate holds it). */
  sent?(state: SessionState, seq: number, frame: Uint8Array, message: OutgoingMessage): void;
  /** The client acknowledged everything up to `seq`. */
  acknowledged?(state: SessionState, seq: number): void;
}

/**
 * Holds sequenced frames back until they are durable (write-ahead): `admit` returns false
 * for a frame it keeps; it writes it to `state.connection` itself later, in order.
 */
export interface WriteGate {
  admit(seq: number, frame: Uint8Array): boolean;
}

const EMPTY: ReadonlySet<string> = new Set();

/** One session's state, kept across connections for `resumeWindow` so it can be resumed. */
export class SessionState {
  /**
   * The resume secret (session-id.ts): the store's key, WELCOME's `sessionId`. Never shown
   * to anyone but the owning client; {@link publicId} is the name others may see.
   */
  readonly id: string;
  readonly delivery: Delivery;
  /** Made on the first subscribe: most sessions never subscribe, and an empty Set costs memory. */
  #subscriptions: Set<string> | null = null;
  /** The index of the store holding this session, where its subscriptions are matched. */
  #index: TopicIndex<SessionState> | null = null;
  #publicId: string | undefined;
  user: unknown;
  connection: ServerConnection | null = null;
  expiry: TimerHandle | undefined;
  /** Set by a shared store that must persist frames before they are written. */
  gate: WriteGate | null = null;

  constructor(id: string, limits: DeliveryLimits, clock: Clock, observer?: SessionObserver) {
    this.id = id;
    // Methods on a prototype, not closures per session: idle sessions are many.
    this.delivery = new Delivery(
      limits,
      clock,
      observer === undefined ? new SessionOutput(this) : new ObservedOutput(this, observer),
    );
    if (observer?.durable) this.delivery.holdAcks();
  }

  /** The name of this session that others may see (`peer.id`): derived from the secret, not it. */
  get publicId(): string {
    return (this.#publicId ??= publicIdOf(this.id));
  }

  /** The topic patterns this session subscribed to. */
  get subscriptions(): ReadonlySet<string> {
    return this.#subscriptions ?? EMPTY;
  }

  /** Adds a subscription; false if the session already had it. */
  subscribe(pattern: string): boolean {
    const subscriptions = (this.#subscriptions ??= new Set());
    if (subscriptions.has(pattern)) return false;
    subscriptions.add(pattern);
    this.#index?.add(pattern, this);
    return true;
  }

  /** Removes a subscription; false if the session did not have it. */
  unsubscribe(pattern: string): boolean {
    if (this.#subscriptions?.delete(pattern) !== true) return false;
    this.#index?.delete(pattern, this);
    return true;
  }

  /**
   * Moves this session's subscriptions to `index` (a store's), or out of any index (`null`,
   * when a store lets go of it). Called by stores as they add and delete sessions.
   */
  indexIn(index: TopicIndex<SessionState> | null): void {
    if (this.#index === index) return;
    for (const pattern of this.subscriptions) {
      this.#index?.delete(pattern, this);
      index?.add(pattern, this);
    }
    this.#index = index;
  }

  /** Queues a publish for this session's client (its subscriptions were matched by an index). */
  push(topic: string, kind: PayloadKind, payload: Uint8Array, source?: string): void {
    this.delivery.enqueue({ topic, kind, payload, original: undefined, source }, Infinity);
  }
}

/** Where a session's {@link Delivery} writes: the session's current connection, if any. */
class SessionOutput implements DeliveryHooks {
  protected readonly state: SessionState;

  constructor(state: SessionState) {
    this.state = state;
  }

  write(frame: Uint8Array): void {
    this.state.connection?.send(frame);
  }

  dropped(): void {}
}

/** ... and, for a shared store, through its observer and its write gate. */
class ObservedOutput extends SessionOutput {
  readonly #observer: SessionObserver;

  constructor(state: SessionState, observer: SessionObserver) {
    super(state);
    this.#observer = observer;
  }

  override write(frame: Uint8Array, seq?: number): void {
    const state = this.state;
    if (seq !== undefined && state.gate !== null && !state.gate.admit(seq, frame)) return;
    state.connection?.send(frame);
  }

  sent(seq: number, frame: Uint8Array, message: OutgoingMessage): void {
    this.#observer.sent?.(this.state, seq, frame, message);
  }

  trimmed(seq: number): void {
    this.#observer.acknowledged?.(this.state, seq);
  }
}

/**
 * Where sessions live between connections. The in-memory store is the default; a shared
 * store (Redis) lets another server process resume a session.
 */
export interface SessionStore {
  readonly size: number;
  /**
   * The subscriptions of the sessions held, matched on every publish. A store puts each
   * session it adds in it (`state.indexIn(topics)`) and takes each one it deletes out of it
   * (`state.indexIn(null)`).
   */
  readonly topics: TopicIndex<SessionState>;
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
  readonly topics = new TopicIndex<SessionState>();
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
    state.indexIn(this.topics);
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
    state.indexIn(null);
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
  /**
   * The HELLO was answered CLOSE 1001 with a `reconnectAfter` ("come back later"): by
   * `admission` control, or because too many session lookups are in flight.
   */
  readonly turnedAway?: ((cause: 'admission' | 'lookup') => void) | undefined;
}

export interface ServerSessionOptions {
  readonly store: SessionStore;
  readonly hub: Hub;
  /** Told of every change a shared store must persist (see {@link SessionObserver}). */
  readonly observer?: SessionObserver;
  /**
   * Finds a session that is not in `store` (another process had it). The HELLO waits for it
   * within the handshake deadline. Resolves with the session, now in `store`, or undefined
   * (a new session starts); `null` means too many lookups are in flight: the connection is
   * closed with GOING_AWAY and the client comes back after `reconnectAfter`.
   */
  readonly lookup?: (id: string, lastSeq: number) => Promise<SessionState | undefined> | null;
  /**
   * Admission control, asked for every HELLO that names a version and codec this server
   * speaks, before `authenticate`: a HELLO it does not admit gets CLOSE 1001 with the
   * `reconnectAfter` it gives, and nothing is made for it. Absent: every HELLO is handled.
   */
  readonly admission?: Admission;
  readonly handlers: ReadonlyMap<string, ServerRequestHandler>;
  readonly onMessage?: (value: unknown, session: SessionState) => void;
  /**
   * Application code failed without it being the client's fault: `onMessage` threw, a
   * request handler threw something other than a RemoteError (the client got
   * `ERR_INTERNAL`), `identify` threw. The connection goes on; nothing of the error is sent.
   */
  readonly onError?: (error: unknown, session: SessionState | null) => void;
  /** A SUBSCRIBE was refused by `maxSubscriptions` or `maxTotalSubscriptions`. */
  readonly onSubscriptionRefused?: (session: SessionState, pattern: string) => void;
  /** A HELLO asked to resume a session its identity does not own: a new session started. */
  readonly onResumeDenied?: () => void;
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
  /** Subscriptions one session may hold; more are refused (SUBREFUSE). */
  readonly maxSubscriptions?: number;
  /** Subscriptions all sessions of the store may hold together; more are refused. */
  readonly maxTotalSubscriptions?: number;
  /**
   * How two results of `authenticate` are compared when a client resumes: a session is
   * resumed only for the identity that owns it (session-id.ts). @default defaultIdentify
   */
  readonly identify?: Identify;
  /** Answer a handler's unexpected exception with its message (still `ERR_INTERNAL`). @default false */
  readonly exposeErrors?: boolean;
  readonly codec?: Codec;
  readonly clock?: Clock;
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
  maxSubscriptions: 1_000,
  maxTotalSubscriptions: 1_000_000,
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
    limits = Object.freeze({
      ...serverSessionDefaults.delivery,
      ...options.delivery,
      // A message whose frame the client would refuse is never numbered and replayed.
      maxFrameSize: options.maxFrameSize ?? serverSessionDefaults.maxFrameSize,
    });
    limitsByOptions.set(options, limits);
  }
  return limits;
}

/**
 * A session shaped by a server's options (its delivery limits, clock and observer), for a
 * shared store that rebuilds a session another process had.
 */
export function createSessionState(id: string, options: ServerSessionOptions): SessionState {
  return new SessionState(id, deliveryLimits(options), options.clock ?? systemClock, options.observer);
}

/** The method a {@link Deadlines} calls on an entry whose time came (module-private). */
const DUE: unique symbol = Symbol('due');

/** An entry of a {@link Deadlines}. */
interface Timed {
  [DUE](): void;
}

/** The slot of an entry that is not scheduled. */
const UNSCHEDULED = -1;

/**
 * One timer for the deadlines of every session of a server (the HELLO deadline, then the
 * heartbeat), instead of a timer object and a callback per session: idle connections are
 * many, and a Node `Timeout` with its closure costs more than the rest of an idle session's
 * state. Deadlines are rounded up to slots of `resolution` ms; the sessions due in one slot
 * share one wake-up. Nothing fires early, nothing more than `resolution` ms late.
 */
class Deadlines {
  readonly #clock: Clock;
  readonly #resolution: number;
  /** Entries by slot (a deadline rounded up to the resolution, in units of it). */
  readonly #slots = new Map<number, Set<Timed>>();
  #timer: TimerHandle | undefined;
  #armed = Infinity;

  constructor(clock: Clock, resolution: number) {
    this.#clock = clock;
    this.#resolution = resolution;
  }

  /** Entries waiting (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.#slots.values()) n += set.size;
    return n;
  }

  /**
   * Calls `entry[DUE]()` in `ms` (rounded up to the resolution), instead of at the slot it
   * had (`previous`, from an earlier call, or UNSCHEDULED). Returns its new slot.
   */
  schedule(entry: Timed, ms: number, previous: number): number {
    this.cancel(entry, previous);
    const slot = Math.ceil((this.#clock.now() + ms) / this.#resolution);
    let set = this.#slots.get(slot);
    if (set === undefined) this.#slots.set(slot, (set = new Set()));
    set.add(entry);
    if (slot < this.#armed) this.#arm(slot);
    return slot;
  }

  /** Forgets `entry`, scheduled at `slot` (UNSCHEDULED: nothing to do). */
  cancel(entry: Timed, slot: number): void {
    if (slot === UNSCHEDULED) return;
    const set = this.#slots.get(slot);
    if (set === undefined || !set.delete(entry) || set.size > 0) return;
    this.#slots.delete(slot);
    // An emptied earliest slot keeps its wake-up: it finds nothing and arms for the next one.
    if (this.#slots.size === 0 && this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#armed = Infinity;
    }
  }

  #arm(slot: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#armed = slot;
    this.#timer = this.#clock.setTimeout(
      this.#fire,
      Math.max(1, slot * this.#resolution - this.#clock.now()),
    );
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#armed = Infinity;
    const current = Math.floor(this.#clock.now() / this.#resolution);
    const due: number[] = [];
    for (const slot of this.#slots.keys()) if (slot <= current) due.push(slot);
    due.sort((a, b) => a - b);
    let failure: { error: unknown } | undefined;
    for (const slot of due) {
      const set = this.#slots.get(slot)!;
      this.#slots.delete(slot);
      for (const entry of set) {
        // One entry that throws must not cost the others their deadline.
        try {
          entry[DUE]();
        } catch (error) {
          failure ??= { error };
        }
      }
    }
    let next = Infinity;
    for (const slot of this.#slots.keys()) if (slot < next) next = slot;
    if (next < this.#armed) this.#arm(next);
    if (failure !== undefined) throw failure.error;
  };
}

const deadlinesByOptions = new WeakMap<ServerSessionOptions, Deadlines>();

/**
 * The scheduler shared by the sessions made with `options` (one server). Its resolution is a
 * sixteenth of the shortest deadline, at most 250 ms: a heartbeat of 10 s + 5 s is checked
 * within 250 ms of its time, one of 150 ms within 9 ms.
 */
function deadlinesOf(options: ServerSessionOptions, clock: Clock): Deadlines {
  let deadlines = deadlinesByOptions.get(options);
  if (deadlines === undefined) {
    const shortest = Math.min(
      options.handshakeTimeout ?? serverSessionDefaults.handshakeTimeout,
      options.heartbeatInterval ?? serverSessionDefaults.heartbeatInterval,
      options.heartbeatTimeout ?? serverSessionDefaults.heartbeatTimeout,
    );
    const resolution = Math.min(250, Math.max(1, Math.floor(shortest / 16)));
    deadlines = new Deadlines(clock, resolution);
    deadlinesByOptions.set(options, deadlines);
  }
  return deadlines;
}

/**
 * `reconnectAfter` (ms) for a client turned away because too many resumes are being looked
 * up: drawn from `[LOOKUP_BUSY_RETRY, 2 × LOOKUP_BUSY_RETRY]`.
 */
const LOOKUP_BUSY_RETRY = 250;

/**
 * The server side of one connection: answers HELLO (version, authentication, resume),
 * then carries data, pub/sub, requests and heartbeats over the session's `Delivery`.
 */
export class ServerSession implements Timed {
  readonly #connection: ServerConnection;
  readonly #options: ServerSessionOptions;
  readonly #hooks: ServerSessionHooks | undefined;
  readonly #clock: Clock;
  readonly #codec: Codec;
  /** The server's scheduler: the HELLO deadline, then the heartbeat. */
  readonly #deadlines: Deadlines;
  #state: SessionState | null = null;
  #phase: 'handshake' | 'open' | 'closed' = 'handshake';
  /** This session's slot in `#deadlines`. */
  #slot = UNSCHEDULED;
  #lastHeard: number;
  #inFlight = 0;
  #pingNonce = 0;
  /** The HELLO's capability bits (docs/protocol.md §4.1). */
  #capabilities = 0;
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
    this.#deadlines = deadlinesOf(options, this.#clock);
    const deadline = options.handshakeTimeout ?? serverSessionDefaults.handshakeTimeout;
    this.#slot = this.#deadlines.schedule(this, deadline, UNSCHEDULED);
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
    const window = this.#options.resumeWindow ?? serverSessionDefaults.resumeWindow;
    this.#options.store.expire(
      state,
      window,
      this.#options.onSessionEnd && ((s) => this.#options.onSessionEnd?.(s, 'expired')),
    );
    this.#options.observer?.detached?.(state, window);
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

  /** Writes an encoded payload as a volatile DATA frame (see `sendVolatile`). */
  sendVolatilePayload(kind: PayloadKind, payload: Uint8Array): boolean {
    if (this.#phase !== 'open') return false;
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
    const wait = o.admission?.admit() ?? 0;
    if (wait > 0) {
      this.#defer('admission', 'server busy: come back later', wait);
      return;
    }
    let user: unknown;
    try {
      const hello: HelloInfo = { token: frame.token, versions: frame.versions, codec: frame.codec };
      // Called as methods: the hooks may be an object with methods on its prototype.
      const hooks = this.#hooks;
      user = await (hooks?.authenticate !== undefined ? hooks.authenticate(hello) : o.authenticate?.(hello));
    } catch (err) {
      // A refusal the application meant for the client (a SocklineError or RemoteError)
      // says why; any other exception may hold what the client must not see.
      const message = isSocklineMade(err)
        ? err.message
        : o.exposeErrors === true
          ? err instanceof Error
            ? err.message
            : String(err)
          : 'authentication failed';
      this.#refuse(ErrorCodes.AUTH_FAILED, message, [], CloseCodes.AUTH_FAILED);
      return;
    }
    if (this.#phase !== 'handshake') return;
    const store = o.store;
    const tag = this.#ownerTag(user);
    // The owner is part of the secret: a resume by another identity is refused before any
    // store is asked, so the owner's session (here or in another process) is not touched.
    const resume =
      frame.resume !== undefined && ownedBy(frame.resume.sessionId, tag) ? frame.resume : undefined;
    if (frame.resume !== undefined && resume === undefined) o.onResumeDenied?.();
    let state = resume ? store.get(resume.sessionId) : undefined;
    if (state === undefined && resume !== undefined && o.lookup !== undefined) {
      // Another process may have had the session: wait for it, under the handshake deadline
      // (the timer keeps running). A lookup that ends after the deadline leaves the session
      // in the store, waiting for the next attempt like any detached session.
      const lookup = o.lookup(resume.sessionId, resume.lastSeq);
      if (lookup === null) {
        // Spread over one more period, so the clients turned away together do not return together.
        const wait = Math.ceil(LOOKUP_BUSY_RETRY * (1 + Math.random()));
        this.#defer('lookup', 'too many resumes in progress', wait);
        return;
      }
      state = await lookup.catch(() => undefined);
      if (this.#phase !== 'handshake') return;
      state ??= store.get(resume.sessionId);
    }
    this.#clearTimer();
    const resumed = state !== undefined;
    if (state === undefined) {
      state = new SessionState(newSessionSecret(tag), deliveryLimits(o), this.#clock, o.observer);
      store.add(state);
      o.observer?.created?.(state);
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
    this.#capabilities = frame.capabilities;
    const interval = o.heartbeatInterval ?? serverSessionDefaults.heartbeatInterval;
    const timeout = o.heartbeatTimeout ?? serverSessionDefaults.heartbeatTimeout;
    const batch = (frame.capabilities & Capabilities.BATCH) !== 0 && this.#connection.batch?.() === true;
    this.#connection.send(
      encodeFrame({
        type: 'welcome',
        version,
        sessionId: state.id,
        resumed,
        batch,
        heartbeatInterval: interval,
        heartbeatTimeout: timeout,
        lastSeq: state.delivery.confirmed,
        maxFrameSize: o.maxFrameSize ?? serverSessionDefaults.maxFrameSize,
        maxInFlight: o.maxInFlight ?? serverSessionDefaults.maxInFlight,
        resumeWindow: o.resumeWindow ?? serverSessionDefaults.resumeWindow,
      }),
    );
    o.observer?.attached?.(state);
    state.delivery.attach(resumed ? resume!.lastSeq : 0);
    this.#slot = this.#deadlines.schedule(this, interval, this.#slot);
    if (this.#hooks?.onSession !== undefined) this.#hooks.onSession(state, resumed);
    else o.onSession?.(state, resumed);
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
          this.#options.hub.publish(frame.topic, frame.kind, frame.payload, state, frame.seq);
        else {
          // The application's handler failing is not the client's fault: the message counts
          // as received, the connection goes on, and the error stays here.
          try {
            this.#options.onMessage?.(value, state);
          } catch (err) {
            this.#report(err);
          }
          if (frame.seq !== undefined) this.#options.observer?.received?.(state, frame.seq);
        }
        return;
      }
      case 'ack':
        if (!state.delivery.acknowledged(frame.seq))
          throw new Error(`ack ${frame.seq} is above the last sequence number sent`);
        return;
      case 'subscribe': {
        validatePattern(frame.topic);
        if (state.subscriptions.has(frame.topic)) return;
        const over = this.#subscriptionLimit(state);
        if (over !== undefined) {
          this.#refuseSubscription(state, frame.topic, over);
          return;
        }
        state.subscribe(frame.topic);
        this.#options.observer?.subscribed?.(state, frame.topic);
        return;
      }
      case 'unsubscribe':
        if (state.unsubscribe(frame.topic)) this.#options.observer?.unsubscribed?.(state, frame.topic);
        return;
      case 'request':
        void this.#answer(frame, state);
        return;
      case 'ping':
        this.#connection.send(encodeFrame({ type: 'pong', nonce: frame.nonce }));
        return;
      case 'response':
        if (frame.error) this.#requests?.reject(frame.id, responseError(frame, this.#codec));
        else {
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
        response = await answerRequest(frame, handler && ((params) => handler(params, state)), this.#codec, {
          maxFrameSize: this.#options.maxFrameSize ?? serverSessionDefaults.maxFrameSize,
          exposeErrors: this.#options.exposeErrors === true,
          report: (err) => this.#report(err, state),
        });
      } finally {
        this.#inFlight--;
      }
    }
    if (this.#phase === 'open' && state.connection === this.#connection)
      this.#connection.send(encodeFrame(response));
  }

  /**
   * The deadline came (called by `#deadlines`): before the handshake, the HELLO is late;
   * after it, the heartbeat (docs/protocol.md §8): a PING every `heartbeatInterval`, and the
   * end of a connection silent for `heartbeatInterval + heartbeatTimeout`.
   */
  [DUE](): void {
    this.#slot = UNSCHEDULED;
    const o = this.#options;
    if (this.#phase === 'handshake') {
      const deadline = o.handshakeTimeout ?? serverSessionDefaults.handshakeTimeout;
      this.#fail(CloseCodes.HANDSHAKE_TIMEOUT, `no HELLO within ${deadline} ms`);
      return;
    }
    if (this.#phase !== 'open') return;
    const interval = o.heartbeatInterval ?? serverSessionDefaults.heartbeatInterval;
    const timeout = o.heartbeatTimeout ?? serverSessionDefaults.heartbeatTimeout;
    const silent = this.#clock.now() - this.#lastHeard;
    if (silent >= interval + timeout) {
      this.#fail(CloseCodes.HEARTBEAT_TIMEOUT, `no frame for ${silent} ms`);
      return;
    }
    this.#connection.send(encodeFrame({ type: 'ping', nonce: ++this.#pingNonce }));
    this.#slot = this.#deadlines.schedule(this, Math.min(interval, interval + timeout - silent), UNSCHEDULED);
  }

  /**
   * The owner tag of what `authenticate` returned. A user that cannot be identified gets a
   * tag no identity has: its session works, but can never be resumed (and that is reported).
   */
  #ownerTag(user: unknown): string {
    try {
      return ownerTag((this.#options.identify ?? defaultIdentify)(user));
    } catch (err) {
      this.#report(
        new TypeError(
          `cannot identify the user that authenticate returned, so its session cannot be resumed (give it an id, or pass identify): ${
            err instanceof Error ? err.message : String(err)
          }`,
          { cause: err },
        ),
        null,
      );
      return unmatchableTag();
    }
  }

  /** Why a new subscription of `state` is over a limit, or undefined when it is not. */
  #subscriptionLimit(state: SessionState): string | undefined {
    const o = this.#options;
    const perSession = o.maxSubscriptions ?? serverSessionDefaults.maxSubscriptions;
    if (state.subscriptions.size >= perSession)
      return `a session holds at most ${perSession} subscriptions (maxSubscriptions)`;
    const total = o.maxTotalSubscriptions ?? serverSessionDefaults.maxTotalSubscriptions;
    if (o.store.topics.size >= total)
      return `the server holds its most subscriptions, ${total} (maxTotalSubscriptions)`;
    return undefined;
  }

  /**
   * Refuses a SUBSCRIBE: the connection stays. A client that announced SUBREFUSE is told
   * (docs/protocol.md §4.12); an older one simply gets nothing for the pattern.
   */
  #refuseSubscription(state: SessionState, pattern: string, why: string): void {
    if ((this.#capabilities & Capabilities.SUBREFUSE) !== 0)
      this.#connection.send(
        encodeFrame({
          type: 'subrefuse',
          topic: pattern,
          code: ErrorCodes.TOO_MANY_SUBSCRIPTIONS,
          message: why,
        }),
      );
    this.#options.onSubscriptionRefused?.(state, pattern);
  }

  /** Application code failed (see `onError`): reported here, nothing of it goes on the wire. */
  #report(error: unknown, state: SessionState | null = this.#state): void {
    try {
      this.#options.onError?.(error, state);
    } catch {
      // The reporter itself failed: there is nowhere left to tell, and the session goes on.
    }
  }

  /** Answers the HELLO with "come back in `ms`" (CLOSE 1001 with `reconnectAfter`). */
  #defer(cause: 'admission' | 'lookup', reason: string, ms: number): void {
    this.#hooks?.turnedAway?.(cause);
    this.close(CloseCodes.GOING_AWAY, reason, ms);
  }

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
    this.#deadlines.cancel(this, this.#slot);
    this.#slot = UNSCHEDULED;
  }
}

/** The simplest hub: every session in one store, all in this process, no network between. */
export function localHub(store: SessionStore): Hub {
  return {
    publish(topic, kind, payload) {
      publishTo(store, topic, kind, payload);
    },
  };
}

/**
 * Queues a publish for every session of `store` with a matching subscription, once per
 * session, through the store's topic index (the cost follows the subscribers reached, not
 * the patterns held). `source` is its position on a shared bus. Returns how many sessions.
 */
export function publishTo(
  store: SessionStore,
  topic: string,
  kind: PayloadKind,
  payload: Uint8Array,
  source?: string,
): number {
  return store.topics.forEachMatch(topic, (state) => state.push(topic, kind, payload, source));
}

export type { OutgoingMessage, SentFrame };
