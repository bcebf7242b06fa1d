import { Emitter } from '../core/emitter.js';
import { encodePayload, jsonCodec } from '../core/protocol/codec.js';
import { CloseCodes } from '../core/protocol/frames.js';
import type { ServerSession, SessionState } from '../core/protocol/server-session.js';
import type { ServerTransport } from './server-options.js';

export interface PeerEvents {
  [event: string]: (...args: never[]) => void;
  /** A DATA message from the client (publishes go to topics, not here). */
  message: (value: unknown) => void;
}

const codec = jsonCodec();
const NO_ROOMS: ReadonlySet<string> = new Set();

/** What a {@link Peer} hears from its server; not for users. @internal */
export interface PeerControl {
  /** Ends the session for good (deletes it from the store, emits `disconnect`). */
  end(peer: Peer, reason: string): void;
  rooms: Map<string, Set<Peer>>;
}

/**
 * One client session on a {@link SocklineServer}, whatever its transport. It outlives the
 * connection: across a resume it is the same object, with `transport` and `remoteAddress`
 * of the latest connection. Messages sent while the client is away are delivered on resume.
 */
export class Peer extends Emitter<PeerEvents> {
  readonly #state: SessionState;
  readonly #control: PeerControl;
  /** Made on the first join: most peers never join a room, and an empty Set costs memory. */
  #rooms: Set<string> | null = null;
  #session: ServerSession;
  #transport: ServerTransport;
  #remoteAddress: string;
  /** Requests of this peer whose handler has not finished. */
  readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    state: SessionState,
    session: ServerSession,
    transport: ServerTransport,
    remoteAddress: string,
    control: PeerControl,
  ) {
    super();
    this.#state = state;
    this.#session = session;
    this.#transport = transport;
    this.#remoteAddress = remoteAddress;
    this.#control = control;
  }

  /** The session id (stable across resumes). */
  get id(): string {
    return this.#state.id;
  }

  get transport(): ServerTransport {
    return this.#transport;
  }

  get remoteAddress(): string {
    return this.#remoteAddress;
  }

  /** What `authenticate` returned for the latest handshake. */
  get user(): unknown {
    return this.#state.user;
  }

  /** Topic patterns the client subscribed to. */
  get subscriptions(): ReadonlySet<string> {
    return this.#state.subscriptions;
  }

  get rooms(): ReadonlySet<string> {
    return this.#rooms ?? NO_ROOMS;
  }

  /** Whether a connection carries the session right now. */
  get connected(): boolean {
    return this.#state.connection !== null;
  }

  /** @internal */
  get state(): SessionState {
    return this.#state;
  }

  /** Sends a value to the client, exactly once across its reconnects (queued while away). */
  /**
   * Sends a value to this client, exactly once across its reconnects. A `volatile` value is
   * written only if the client is connected and keeping up, and is never replayed.
   */
  send(value: unknown, options?: { volatile?: boolean }): void {
    if (options?.volatile) {
      this.#session.sendVolatile(value);
      return;
    }
    const { kind, payload } = encodePayload(value, codec);
    this.#state.delivery.enqueue({ topic: undefined, kind, payload, original: value }, Infinity);
  }

  /**
   * Ends the session: sends CLOSE (default 1000, "do not reconnect") and forgets the session.
   * With 1001 (GOING_AWAY) the client reconnects, but to a new session.
   */
  /**
   * Calls `method` on this client (handled there by `client.handle(method, fn)`). Rejects
   * with `ERR_CONNECTION_CLOSED` if the client is not connected or the connection drops.
   */
  request(
    method: string,
    params?: unknown,
    options?: { timeout?: number; signal?: AbortSignal },
  ): Promise<unknown> {
    return this.#session.request(method, params, options);
  }

  close(code: number = CloseCodes.NORMAL, reason = ''): void {
    this.#session.close(code, reason);
    this.#control.end(this, reason || 'closed by the server');
  }

  join(room: string): void {
    (this.#rooms ??= new Set()).add(room);
    let members = this.#control.rooms.get(room);
    if (members === undefined) this.#control.rooms.set(room, (members = new Set()));
    members.add(this);
  }

  leave(room: string): void {
    this.#rooms?.delete(room);
    const members = this.#control.rooms.get(room);
    members?.delete(this);
    if (members?.size === 0) this.#control.rooms.delete(room);
  }

  /** @internal A new connection carries the session (a resume). */
  attach(session: ServerSession, transport: ServerTransport, remoteAddress: string): void {
    this.#session = session;
    this.#transport = transport;
    this.#remoteAddress = remoteAddress;
  }

  /** @internal The connection currently carrying the session. */
  get serverSession(): ServerSession {
    return this.#session;
  }

  /** @internal */
  deliver(value: unknown): void {
    this.emit('message', value);
  }

  /** @internal Leaves every room; called when the session ends. */
  detach(): void {
    for (const room of [...(this.#rooms ?? NO_ROOMS)]) this.leave(room);
  }
}
