import { hostname } from 'node:os';
import { Emitter } from '../core/emitter.js';
import { unrefTimer, type Clock } from '../core/clock.js';
import { taskClock } from './task-clock.js';
import { encodePayload, jsonCodec, type Codec } from '../core/protocol/codec.js';
import { ErrorCodes, SocklineError } from '../core/errors.js';
import type { IncomingStream } from '../core/streams/types.js';
import { TokenBucketAdmission } from '../core/protocol/admission.js';
import { CloseCodes } from '../core/protocol/frames.js';
import { validateTopic } from '../core/protocol/topics.js';
import { assertMessageFits } from '../core/protocol/frames-encode.js';
import {
  createSessionState,
  MemorySessionStore,
  publishTo,
  resolveServerSession,
  type SessionStore,
  type Hub,
  type ServerRequestHandler,
  type ServerSessionOptions,
  type SessionState,
} from '../core/protocol/server-session.js';
import { peerDriver, type Peer, type PeerControl } from './peer.js';
import {
  resolveLimits,
  serverDefaults,
  type ResolvedLimits,
  type ServerMetrics,
  type ServerOptions,
} from './server-options.js';
import {
  listenUdp,
  type FrameSink,
  type ListenerHooks,
  type RunningListener,
  type Wire,
} from './server-listeners.js';
import { listenStream } from './stream-listener.js';
import { listenWs } from './ws-listener.js';
import { ConnectionLimits, isRefusal, type Refusal, type Ticket } from './connection-limits.js';
import { TrustedProxies, validateProxyProtocol } from './trust-proxy.js';
import { drainServer, type CloseOptions } from './server-drain.js';
import { Connection, type ConnectionHost } from './server-connection.js';
import { MemoryBudget, MESSAGE_OVERHEAD } from './memory-budget.js';
import {
  memoryAdapter,
  validateAdapter,
  type Adapter,
  type AdapterHost,
  type AdapterState,
  type BusEntry,
} from './adapter.js';

export type { Peer, PeerEvents } from './peer.js';
export { serverDefaults } from './server-options.js';
export type { AuthenticateInfo, ServerMetrics, ServerOptions, ServerTransport } from './server-options.js';
export type { CloseOptions } from './server-drain.js';
export { memoryAdapter } from './adapter.js';
export type {
  Adapter,
  AdapterHost,
  AdapterMetrics,
  AdapterState,
  BusEntry,
  SessionSharing,
} from './adapter.js';

export interface ServerEvents {
  /**
   * A session this server has no Peer for completed its handshake: a new session, or
   * (`resumed`) one resumed from a shared store after a restart. Not emitted when a client of
   * this server resumes: its Peer lives on.
   */
  connection: (peer: Peer, info: { resumed: boolean }) => void;
  /**
   * A session ended here: client CLOSE, resume window over, `peer.close()`, server closed,
   * (`moved`) resumed by another process of the cluster, or (`shed`) shed by `maxBufferedBytes`.
   */
  disconnect: (peer: Peer, info: { reason: DisconnectReason }) => void;
  /**
   * A session was shed to bring the bytes held for all peers back under `maxBufferedBytes`
   * (it held the most): `bytes` and `messages` it held are gone. Its client gets CLOSE 4008
   * when it can still read, and `sessionlost` when it comes back. `peer` is undefined for a
   * session taken over from another process whose client has not come back yet.
   */
  shed: (peer: Peer | undefined, info: { bytes: number; messages: number }) => void;
  /**
   * The adapter's state changed: `degraded` when the shared medium (Redis) is unreachable
   * (local clients are still served; publishes are forwarded when it is back), `ok` again
   * once it is back and caught up. An `ok` with an `error` (`ERR_SESSION_LOST`): the medium
   * came back without data it had acknowledged (Redis restarted without persistence), and this
   * process's sessions were reset so their clients get `sessionlost` (docs/scaling.md).
   */
  adapter: (info: { state: AdapterState; error?: Error | undefined }) => void;
  /**
   * A client opened a stream (`client.openStream(meta)`): read it from `stream.readable`.
   * Without a listener every stream is refused (`ERR_NOT_SUPPORTED` at the client).
   *
   * @example
   * server.on('stream', async (stream, peer) => {
   *   await stream.readable.pipeTo(Writable.toWeb(fs.createWriteStream(stream.meta.name)));
   * });
   */
  stream: (stream: IncomingStream, peer: Peer) => void;
  /**
   * Application code failed, and the server went on: a listener of this server or of a
   * peer threw, a request handler threw something other than a `RemoteError` (its caller got
   * `ERR_INTERNAL`), `identify` could not identify a user. `peer` is the one concerned, when
   * there is one. Nothing of the error was sent to any client. An `error` listener that
   * throws is ignored.
   */
  error: (error: Error, peer?: Peer) => void;
  metrics: (snapshot: ServerMetrics) => void;
}

/** Why a session ended on this server (the `disconnect` event). */
export type DisconnectReason = 'close' | 'expired' | 'kicked' | 'server-close' | 'moved' | 'shed';

/** URLs the listeners are bound to. */
export interface ServerAddresses {
  tcp?: string;
  tls?: string;
  ws?: string;
  udp?: string;
}

export type { Connection } from './server-connection.js';

/**
 * Answers a request. `P` is what the handler expects as params (annotate the parameter;
 * nothing checks it, it comes from the network); the result, or what it resolves to, is
 * encoded by the codec.
 */
export type ServerHandler<P = unknown, R = unknown> = (params: P, peer: Peer) => R | Promise<R>;

/** Timers of the server's own store do not keep the process alive: they only forget sessions. */
const unrefClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    unrefTimer(handle);
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/** How this server makes and drives its Peers (none of it is a Peer's API). */
const peers = peerDriver();

let processSerial = 0;
/** This server's name in a cluster: host, pid and a random part (two servers may share a pid). */
function processId(): string {
  return `${hostname()}:${process.pid}:${(++processSerial).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * A sockline server: TCP, TLS, WebSocket and UDP listeners sharing one session store, one
 * hub and one set of request handlers, with one {@link Peer} per session whatever its transport.
 *
 * @example
 * const server = createServer({ tcp: { port: 7000 }, ws: { port: 8080 } });
 * server.on('connection', (peer) => peer.on('message', (m) => peer.send(m)));
 * server.handle('sum', ([a, b]) => a + b);
 * console.log(await server.listen()); // { tcp: 'tcp://127.0.0.1:7000', ws: 'ws://127.0.0.1:8080/' }
 * await server.close({ drain: true });
 */
export class SocklineServer extends Emitter<ServerEvents> {
  readonly #options: ServerOptions;
  readonly #limits: ResolvedLimits;
  readonly #store: SessionStore;
  readonly #ownStore: boolean;
  readonly #hub: Hub;
  readonly #adapter: Adapter;
  /** Rooms of sessions taken over from another process, joined when their Peer is made. */
  readonly #adoptedRooms = new Map<string, readonly string[]>();
  readonly #handlers = new Map<string, ServerRequestHandler>();
  readonly #peers = new Map<string, Peer>();
  readonly #connections = new Set<Connection>();
  /** Every connection from its first byte, against the global and per-address limits. */
  readonly #gate: ConnectionLimits;
  readonly #trust: TrustedProxies;
  readonly #control: PeerControl;
  readonly #sessionOptions: ServerSessionOptions;
  /** What every connection of this server shares (made once, not per connection). */
  readonly #connectionHost: ConnectionHost;
  /** `maxBufferedBytes`: the bytes held for all sessions together. */
  readonly #budget: MemoryBudget;
  /** How values are encoded for every peer (`options.codec`). */
  readonly #codec: Codec;
  #phase: 'idle' | 'listening' | 'closing' | 'closed' = 'idle';
  #listeners: RunningListener[] = [];
  #addresses: ServerAddresses = {};
  #metricsTimer: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;
  readonly #counters = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    handshakeFailures: 0,
    rejected: 0,
    proxyFailures: 0,
    admissionRefused: 0,
    resumes: 0,
    resumesDenied: 0,
    subscriptionsRefused: 0,
    shed: 0,
    drops: 0,
    slowConsumers: 0,
  };

  constructor(options: ServerOptions = {}) {
    super();
    this.#options = options;
    this.#limits = resolveLimits(options);
    this.#codec = options.codec ?? jsonCodec();
    this.#gate = new ConnectionLimits(this.#limits);
    this.#trust = new TrustedProxies(options.trustProxy);
    validateProxyProtocol(options, this.#trust);
    this.#ownStore = options.store === undefined;
    this.#store = options.store ?? new MemorySessionStore({ clock: unrefClock });
    if (options.adapter !== undefined) validateAdapter(options.adapter);
    const adapter = (this.#adapter = options.adapter ?? memoryAdapter());
    const sharing = adapter.sessions;
    this.#hub = {
      publish: (topic, kind, payload, from, seq) =>
        adapter.publish(
          { type: 'publish', topic, kind, payload },
          seq === undefined ? undefined : { state: from, seq },
        ),
    };
    this.#control = {
      rooms: new Map(),
      end: (peer) => this.#end(peer, 'kicked'),
      joined: sharing && ((peer, room) => sharing.joined(peers.state(peer), room)),
      left: sharing && ((peer, room) => sharing.left(peers.state(peer), room)),
    };
    const l = this.#limits;
    this.#sessionOptions = {
      store: this.#store,
      hub: this.#hub,
      observer: sharing,
      lookup: sharing && ((id, lastSeq) => sharing.lookup(id, lastSeq)),
      handlers: this.#handlers,
      onMessage: (value, state) => {
        const peer = this.#peers.get(state.publicId);
        if (peer !== undefined) peers.deliver(peer, value);
      },
      onError: (error, state) =>
        this.#report(error, state === null ? undefined : this.#peers.get(state.publicId)),
      onQueued: (bytes) => this.#budget.grew(bytes + MESSAGE_OVERHEAD),
      onSubscriptionRefused: () => void this.#counters.subscriptionsRefused++,
      // Counted, and told with the peer that missed it: the client is never told (no frame
      // says "a message was left out"), so the server's `error` event is where it shows.
      onMissed: (state, error) => {
        this.#counters.drops++;
        this.#report(error, this.#peers.get(state.publicId));
      },
      onStream: (stream, state) => this.#stream(stream, state),
      // What peers' large messages and streams would hold must fit in maxBufferedBytes with the
      // rest (what they hold is counted there too: `heldBytes`).
      budget: {
        reserve: (bytes) => this.#budget.measure() + bytes <= this.#limits.maxBufferedBytes,
        release: () => {},
      },
      maxMessageSize: l.maxMessageSize,
      maxStreams: l.maxStreams,
      streamWindow: l.streamWindow,
      onResumeDenied: () => void this.#counters.resumesDenied++,
      onSessionEnd: (state, reason) => {
        if (reason === 'expired') return this.#expired(state);
        const peer = this.#peers.get(state.publicId);
        if (peer !== undefined && peers.state(peer) === state) this.#end(peer, reason);
      },
      heartbeatInterval: l.heartbeatInterval,
      heartbeatTimeout: l.heartbeatTimeout,
      handshakeTimeout: l.handshakeTimeout,
      resumeWindow: l.resumeWindow,
      maxInFlight: l.maxInFlight,
      maxFrameSize: l.maxFrameSize,
      requestTimeout: l.requestTimeout,
      codec: this.#codec,
      maxSubscriptions: l.maxSubscriptions,
      maxTotalSubscriptions: l.maxTotalSubscriptions,
      exposeErrors: l.exposeErrors,
      clock: taskClock,
      ...(options.identify !== undefined ? { identify: options.identify } : {}),
      // A client is never told to wait longer than half the time its session is kept.
      admission:
        l.admission === false
          ? undefined
          : new TokenBucketAdmission({ ...l.admission, maxWait: l.resumeWindow / 2 }),
    };
    // Resolved now, once for all sessions: a value the handshake cannot announce (an infinite
    // maxInFlight or heartbeat) throws here, naming the option, not at the first connection.
    resolveServerSession(this.#sessionOptions);
    this.#connectionHost = {
      counters: this.#counters,
      limits: l,
      sessionOptions: this.#sessionOptions,
      authenticate: options.authenticate,
      opened: (conn, state, resumed) => this.#onSession(conn, state, resumed),
      deferred: (conn, cause) => this.#turnedAway(conn, cause),
      dropped: (conn) => this.#drop(conn),
    };
    this.#budget = new MemoryBudget(l.maxBufferedBytes, {
      sessions: () => this.#store.all(),
      shed: (state, bytes) => this.#shed(state, bytes),
    });
  }

  /** Bound URLs, once `listen()` resolved. */
  get addresses(): ServerAddresses {
    return { ...this.#addresses };
  }

  /**
   * Peers known to this server (connected or waiting for a resume), by `peer.id` (the public
   * id of the session, not the client's resume secret).
   */
  get peers(): ReadonlyMap<string, Peer> {
    return this.#peers;
  }

  get store(): SessionStore {
    return this.#store;
  }

  /** Starts every configured listener; resolves with their URLs. */
  async listen(): Promise<ServerAddresses> {
    if (this.#phase !== 'idle') throw new Error(`listen() called on a server that is ${this.#phase}`);
    this.#phase = 'listening';
    const o = this.#options;
    const host = serverDefaults.host;
    const hooks: ListenerHooks = {
      maxFrameSize: this.#limits.maxFrameSize,
      handshakeTimeout: this.#limits.handshakeTimeout,
      trust: this.#trust,
      reserve: (address) => this.#reserve(address),
      locate: (ticket, address) => this.#locate(ticket, address),
      accept: (wire) => this.#accept(wire),
      failed: (stage) => {
        this.#counters.handshakeFailures++;
        if (stage === 'proxy') this.#counters.proxyFailures++;
      },
    };
    try {
      await this.#adapter.open(this.#adapterHost());
      if (o.tcp) this.#addresses.tcp = this.#started(await listenStream('tcp', o.tcp, host, hooks));
      if (o.tls) this.#addresses.tls = this.#started(await listenStream('tls', o.tls, host, hooks));
      if (o.ws) this.#addresses.ws = this.#started(await listenWs(o.ws, host, serverDefaults.wsPath, hooks));
      if (o.udp) this.#addresses.udp = this.#started(await listenUdp(o.udp, host, hooks));
    } catch (err) {
      await this.close();
      throw err;
    }
    this.#budget.start();
    const every = this.#limits.metricsInterval;
    if (every !== false) {
      this.#metricsTimer = setInterval(() => this.#safely(() => this.emit('metrics', this.metrics())), every);
      this.#metricsTimer.unref();
    }
    return this.addresses;
  }

  /**
   * Answers `client.request(method, params)` with what `handler` returns or resolves. To
   * answer with an error the caller can act on, throw a `RemoteError(code, message, { data })`:
   * the caller's promise rejects with that code, message and data. Any other exception is
   * answered `ERR_INTERNAL` without its message (unless `exposeErrors`) and emitted as
   * `error` with the peer.
   */
  handle<P = unknown, R = unknown>(method: string, handler: ServerHandler<P, R>): this {
    this.#handlers.set(method, (params, state) => {
      const peer = this.#peers.get(state.publicId);
      const result = Promise.resolve().then(() => handler(params as P, peer!));
      if (peer !== undefined) peers.track(peer, result);
      return result;
    });
    return this;
  }

  /**
   * Sends a value to every peer, or to the members of `room`. A `volatile` broadcast is never
   * queued or replayed: peers that are disconnected or over `maxOutboundBytes` miss it.
   */
  /**
   * With an adapter that spans processes, every process delivers the broadcast to its own
   * peers; the count returned is this process's.
   */
  broadcast(value: unknown, options: { room?: string; volatile?: boolean } = {}): number {
    const { room } = options;
    const volatile = options.volatile === true;
    const local = room === undefined ? this.#peers.size : (this.#control.rooms.get(room)?.size ?? 0);
    const { kind, payload } = encodePayload(value, this.#codec);
    if (volatile) assertMessageFits(undefined, payload, this.#limits.maxFrameSize);
    else this.#assertMessageSize(payload);
    this.#adapter.publish({ type: 'broadcast', room, volatile, kind, payload });
    return local;
  }

  /**
   * Publishes to a topic: every session whose subscription matches gets it, any transport
   * (and, through the adapter, any process). One over `maxFrameSize` (up to `maxMessageSize`)
   * goes as a stream of frames to the clients that take them; the others miss it (`drops`).
   */
  publish(topic: string, value: unknown): void {
    validateTopic(topic);
    const { kind, payload } = encodePayload(value, this.#codec);
    this.#assertMessageSize(payload);
    this.#adapter.publish({ type: 'publish', topic, kind, payload });
  }

  #assertMessageSize(payload: Uint8Array): void {
    const max = this.#limits.maxMessageSize;
    if (payload.byteLength > max) {
      throw new SocklineError(
        ErrorCodes.MESSAGE_TOO_LARGE,
        `message of ${payload.byteLength} bytes is over maxMessageSize (${max} bytes)`,
      );
    }
  }

  /** A client opened a stream: the application's `stream` event, when it listens. */
  #stream(stream: IncomingStream, state: SessionState): boolean {
    const peer = this.#peers.get(state.publicId);
    if (peer === undefined || peers.state(peer) !== state || this.listenerCount('stream') === 0) return false;
    this.#safely(() => this.emit('stream', stream, peer), peer);
    return true;
  }

  metrics(): ServerMetrics {
    const connections = { tcp: 0, tls: 0, ws: 0, udp: 0 };
    for (const c of this.#connections) connections[c.wire.transport]++;
    return {
      connections,
      sessions: this.#peers.size,
      ...this.#counters,
      bufferedBytes: this.#budget.measure(),
      pendingHandshakes: this.#gate.pending,
      adapter: this.#adapter.metrics(),
    };
  }

  /**
   * Stops the server. Without `drain`, every connection is dropped at once (sessions stay in a
   * shared store for resume). With `drain`, see {@link CloseOptions}. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options);
    return this.#closing;
  }

  async #close(options: CloseOptions): Promise<void> {
    this.#phase = 'closing';
    clearInterval(this.#metricsTimer);
    this.#budget.stop();
    for (const l of this.#listeners) l.stopAccepting();
    if (options.drain === true) {
      await drainServer([...this.#peers.values()], this.#connections, options);
    }
    for (const c of [...this.#connections]) {
      c.wire.destroy();
      this.#drop(c);
    }
    await Promise.all(this.#listeners.map((l) => l.close()));
    for (const peer of [...this.#peers.values()]) this.#end(peer, 'server-close', false);
    // After the connections: their sessions' last state is flushed to the shared store.
    await this.#adapter.close();
    if (this.#ownStore) this.#store.clear();
    this.#phase = 'closed';
  }

  /** What the adapter may do to this server: deliver bus entries, adopt sessions, report health. */
  #adapterHost(): AdapterHost {
    return {
      id: processId(),
      resumeWindow: this.#limits.resumeWindow,
      deliver: (entry, source) => this.#deliver(entry, source),
      enqueue: (state, entry, source) => {
        if (entry.type === 'broadcast' && entry.volatile) return;
        const topic = entry.type === 'publish' ? entry.topic : undefined;
        this.#budget.grew(entry.payload.byteLength + MESSAGE_OVERHEAD);
        state.push(topic, entry.kind, entry.payload, source);
      },
      createState: (id) => createSessionState(id, this.#sessionOptions),
      adopt: (state, rooms) => {
        this.#store.add(state);
        this.#store.expire(state, this.#limits.resumeWindow, (s) => this.#expired(s));
        if (rooms.length > 0) this.#adoptedRooms.set(state.id, rooms);
      },
      sessions: () => this.#store.all(),
      roomsOf: (state) => this.#peers.get(state.publicId)?.rooms ?? [],
      moved: (id) => this.#moved(id),
      health: (state, error) => this.#safely(() => this.emit('adapter', { state, error })),
      error: (error) => this.emit('error', error),
    };
  }

  /**
   * An entry from the adapter, for this process's sessions. A publish goes through the
   * store's topic index: its cost follows the sessions it reaches, not the patterns held.
   */
  #deliver(entry: BusEntry, source: string | undefined): void {
    const cost = entry.payload.byteLength + MESSAGE_OVERHEAD;
    if (entry.type === 'publish') {
      const reached = publishTo(this.#store, entry.topic, entry.kind, entry.payload, source);
      this.#budget.grew(reached * cost);
      return;
    }
    const members = entry.room === undefined ? undefined : this.#control.rooms.get(entry.room);
    if (entry.room !== undefined && members === undefined) return;
    if (!entry.volatile) this.#budget.grew(cost * (members?.size ?? this.#peers.size));
    for (const peer of members ?? this.#peers.values()) {
      if (entry.volatile) peers.session(peer).sendVolatilePayload(entry.kind, entry.payload);
      else peers.state(peer).push(undefined, entry.kind, entry.payload, source);
    }
  }

  /** A session's resume window ended without a resume. */
  #expired(state: SessionState): void {
    this.#adoptedRooms.delete(state.id);
    const peer = this.#peers.get(state.publicId);
    if (peer !== undefined && peers.state(peer) === state) this.#end(peer, 'expired');
    else if (peer === undefined) this.#adapter.sessions?.ended(state);
  }

  /** Another process resumed this session: let go of it here, quietly. */
  #moved(id: string): void {
    const state = this.#store.get(id);
    if (state === undefined) return;
    for (const c of this.#connections) {
      if (c.session.session === state) {
        c.wire.destroy();
        this.#drop(c);
      }
    }
    this.#adoptedRooms.delete(id);
    this.#store.delete(id);
    const peer = this.#peers.get(state.publicId);
    if (peer !== undefined && peers.state(peer) === state) this.#end(peer, 'moved', false);
  }

  /**
   * Ends a session for good to bring the bytes held for all peers back under
   * `maxBufferedBytes` (called by the budget, largest holders first): its connection ends
   * (CLOSE 4008 if the client can still read it), everything it held is freed, its shared
   * record (if any) goes, and the application is told (`shed`, then `disconnect`).
   */
  #shed(state: SessionState, bytes: number): void {
    const messages = state.delivery.outstanding;
    this.#counters.shed++;
    const conn = state.connection;
    if (conn instanceof Connection) conn.shed('shed: over the server memory budget (maxBufferedBytes)');
    const peer = this.#peers.get(state.publicId);
    const own = peer !== undefined && peers.state(peer) === state ? peer : undefined;
    this.#safely(() => this.emit('shed', own, { bytes, messages }), own);
    if (own !== undefined) {
      this.#end(own, 'shed');
      return;
    }
    this.#adoptedRooms.delete(state.id);
    this.#store.delete(state.id);
    this.#adapter.sessions?.ended(state);
  }

  #started(listener: RunningListener): string {
    this.#listeners.push(listener);
    return listener.url;
  }

  /** A connection's first byte: counted in the limits (by its address once known), or refused. */
  #reserve(address: string | null): Ticket | Refusal {
    const reserved =
      this.#phase === 'listening' ? this.#gate.reserve(address) : this.#gate.refusal('closing');
    if (isRefusal(reserved)) this.#counters.rejected++;
    return reserved;
  }

  /** A trusted proxy named the client of a reserved connection. */
  #locate(ticket: Ticket, address: string): Refusal | undefined {
    const refusal = ticket.locate(address);
    if (refusal !== undefined) this.#counters.rejected++;
    return refusal;
  }

  /** A connection whose steps before the HELLO are done (it holds a ticket): its session starts. */
  #accept(wire: Wire): FrameSink | null {
    if (this.#phase !== 'listening') {
      this.#counters.rejected++;
      wire.ticket.release();
      wire.destroy();
      return null;
    }
    // Counters, slow-consumer policy and session hooks live in one object per connection.
    const conn = new Connection(wire, this.#connectionHost);
    this.#connections.add(conn);
    return conn;
  }

  /** The connection is gone (idempotent): release its counts, keep its session for resume. */
  #drop(conn: Connection): void {
    if (!this.#connections.delete(conn)) return;
    conn.guard?.dispose();
    conn.wire.ticket.release();
    if (conn.pending) {
      conn.pending = false;
      if (!conn.deferred) this.#counters.handshakeFailures++;
    }
    conn.session.closed();
  }

  /** The HELLO was told to come back later: its connection ends, and not as a failure. */
  #turnedAway(conn: Connection, cause: 'admission' | 'lookup'): void {
    conn.deferred = true;
    if (cause === 'admission') this.#counters.admissionRefused++;
  }

  #onSession(conn: Connection, state: SessionState, resumed: boolean): void {
    if (conn.pending) {
      conn.pending = false;
      conn.wire.ticket.opened();
    }
    if (resumed) this.#counters.resumes++;
    const known = this.#peers.get(state.publicId);
    if (known !== undefined && peers.state(known) === state) {
      peers.attach(known, conn);
      return;
    }
    const peer = peers.create(state, conn, this.#control);
    this.#peers.set(state.publicId, peer);
    const rooms = this.#adoptedRooms.get(state.id);
    if (rooms !== undefined) {
      this.#adoptedRooms.delete(state.id);
      for (const room of rooms) peer.join(room);
    }
    this.#safely(() => this.emit('connection', peer, { resumed }), peer);
  }

  #end(peer: Peer, reason: DisconnectReason, forget = true): void {
    if (this.#peers.get(peer.id) !== peer) return;
    this.#peers.delete(peer.id);
    if (forget) {
      const state = peers.state(peer);
      this.#store.delete(state.id);
      this.#adapter.sessions?.ended(state);
    }
    peers.detach(peer);
    this.#safely(() => this.emit('disconnect', peer, { reason }), peer);
  }

  /** A throwing user listener must not break the connection that triggered it. */
  #safely(emit: () => void, peer?: Peer): void {
    try {
      emit();
    } catch (err) {
      this.#report(err, peer);
    }
  }

  /** Application code failed: the `error` event, and nothing more (never the wire). */
  #report(error: unknown, peer: Peer | undefined): void {
    try {
      this.emit('error', error instanceof Error ? error : new Error(String(error)), peer);
    } catch {
      // An `error` listener that throws: there is nowhere left to report it.
    }
  }
}

/**
 * Creates a server; nothing listens until `listen()`.
 *
 * @example
 * const server = createServer({ tcp: {}, ws: {}, udp: { reliable: true } });
 * const { tcp, ws, udp } = await server.listen();
 */
export function createServer(options: ServerOptions = {}): SocklineServer {
  return new SocklineServer(options);
}

export { CloseCodes };
