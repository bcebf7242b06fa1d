import type { TimerHandle } from '../../clock.js';
import type { SocklineError } from '../../errors.js';
import type { Delivery, OutgoingMessage } from '../endpoint/delivery.js';
import { Endpoint, type EndpointHost } from '../endpoint/endpoint.js';
import type { CloseFrame, PayloadKind } from '../frames.js';
import { topicMatches } from '../topics.js';
import { resolveServerSession, type ResolvedServerSession, type ServerSessionOptions } from './options.js';

/** The wire under one server-side session: one accepted connection, any transport. */
export interface ServerConnection {
  /** Writes one frame body; false when the connection's buffer is over its high-water mark. */
  send(frame: Uint8Array): boolean;
  /** Ends the connection (after the frames already written). */
  close(): void;
  /**
   * Optional: from now on, join the frames written in one tick into BATCH messages
   * (docs/protocol.md §1.1). Returns whether the connection does; absent means it does not.
   */
  batch?(): boolean;
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

/**
 * One session on the server, kept across connections for `resumeWindow` so it can be resumed:
 * its session endpoint (the protocol: delivery, requests, heartbeat), the client's
 * subscriptions, its user, and the connection that carries it now. It is the endpoint's
 * host: what the endpoint writes goes to `connection`, what it hears goes to the server's
 * hooks. Methods on the prototype, not closures per session: idle sessions are many.
 */
export class SessionState implements EndpointHost {
  readonly id: string;
  readonly endpoint: Endpoint;
  /** Made on the first subscribe: most sessions never subscribe, and an empty Set costs memory. */
  #subscriptions: Set<string> | null = null;
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

  /**
   * Queues a publish for this session's client if one of its patterns matches; `source` is
   * its position on a shared bus, if it came through one.
   */
  offer(topic: string, kind: PayloadKind, payload: Uint8Array, source?: string): boolean {
    if (this.#subscriptions === null) return false;
    for (const pattern of this.#subscriptions) {
      if (topicMatches(pattern, topic)) {
        this.delivery.enqueue({ topic, kind, payload, original: undefined, source }, Infinity);
        return true;
      }
    }
    return false;
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
  write(frame: Uint8Array): boolean {
    return this.connection?.send(frame) ?? false;
  }

  /** @internal */
  wake(at: number): void {
    this.carrier?.wake(at);
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
    options.onMessage?.(value, this);
    if (seq !== undefined) options.observer?.received?.(this, seq);
  }

  /** @internal */
  handler(method: string): ((params: unknown) => unknown) | undefined {
    const handler = this.server.options.handlers.get(method);
    return handler && ((params) => handler(params, this));
  }

  /** @internal */
  publish(topic: string, kind: PayloadKind, payload: Uint8Array, seq: number | undefined): void {
    this.server.options.hub.publish(topic, kind, payload, this, seq);
  }

  /** @internal */
  subscribed(pattern: string): void {
    this.subscribe(pattern);
    this.server.options.observer?.subscribed?.(this, pattern);
  }

  /** @internal */
  unsubscribed(pattern: string): void {
    this.unsubscribe(pattern);
    this.server.options.observer?.unsubscribed?.(this, pattern);
  }

  /** @internal What waited for a client that stays away is dropped by the overflow policy. */
  dropped(): void {}
}

/** ... and, for a shared store, through its observer and its write gate. */
class ObservedSessionState extends SessionState {
  override write(frame: Uint8Array, seq?: number): boolean {
    if (seq !== undefined && this.gate !== null && !this.gate.admit(seq, frame)) return true;
    return super.write(frame);
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
