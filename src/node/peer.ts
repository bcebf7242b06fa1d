import { Emitter } from '../core/emitter.js';
import { CloseCodes } from '../core/protocol/frames.js';
import type { ServerSession, SessionState } from '../core/protocol/server-session.js';
import type { OutgoingStream, StreamMeta, StreamOptions } from '../core/streams/types.js';
import type { ServerTransport } from './server-options.js';

export interface PeerEvents {
  /** A DATA message from the client (publishes go to topics, not here). */
  message: (value: unknown) => void;
}

const NO_ROOMS: ReadonlySet<string> = new Set();
const NO_REQUESTS: ReadonlySet<Promise<unknown>> = new Set();

/**
 * The connection that carries a peer's session now: its server role and its wire (the
 * server's `Connection`). A peer reads its transport and address there rather than keeping
 * copies of its own.
 */
export interface PeerConnection {
  readonly session: ServerSession;
  readonly wire: { readonly transport: ServerTransport; readonly remoteAddress: string };
}

/** What a {@link Peer} hears from its server. */
export interface PeerControl {
  /** Ends the session for good (deletes it from the store, emits `disconnect`). */
  end(peer: Peer, reason: string): void;
  rooms: Map<string, Set<Peer>>;
  /** The peer joined a room (a shared adapter records it for a resume elsewhere). */
  joined?: ((peer: Peer, room: string) => void) | undefined;
  /** The peer left a room on its own account (not when its session ends). */
  left?: ((peer: Peer, room: string) => void) | undefined;
}

/**
 * How a server makes and drives its Peers: the session a Peer stands for, the connection that
 * carries it now, the requests its handlers run, and its end. Held by this module and handed
 * to the server only (`peerDriver()`), so none of it is part of a Peer's API.
 */
export interface PeerDriver {
  create(state: SessionState, connection: PeerConnection, control: PeerControl): Peer;
  /** The session the peer stands for. */
  state(peer: Peer): SessionState;
  /** The server role of the connection carrying the session now. */
  session(peer: Peer): ServerSession;
  /** Requests of the peer whose handler has not finished (a drain waits for them). */
  inFlight(peer: Peer): ReadonlySet<Promise<unknown>>;
  /** Counts `request` in `inFlight` until it settles. */
  track(peer: Peer, request: Promise<unknown>): void;
  /** A new connection carries the session (a resume). */
  attach(peer: Peer, connection: PeerConnection): void;
  /** A message from the client, for the application. */
  deliver(peer: Peer, value: unknown): void;
  /**
   * The session ended on this server: the peer leaves every room here. A shared record keeps
   * its rooms (the session may go on in another process).
   */
  detach(peer: Peer): void;
}

let driver: PeerDriver;

/**
 * One client session on a {@link SocklineServer}, whatever its transport. It outlives the
 * connection: across a resume it is the same object, with `transport` and `remoteAddress`
 * of the latest connection. Messages sent while the client is away are delivered on resume.
 * Made by the server only.
 *
 * @example
 * server.on('connection', (peer) => {
 *   peer.join('lobby');
 *   peer.on('message', (value) => peer.send({ echo: value }));
 * });
 */
export class Peer extends Emitter<PeerEvents> {
  readonly #state: SessionState;
  readonly #control: PeerControl;
  /** Made on the first join: most peers never join a room, and an empty Set costs memory. */
  #rooms: Set<string> | null = null;
  #connection: PeerConnection;
  /** Made on the first request: most peers have none in flight most of the time. */
  #inFlight: Set<Promise<unknown>> | null = null;

  static {
    driver = {
      create: (state, connection, control) => new Peer(state, connection, control),
      state: (peer) => peer.#state,
      session: (peer) => peer.#connection.session,
      inFlight: (peer) => peer.#inFlight ?? NO_REQUESTS,
      track(peer, request) {
        const inFlight = (peer.#inFlight ??= new Set());
        inFlight.add(request);
        const done = (): void => void inFlight.delete(request);
        request.then(done, done);
      },
      attach(peer, connection) {
        peer.#connection = connection;
      },
      deliver: (peer, value) => peer.emit('message', value),
      detach(peer) {
        for (const room of [...(peer.#rooms ?? NO_ROOMS)]) peer.#leave(room);
      },
    };
  }

  private constructor(state: SessionState, connection: PeerConnection, control: PeerControl) {
    super();
    this.#state = state;
    this.#connection = connection;
    this.#control = control;
  }

  /**
   * The session's public id: stable across resumes, safe to show to other clients. It is not
   * the client's `sessionId` (its resume secret), and cannot be used to resume the session.
   */
  get id(): string {
    return this.#state.publicId;
  }

  get transport(): ServerTransport {
    return this.#connection.wire.transport;
  }

  get remoteAddress(): string {
    return this.#connection.wire.remoteAddress;
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

  /**
   * Sends a value to this client, exactly once across its reconnects. A `volatile` value is
   * written only if the client is connected and keeping up, and is never replayed. A value
   * over the server's `maxFrameSize` goes as a stream of frames, up to the client's
   * `maxMessageSize`, to a client that uses `sockline/streams`; otherwise it throws
   * `ERR_FRAME_TOO_LARGE` (and `ERR_MESSAGE_TOO_LARGE` over `maxMessageSize`).
   */
  send(value: unknown, options?: { volatile?: boolean }): void {
    this.#state.endpoint.send(undefined, value, options?.volatile === true, Infinity);
  }

  /**
   * Calls `method` on this client (handled there by `client.handle(method, fn)`). It rides the
   * session like a message: made while the client is away it waits for it (within `timeout`),
   * written before a reconnect it is answered after it, and the client's handler runs once.
   * Rejects with `ERR_REQUEST_TIMEOUT` (default `requestTimeout`), `ERR_ABORTED`, the client's
   * error, or `ERR_SESSION_LOST` when the session ends first; `error.sent` says whether the
   * request had left the server.
   */
  request<T = unknown>(
    method: string,
    params?: unknown,
    options?: { timeout?: number; signal?: AbortSignal },
  ): Promise<T> {
    return this.#state.endpoint.request(method, params, options) as Promise<T>;
  }

  /**
   * Opens a stream to this client, which gets it as its `stream` event (it must use
   * `sockline/streams`, else `ERR_NOT_SUPPORTED`): see `client.openStream`.
   *
   * @example
   * const download = peer.openStream({ name: 'report.pdf', size, type: 'application/pdf' });
   * await Readable.toWeb(fs.createReadStream('report.pdf')).pipeTo(download.writable);
   */
  openStream(meta: StreamMeta = {}, options?: StreamOptions): OutgoingStream {
    return this.#state.endpoint.openStream(meta, options) as OutgoingStream;
  }

  /**
   * Ends the session: sends CLOSE (default 1000, "do not reconnect": the client closes) and
   * forgets the session. With 1001 (GOING_AWAY) the client reconnects, but to a new session.
   */
  close(code: number = CloseCodes.NORMAL, reason = ''): void {
    this.#connection.session.close(code, reason);
    this.#control.end(this, reason || 'closed by the server');
  }

  /** Joins a room: `server.broadcast(value, { room })` reaches it, on any process of a cluster. */
  join(room: string): void {
    if (this.#rooms?.has(room)) return;
    (this.#rooms ??= new Set()).add(room);
    let members = this.#control.rooms.get(room);
    if (members === undefined) this.#control.rooms.set(room, (members = new Set()));
    members.add(this);
    this.#control.joined?.(this, room);
  }

  leave(room: string): void {
    if (!this.#leave(room)) return;
    this.#control.left?.(this, room);
  }

  #leave(room: string): boolean {
    if (this.#rooms?.delete(room) !== true) return false;
    const members = this.#control.rooms.get(room);
    members?.delete(this);
    if (members?.size === 0) this.#control.rooms.delete(room);
    return true;
  }
}

/** The {@link PeerDriver} of every Peer: for the server that makes them, and no one else. */
export function peerDriver(): PeerDriver {
  return driver;
}
