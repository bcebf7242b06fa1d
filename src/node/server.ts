import { Emitter } from '../core/emitter.js';
import { unrefTimer, type Clock } from '../core/clock.js';
import { encodePayload, jsonCodec } from '../core/protocol/codec.js';
import { CloseCodes, FrameFlags, FrameTypes } from '../core/protocol/frames.js';
import { validateTopic } from '../core/protocol/topics.js';
import {
  localHub,
  MemorySessionStore,
  type SessionStore,
  ServerSession,
  type Hub,
  type ServerRequestHandler,
  type ServerSessionOptions,
  type SessionState,
} from '../core/protocol/server-session.js';
import { Peer, type PeerControl } from './peer.js';
import {
  resolveLimits,
  serverDefaults,
  type ResolvedLimits,
  type ServerMetrics,
  type ServerOptions,
} from './server-options.js';
import {
  listenTcp,
  listenTls,
  listenUdp,
  listenWs,
  type FrameSink,
  type ListenerHooks,
  type RunningListener,
  type Wire,
} from './server-listeners.js';
import { drainServer, type CloseOptions } from './server-drain.js';

export { Peer } from './peer.js';
export type { PeerEvents } from './peer.js';
export { serverDefaults } from './server-options.js';
export type { AuthenticateInfo, ServerMetrics, ServerOptions, ServerTransport } from './server-options.js';
export type { CloseOptions } from './server-drain.js';

export interface ServerEvents {
  [event: string]: (...args: never[]) => void;
  /**
   * A session this server has no Peer for completed its handshake: a new session, or
   * (`resumed`) one resumed from a shared store after a restart. Not emitted when a client of
   * this server resumes: its Peer lives on.
   */
  connection: (peer: Peer, info: { resumed: boolean }) => void;
  /** A session ended for good: client CLOSE, resume window over, `peer.close()`, server closed. */
  disconnect: (peer: Peer, info: { reason: 'close' | 'expired' | 'kicked' | 'server-close' }) => void;
  error: (error: Error) => void;
  metrics: (snapshot: ServerMetrics) => void;
}

/** URLs the listeners are bound to. */
export interface ServerAddresses {
  tcp?: string;
  tls?: string;
  ws?: string;
  udp?: string;
}

/** @internal One accepted connection. */
export interface Connection {
  readonly wire: Wire;
  session: ServerSession;
  pending: boolean;
}

export type ServerHandler = (params: unknown, peer: Peer) => unknown;

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

const codec = jsonCodec();

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
  readonly #handlers = new Map<string, ServerRequestHandler>();
  readonly #peers = new Map<string, Peer>();
  readonly #connections = new Set<Connection>();
  readonly #perIp = new Map<string, number>();
  readonly #control: PeerControl;
  readonly #sessionOptions: ServerSessionOptions;
  #pending = 0;
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
    resumes: 0,
    drops: 0,
    slowConsumers: 0,
  };

  constructor(options: ServerOptions = {}) {
    super();
    this.#options = options;
    this.#limits = resolveLimits(options);
    this.#ownStore = options.store === undefined;
    this.#store = options.store ?? new MemorySessionStore({ clock: unrefClock });
    this.#hub = localHub(this.#store);
    this.#control = {
      rooms: new Map(),
      end: (peer) => this.#end(peer, 'kicked'),
    };
    const l = this.#limits;
    this.#sessionOptions = {
      store: this.#store,
      hub: this.#hub,
      handlers: this.#handlers,
      onMessage: (value, state) => this.#peers.get(state.id)?.deliver(value),
      onSessionEnd: (state, reason) => {
        const peer = this.#peers.get(state.id);
        if (peer !== undefined && peer.state === state) this.#end(peer, reason);
      },
      heartbeatInterval: l.heartbeatInterval,
      heartbeatTimeout: l.heartbeatTimeout,
      handshakeTimeout: l.handshakeTimeout,
      resumeWindow: l.resumeWindow,
      maxInFlight: l.maxInFlight,
      maxFrameSize: l.maxFrameSize,
    };
  }

  /** Bound URLs, once `listen()` resolved. */
  get addresses(): ServerAddresses {
    return { ...this.#addresses };
  }

  /** Peers known to this server (connected or waiting for a resume), by session id. */
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
      accept: (wire) => this.#accept(wire),
      tlsFailure: () => void this.#counters.handshakeFailures++,
    };
    const max = this.#limits.maxFrameSize;
    try {
      if (o.tcp) this.#addresses.tcp = this.#started(await listenTcp(o.tcp, host, max, hooks));
      if (o.tls) this.#addresses.tls = this.#started(await listenTls(o.tls, host, max, hooks));
      if (o.ws)
        this.#addresses.ws = this.#started(await listenWs(o.ws, host, serverDefaults.wsPath, max, hooks));
      if (o.udp) this.#addresses.udp = this.#started(await listenUdp(o.udp, host, hooks));
    } catch (err) {
      await this.close();
      throw err;
    }
    const every = this.#limits.metricsInterval;
    if (every !== false) {
      this.#metricsTimer = setInterval(() => this.emit('metrics', this.metrics()), every);
      this.#metricsTimer.unref();
    }
    return this.addresses;
  }

  /** Answers `client.request(method, params)`; a thrown error's `code` reaches the client. */
  handle(method: string, handler: ServerHandler): this {
    this.#handlers.set(method, (params, state) => {
      const peer = this.#peers.get(state.id);
      const result = Promise.resolve().then(() => handler(params, peer!));
      if (peer !== undefined) {
        peer.inFlight.add(result);
        const done = (): void => void peer.inFlight.delete(result);
        result.then(done, done);
      }
      return result;
    });
    return this;
  }

  /**
   * Sends a value to every peer, or to the members of `room`. A `volatile` broadcast is never
   * queued or replayed: peers that are disconnected or over `maxOutboundBytes` miss it.
   */
  broadcast(value: unknown, options: { room?: string; volatile?: boolean } = {}): number {
    const targets = options.room === undefined ? this.#peers.values() : this.#control.rooms.get(options.room);
    if (targets === undefined) return 0;
    let count = 0;
    for (const peer of targets) {
      peer.send(value, { volatile: options.volatile });
      count++;
    }
    return count;
  }

  /** Publishes to a topic: every session whose subscription matches gets it, any transport. */
  publish(topic: string, value: unknown): void {
    validateTopic(topic);
    const { kind, payload } = encodePayload(value, codec);
    for (const state of this.#store.all()) state.offer(topic, kind, payload);
  }

  metrics(): ServerMetrics {
    const connections = { tcp: 0, tls: 0, ws: 0, udp: 0 };
    for (const c of this.#connections) connections[c.wire.transport]++;
    return { connections, sessions: this.#peers.size, ...this.#counters };
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
    if (this.#ownStore) this.#store.clear();
    this.#phase = 'closed';
  }

  #started(listener: RunningListener): string {
    this.#listeners.push(listener);
    return listener.url;
  }

  #accept(wire: Wire): FrameSink | null {
    const l = this.#limits;
    const ip = wire.remoteAddress;
    const fromIp = this.#perIp.get(ip) ?? 0;
    if (
      this.#phase !== 'listening' ||
      this.#connections.size >= l.maxConnections ||
      fromIp >= l.maxConnectionsPerIp ||
      this.#pending >= l.maxPendingHandshakes
    ) {
      this.#counters.rejected++;
      wire.destroy();
      return null;
    }
    this.#perIp.set(ip, fromIp + 1);
    this.#pending++;
    const counters = this.#counters;
    const auth = this.#options.authenticate;
    const conn: Connection = { wire, session: undefined as unknown as ServerSession, pending: true };
    // Slow-consumer policy: above maxOutboundBytes, volatile frames are dropped; staying above
    // it past writeDeadline ends the connection. The check runs on every write,
    // heartbeats included, so a peer that stops reading is found within a ping interval.
    let slowSince = 0;
    let slowKilled = false;
    conn.session = new ServerSession(
      {
        send(frame) {
          if (wire.bufferedAmount > l.maxOutboundBytes) {
            const now = Date.now();
            if (slowSince === 0) slowSince = now;
            else if (now - slowSince >= l.writeDeadline) {
              // A CLOSE 4008 could not get through the full buffer: the connection is dropped
              // and the session stays resumable for when the client reads again.
              if (!slowKilled) {
                slowKilled = true;
                counters.slowConsumers++;
                wire.destroy();
              }
              return false;
            }
            if (isVolatile(frame)) {
              counters.drops++;
              return false;
            }
          } else {
            slowSince = 0;
          }
          counters.messagesOut++;
          counters.bytesOut += frame.byteLength;
          return wire.send(frame);
        },
        close: () => wire.close(),
      },
      this.#sessionOptions,
      {
        authenticate: auth && ((hello) => auth(hello, { transport: wire.transport, remoteAddress: ip })),
        onSession: (state, resumed) => this.#onSession(conn, state, resumed),
      },
    );
    this.#connections.add(conn);
    return {
      receive(frame) {
        counters.messagesIn++;
        counters.bytesIn += frame.byteLength;
        conn.session.receive(frame);
      },
      closed: () => this.#drop(conn),
    };
  }

  /** The connection is gone (idempotent): release its counts, keep its session for resume. */
  #drop(conn: Connection): void {
    if (!this.#connections.delete(conn)) return;
    const ip = conn.wire.remoteAddress;
    const n = (this.#perIp.get(ip) ?? 1) - 1;
    if (n === 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, n);
    if (conn.pending) {
      conn.pending = false;
      this.#pending--;
      this.#counters.handshakeFailures++;
    }
    conn.session.closed();
  }

  #onSession(conn: Connection, state: SessionState, resumed: boolean): void {
    if (conn.pending) {
      conn.pending = false;
      this.#pending--;
    }
    if (resumed) this.#counters.resumes++;
    const { transport, remoteAddress } = conn.wire;
    const known = this.#peers.get(state.id);
    if (known !== undefined && known.state === state) {
      known.attach(conn.session, transport, remoteAddress);
      return;
    }
    const peer = new Peer(state, conn.session, transport, remoteAddress, this.#control);
    this.#peers.set(state.id, peer);
    this.#safely(() => this.emit('connection', peer, { resumed }));
  }

  #end(peer: Peer, reason: 'close' | 'expired' | 'kicked' | 'server-close', forget = true): void {
    if (this.#peers.get(peer.id) !== peer) return;
    this.#peers.delete(peer.id);
    if (forget) this.#store.delete(peer.id);
    peer.detach();
    this.#safely(() => this.emit('disconnect', peer, { reason }));
  }

  /** A throwing user listener must not break the connection that triggered it. */
  #safely(emit: () => void): void {
    try {
      emit();
    } catch (err) {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
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
/** A DATA or PUBLISH frame without a sequence number: a `volatile` message (docs/protocol.md). */
function isVolatile(frame: Uint8Array): boolean {
  const type = frame[0];
  return (
    (type === FrameTypes.data || type === FrameTypes.publish) && (frame[1]! & FrameFlags.SEQUENCED) === 0
  );
}

export function createServer(options: ServerOptions = {}): SocklineServer {
  return new SocklineServer(options);
}

export { CloseCodes };
