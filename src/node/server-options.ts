import type * as http from 'node:http';
import type * as https from 'node:https';
import type { Codec } from '../core/protocol/codec.js';
import type { HelloInfo, SessionStore } from '../core/protocol/server-session.js';
import { serverSessionDefaults } from '../core/protocol/server-session.js';
import { admissionDefaults, validateAdmission, type AdmissionOptions } from '../core/protocol/admission.js';
import type { Adapter, AdapterMetrics } from './adapter.js';

/** The transports a {@link SocklineServer} accepts. */
export type ServerTransport = 'tcp' | 'tls' | 'ws' | 'udp';

/** What `authenticate` learns about the connection besides the HELLO. */
export interface AuthenticateInfo {
  readonly transport: ServerTransport;
  readonly remoteAddress: string;
}

/** Options of {@link createServer}. Each listener is optional; port 0 picks a free port. */
export interface ServerOptions {
  /** Raw TCP with u32 length framing. */
  readonly tcp?: { port?: number; host?: string };
  /** TLS over TCP, same framing. `cert`/`key`/`ca` are PEM strings or buffers. */
  readonly tls?: {
    port?: number;
    host?: string;
    cert: string | Buffer;
    key: string | Buffer;
    ca?: string | Buffer | Array<string | Buffer>;
  };
  /**
   * WebSocket, on its own port or attached to `server` at `path`. `origins` is an allow-list
   * of `Origin` headers; any other origin is answered 403. Clients that send no Origin
   * (non-browsers) are let through.
   */
  readonly ws?: {
    port?: number;
    host?: string;
    /** @default '/' */
    path?: string;
    server?: http.Server | https.Server;
    origins?: readonly string[];
  };
  /**
   * UDP through the datagram layer (docs/udp.md); `reliable` forces the channel mode;
   * `recvBufferSize`/`sendBufferSize` size the socket's kernel buffers, in bytes (default 4 MiB
   * each, capped by the kernel).
   */
  readonly udp?: {
    port?: number;
    host?: string;
    reliable?: boolean;
    recvBufferSize?: number;
    sendBufferSize?: number;
  };
  /** Accept a HELLO (return user data, becomes `peer.user`) or refuse it (throw). */
  readonly authenticate?: (hello: HelloInfo, info: AuthenticateInfo) => unknown;
  /**
   * Where sessions wait to be resumed. Pass the same store to a restarted server so clients
   * resume across the restart. @default a new MemorySessionStore, cleared on close
   */
  readonly store?: SessionStore;
  /**
   * How several server processes share topics, rooms, broadcasts and resumable sessions:
   * `redisAdapter({ url })` from `sockline/redis` (docs/scaling.md). Opened by `listen()`,
   * closed by `close()`. @default memoryAdapter(): one process, nothing shared
   */
  readonly adapter?: Adapter;
  /** Open transport connections at most (all transports); more are closed at once. @default 10000 */
  readonly maxConnections?: number;
  /** Open transport connections per remote address. @default 1000 */
  readonly maxConnectionsPerIp?: number;
  /** Connections that have not finished the handshake, at most. @default 1000 */
  readonly maxPendingHandshakes?: number;
  /** A connection without a completed HELLO is closed after this many ms. @default 10000 */
  readonly handshakeTimeout?: number;
  /** Largest frame in bytes: TCP/TLS framing limit and ws `maxPayload`. @default 1048576 */
  readonly maxFrameSize?: number;
  /** Ping period in ms. @default 10000 */
  readonly heartbeatInterval?: number;
  /** Silence past interval + this closes the connection, in ms. @default 5000 */
  readonly heartbeatTimeout?: number;
  /** How long a dropped session waits to be resumed, in ms. @default 60000 */
  readonly resumeWindow?: number;
  /**
   * Requests of one peer running at once; announced in the handshake, so a sockline client
   * keeps the rest waiting on its side. More are answered ERR_TOO_MANY_REQUESTS. @default 100
   */
  readonly maxInFlight?: number;
  /** Default timeout of `peer.request()`, in ms. @default 10000 */
  readonly requestTimeout?: number;
  /**
   * How `value` payloads are encoded, for every peer: a client's HELLO must name the same
   * codec (`codec.name`), or it is refused with ERR_BAD_PAYLOAD. @default JSON
   */
  readonly codec?: Codec;
  /**
   * Bytes a peer's connection may hold unsent before it counts as a slow consumer. Above it,
   * volatile messages to that peer are dropped (counted in `drops`). @default 1048576
   */
  readonly maxOutboundBytes?: number;
  /**
   * How long a peer may stay above `maxOutboundBytes` before its connection is dropped (a
   * slow consumer: counted in `slowConsumers`); its session stays resumable. @default 10000
   */
  readonly writeDeadline?: number;
  /** Emit `metrics` every this many ms; `false` disables. @default false */
  readonly metricsInterval?: number | false;
  /**
   * Admission control of handshakes, all transports together: a token bucket of `burst`
   * HELLOs refilled at `rate` per second. A HELLO that finds no token is answered CLOSE 1001
   * with a `reconnectAfter` that gives it the next free slot (slots `1000 / rate` ms apart),
   * so that after a restart or a network cut the clients come back as an even stream of
   * `rate` handshakes a second: N clients are all back after about N / rate seconds.
   * Refusals are counted in `metrics().admissionRefused`. `false` handles every HELLO at once.
   * @default { rate: 500, burst: 20 }
   */
  readonly admission?: Partial<AdmissionOptions> | false;
}

/** Defaults of {@link ServerOptions}: finite everywhere. */
export const serverDefaults = Object.freeze({
  host: '127.0.0.1',
  wsPath: '/',
  maxConnections: 10_000,
  maxConnectionsPerIp: 1_000,
  maxPendingHandshakes: 1_000,
  handshakeTimeout: serverSessionDefaults.handshakeTimeout,
  maxFrameSize: serverSessionDefaults.maxFrameSize,
  heartbeatInterval: serverSessionDefaults.heartbeatInterval,
  heartbeatTimeout: serverSessionDefaults.heartbeatTimeout,
  resumeWindow: serverSessionDefaults.resumeWindow,
  maxInFlight: serverSessionDefaults.maxInFlight,
  requestTimeout: serverSessionDefaults.requestTimeout,
  metricsInterval: false as number | false,
  maxOutboundBytes: 1 << 20,
  writeDeadline: 10_000,
  /** `close({ drain: true })`: reconnectAfter delays are spread over this window (ms). */
  drainWindow: 5_000,
  /** `close({ drain: true })`: longest wait for requests in flight and for sockets to end (ms). */
  drainTimeout: 5_000,
  /** Handshakes per second (`rate`) and at once (`burst`); see {@link ServerOptions.admission}. */
  admission: admissionDefaults,
});

export type ResolvedLimits = {
  -readonly [
    K in Exclude<keyof typeof serverDefaults, 'host' | 'wsPath' | 'admission'>
  ]: (typeof serverDefaults)[K];
} & { admission: AdmissionOptions | false };

const POSITIVE = [
  'maxConnections',
  'maxConnectionsPerIp',
  'maxPendingHandshakes',
  'handshakeTimeout',
  'maxFrameSize',
  'heartbeatInterval',
  'heartbeatTimeout',
  'resumeWindow',
  'maxInFlight',
  'requestTimeout',
  'maxOutboundBytes',
  'writeDeadline',
] as const;

/** Validates once; downstream code gets every limit filled in. */
export function resolveLimits(options: ServerOptions): ResolvedLimits {
  const r: ResolvedLimits = { ...serverDefaults };
  for (const name of POSITIVE) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value > 0))
      throw new RangeError(`Invalid option ${name}: ${String(value)}`);
    Object.assign(r, { [name]: value });
  }
  const m = options.metricsInterval;
  if (m !== undefined && m !== false && !(typeof m === 'number' && m > 0 && Number.isFinite(m)))
    throw new RangeError(`Invalid option metricsInterval: ${String(m)}`);
  if (m !== undefined) r.metricsInterval = m;
  const a = options.admission;
  if (a !== undefined && a !== false && (typeof a !== 'object' || a === null))
    throw new RangeError(`Invalid option admission: ${String(a)}`);
  if (a === false) r.admission = false;
  else if (a !== undefined) {
    r.admission = { rate: a.rate ?? admissionDefaults.rate, burst: a.burst ?? admissionDefaults.burst };
    validateAdmission(r.admission);
  }
  return r;
}

/** Counters of {@link SocklineServer.metrics}. */
export interface ServerMetrics {
  /** Transport connections open now, by transport (handshaking ones included). */
  connections: { tcp: number; tls: number; ws: number; udp: number };
  /** Peers known to this server: connected, or waiting to be resumed. */
  sessions: number;
  /** Protocol frames received (every kind: data, acks, pings...). */
  messagesIn: number;
  /** Protocol frames written (every kind). */
  messagesOut: number;
  /** Bytes of frame bodies received (framing and transport headers not counted). */
  bytesIn: number;
  /** Bytes of frame bodies written. */
  bytesOut: number;
  /**
   * Connections that ended before a session was established (refused, timed out, TLS
   * failures); not those told to come back later (`admissionRefused`, busy session lookups).
   */
  handshakeFailures: number;
  /** Connections closed at once by `maxConnections`, `maxConnectionsPerIp` or `maxPendingHandshakes`. */
  rejected: number;
  /**
   * HELLOs answered "come back later" (CLOSE 1001 with `reconnectAfter`) by admission control
   * (`admission`). Not counted in `handshakeFailures`.
   */
  admissionRefused: number;
  /** Handshakes that resumed an existing session. */
  resumes: number;
  /** Volatile messages dropped because their peer was over `maxOutboundBytes`. */
  drops: number;
  /** Peers disconnected for staying over `maxOutboundBytes` past `writeDeadline`. */
  slowConsumers: number;
  /** The adapter's state and counters (docs/scaling.md). */
  adapter: AdapterMetrics;
}
