import type { TimerHandle } from '../../clock.js';
import type { SocklineError } from '../../errors.js';
import type { Delivery, OutgoingMessage } from '../endpoint/delivery.js';
import { BULK_WATERMARK } from '../endpoint/sequenced.js';
import { Endpoint, type EndpointHost } from '../endpoint/endpoint.js';
import type { CloseFrame, PayloadKind } from '../frames.js';
import { publicIdOf } from '../session-id.js';
import type { IncomingStream } from '../../streams/types.js';
import type { TopicIndex } from '../topic-index.js';
import {
  reportError,
  resolveServerSession,
  type ResolvedServerSession,
  type ServerSessionOptions,
} from './options.js';

/** The wire under one server-side session: one accepted connection, any transport. */
export interface ServerConnection {
  /**
   * Writes one frame body; false when the connection's buffer is over its high-water mark.
   * `volatile`: the frame may be lost (a datagram transport sends it unreliably).
   */
  send(frame: Uint8Array, volatile?: boolean): boolean;
  /**
   * Ends the connection (after the frames already written). `code` and `reason` are those of
   * the CLOSE frame just written, for a transport with a close code of its own: a WebSocket
   * closes with the same code (docs/protocol.md §1).
   */
  close(code?: number, reason?: string): void;
  /** Bytes written but not yet sent (counted in the server's memory budget); absent means 0. */
  readonly bufferedAmount?: number;
  /**
   * Optional: from now on, join the frames written in one tick into one message made by
   * `join` (a BATCH, docs/protocol.md §1.1). Returns whether the connection does; absent
   * means it does not.
   */
  batch?(join: (frames: readonly Uint8Array[], bytes: number) => Uint8Array): boolean;
}

/**
 * What a session needs of the connection that carries it now (the server role of that
 * connection, `ServerSession`): meet the endpoint's deadlines, and end when it must.
 */
export interface SessionCarrier {
  wake(at: number): void;
  /** The endpoint ended the connection (it wrote CLOSE `code`). */
  end(code: number, error: SocklineError): void;
  /** The client sent CLOSE. */
  peerClosed(frame: CloseFrame): void;
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

/** A payload this large may not fit one frame: `push` lets the endpoint decide. */
const LARGE_AT = 64 << 10;

/**
 * One session on the server, kept across connections for `resumeWindow` so it can be resumed:
 * its session endpoint (the protocol: delivery, requests, heartbeat), the client's
 * subscriptions, its user, and the connection that carries it now. It is the endpoint's
 * host: what the endpoint writes goes to `connection`, what it hears goes to the server's
 * hooks. Methods on the prototype, not closures per session: idle sessions are many.
 */
export class SessionState implements EndpointHost {
  /**
   * The resume secret (session-id.ts): the store's key, WELCOME's `sessionId`. Never shown
   * to anyone but the owning client; {@link publicId} is the name others may see.
   */
  readonly id: string;
  readonly endpoint: Endpoint;
  /** Made on the first subscribe: most sessions never subscribe, and an empty Set costs memory. */
  #subscriptions: Set<string> | null = null;
  /** The index of the store holding this session, where its subscriptions are matched. */
  #index: TopicIndex<SessionState> | null = null;
  #publicId: string | undefined;
  user: unknown;
  connection: ServerConnection | null = null;
  /** @internal The server role of `connection`. */
  carrier: SessionCarrier | null = null;
  expiry: TimerHandle | undefined;
  /** Set by a shared store that must persist frames before they are written. */
  gate: WriteGate | null = null;
  /** @internal The options of the server that carries the session (see `rebind`). */
  protected server: ResolvedServerSession;

  constructor(id: string, options: ServerSessionOptions) {
    this.id = id;
    this.server = resolveServerSession(options);
    this.endpoint = new Endpoint(this.server.endpoint, this);
    if (options.observer?.durable) this.delivery.holdAcks();
  }

  /** Sequence numbers, acks and replay of this session (the endpoint's). */
  get delivery(): Delivery {
    return this.endpoint.delivery;
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

  /**
   * Queues a publish (its subscriptions were matched by an index) or a broadcast (`topic`
   * undefined) for this session's client. One over a frame goes as a message stream to a client
   * that takes them; a client that does not (or cannot take it) misses it: `onMissed`, with the
   * typed error that says why.
   */
  push(topic: string | undefined, kind: PayloadKind, payload: Uint8Array, source?: string): void {
    if (payload.byteLength < LARGE_AT) {
      this.delivery.enqueue({ topic, kind, payload, original: undefined, source }, Infinity);
      return;
    }
    try {
      this.endpoint.post(topic, kind, payload);
    } catch (error) {
      this.server.options.onMissed?.(this, error as Error);
    }
  }

  /**
   * @internal A server other than the one that made this session carries it now (a restart
   * with the same store): its hooks, handlers and limits apply from here on.
   */
  rebind(options: ServerSessionOptions): void {
    const server = resolveServerSession(options);
    if (server === this.server) return;
    this.server = server;
    this.endpoint.configure(server.endpoint);
  }

  // --- EndpointHost: what the endpoint writes and tells ------------------------------------

  /** @internal */
  write(frame: Uint8Array, _seq?: number, volatile?: boolean): boolean {
    return this.connection?.send(frame, volatile) ?? false;
  }

  /** @internal */
  wake(at: number): void {
    this.carrier?.wake(at);
  }

  /** @internal */
  room(): number {
    return BULK_WATERMARK - (this.connection?.bufferedAmount ?? 0);
  }

  /** @internal A stream from the client: the application's, if it takes streams. */
  stream(stream: unknown): boolean {
    const onStream = this.server.options.onStream;
    if (onStream === undefined) return false;
    try {
      return onStream(stream as IncomingStream, this);
    } catch (err) {
      this.report(err);
      return true;
    }
  }

  /** @internal A REQUEST, RESPONSE or stream frame was received: a durable store confirms it. */
  received(seq: number): void {
    this.server.options.observer?.received?.(this, seq);
  }

  /** @internal */
  end(code: number, error: SocklineError): void {
    this.carrier?.end(code, error);
  }

  /** @internal */
  closed(frame: CloseFrame): void {
    this.carrier?.peerClosed(frame);
  }

  /** @internal */
  message(value: unknown, seq: number | undefined): void {
    const options = this.server.options;
    // The application's handler failing is not the client's fault: the message counts as
    // received, the connection goes on, and the error stays here.
    try {
      options.onMessage?.(value, this);
    } catch (err) {
      this.report(err);
    }
    if (seq !== undefined) options.observer?.received?.(this, seq);
  }

  /** @internal */
  handler(method: string): ((params: unknown) => unknown) | undefined {
    const handler = this.server.options.handlers.get(method);
    return handler && ((params) => handler(params, this));
  }

  /** @internal */
  queued(bytes: number): void {
    this.server.options.onQueued?.(bytes);
  }

  /** @internal */
  publish(topic: string, kind: PayloadKind, payload: Uint8Array, seq: number | undefined): void {
    this.server.options.hub.publish(topic, kind, payload, this, seq);
  }

  /** @internal A request handler threw something other than a RemoteError (answered `ERR_INTERNAL`). */
  handlerFailed(_method: string, error: unknown): void {
    this.report(error);
  }

  /**
   * @internal The client subscribed to a checked pattern: held, or refused by
   * `maxSubscriptions` / `maxTotalSubscriptions` (the reason is returned; the endpoint tells a
   * client that understands SUBREFUSE). A pattern the session holds already changes nothing.
   */
  subscribed(pattern: string): string | undefined {
    if (this.subscriptions.has(pattern)) return undefined;
    const { options, maxSubscriptions, maxTotalSubscriptions } = this.server;
    let over: string | undefined;
    if (this.subscriptions.size >= maxSubscriptions)
      over = `a session holds at most ${maxSubscriptions} subscriptions (maxSubscriptions)`;
    else if (options.store.topics.size >= maxTotalSubscriptions)
      over = `the server holds its most subscriptions, ${maxTotalSubscriptions} (maxTotalSubscriptions)`;
    if (over !== undefined) {
      options.onSubscriptionRefused?.(this, pattern);
      return over;
    }
    this.subscribe(pattern);
    options.observer?.subscribed?.(this, pattern);
    return undefined;
  }

  /** @internal */
  unsubscribed(pattern: string): void {
    if (this.unsubscribe(pattern)) this.server.options.observer?.unsubscribed?.(this, pattern);
  }

  /**
   * @internal Application code failed without it being the client's fault (see
   * `ServerSessionOptions.onError`): reported, and nothing of it goes on the wire.
   */
  report(error: unknown): void {
    reportError(this.server.options, error, this);
  }

  /** @internal What waited for a client that stays away is dropped by the overflow policy. */
  dropped(): void {}
}

/** ... and, for a shared store, through its observer and its write gate. */
class ObservedSessionState extends SessionState {
  override write(frame: Uint8Array, seq?: number, volatile?: boolean): boolean {
    if (seq !== undefined && this.gate !== null && !this.gate.admit(seq, frame)) return true;
    return super.write(frame, seq, volatile);
  }

  /** @internal */
  sent(seq: number, frame: Uint8Array, message: OutgoingMessage): void {
    this.server.options.observer?.sent?.(this, seq, frame, message);
  }

  /** @internal */
  trimmed(seq: number): void {
    this.server.options.observer?.acknowledged?.(this, seq);
  }
}

/**
 * A session shaped by a server's options (its delivery limits, clock, codec and observer):
 * for the server's own new sessions, and for a shared store that rebuilds a session another
 * process had.
 */
export function createSessionState(id: string, options: ServerSessionOptions): SessionState {
  return options.observer === undefined
    ? new SessionState(id, options)
    : new ObservedSessionState(id, options);
}
