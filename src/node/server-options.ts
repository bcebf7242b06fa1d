import type * as http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type * as https from 'node:https';
import type { Codec } from '../core/protocol/codec.js';
import type { HelloInfo, SessionStore } from '../core/protocol/server-session.js';
import type { Identify } from '../core/protocol/session-id.js';
import { serverSessionDefaults } from '../core/protocol/server-session.js';
import { admissionDefaults, validateAdmission, type AdmissionOptions } from '../core/protocol/admission.js';
import type { Adapter, AdapterMetrics } from './adapter.js';

/** The transports a {@link SocklineServer} accepts. */
export type ServerTransport = 'tcp' | 'tls' | 'ws' | 'udp';

/** What `authenticate` learns about the connection besides the HELLO. */
export interface AuthenticateInfo {
  readonly transport: ServerTransport;
  /** The client's address: the socket's, or the one a trusted proxy named (`trustProxy`). */
  readonly remoteAddress: string;
  /**
   * WebSocket only: the upgrade request's headers, lower-case names as Node gives them
   * (`cookie`, `authorization`, `origin`, `user-agent`...). Undefined on TCP, TLS and UDP.
   */
  readonly headers?: IncomingHttpHeaders | undefined;
}

/** Options of {@link createServer}. Each listener is optional; port 0 picks a free port. */
export interface ServerOptions {
  /**
   * Raw TCP with u32 length framing. `proxyProtocol`: every connection starts with a PROXY
   * protocol header (v1 or v2, HAProxy's `send-proxy` / `send-proxy-v2`) naming the client;
   * only addresses in `trustProxy` may connect, and a connection without a valid header
   * within `handshakeTimeout` is closed (docs/deploy.md).
   */
  readonly tcp?: { port?: number; host?: string; proxyProtocol?: boolean };
  /** TLS over TCP, same framing. `cert`/`key`/`ca` are PEM strings or buffers. */
  readonly tls?: {
    port?: number;
    host?: string;
    /** As for `tcp`; the PROXY header comes before the TLS handshake. */
    proxyProtocol?: boolean;
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
  /**
   * Accept a HELLO (return user data, becomes `peer.user`) or refuse it (throw). The client
   * gets `ERR_AUTH_FAILED` with the message of a thrown `RemoteError` or `SocklineError`;
   * any other exception's message stays on the server (`authentication failed` is sent),
   * unless `exposeErrors`.
   */
  readonly authenticate?: (hello: HelloInfo, info: AuthenticateInfo) => unknown;
  /**
   * How two results of `authenticate` are compared when a client resumes: a session is
   * resumed only by the identity that owns it; any other gets a new session (the client sees
   * `sessionlost`; counted in `resumesDenied`). Return the same string for the same user.
   * The default is strict: a primitive is itself (`'1'` is not `1`), an object is its `id`
   * (a string, number or bigint), any other plain object or array is compared field by
   * field; a user it cannot compare (a function, a class instance without `id`) gets a
   * session that can never be resumed, and an `error` event says so.
   * @default defaultIdentify
   */
  readonly identify?: Identify;
  /**
   * Send the message of a request handler's unexpected exception to the caller (the code
   * stays `ERR_INTERNAL`), and of an `authenticate` exception. For development only: such
   * messages may hold secrets. @default false
   */
  readonly exposeErrors?: boolean;
  /**
   * Where sessions wait to be resumed. Pass the same store to a restarted server so clients
   * resume across the restart. @default a new MemorySessionStore, cleared on close
   */
  readonly store?: SessionStore;
  /**
   * How several server processes share topics, rooms, broadcasts and resumable sessions:
   * `redisAdapter({ url })` from `sockline/redis` (docs/scaling.md). Opened by `listen()`,
   * closed by `close()`. @default one process, nothing shared
   */
  readonly adapter?: Adapter;
  /**
   * Open transport connections at most (all transports, handshaking ones included). More are
   * refused: HTTP 503 with `Retry-After` on WebSocket, CLOSE 1013 with `reconnectAfter` on
   * TCP, TLS and UDP. @default 10000
   */
  readonly maxConnections?: number;
  /**
   * Open transport connections per client address (IPv6: per /64), refused like
   * `maxConnections` but with HTTP 429. Large on purpose: one backend or load-test host may
   * hold thousands of sessions; it still cannot take more than half the server. @default 5000
   */
  readonly maxConnectionsPerIp?: number;
  /**
   * Connections whose handshake is not complete, at most: an HTTP request not yet an upgrade,
   * a PROXY header or TLS handshake not done, a HELLO not yet answered. @default 1000
   */
  readonly maxPendingHandshakes?: number;
  /**
   * The same per client address (IPv6: per /64), refused with HTTP 429 / CLOSE 1013. Small on
   * purpose: silent sockets from one address take at most this many handshake slots, so
   * clients from other addresses still get in. @default 100
   */
  readonly maxPendingHandshakesPerIp?: number;
  /**
   * A connection without a completed HELLO is closed after this many ms. The steps before a
   * WebSocket's or TLS connection's HELLO (the HTTP request, a PROXY header, the TLS
   * handshake) have the same deadline, counted from the accept. @default 10000
   */
  readonly handshakeTimeout?: number;
  /**
   * Proxies (addresses or CIDR ranges, IPv4 and IPv6) whose word about the client's address
   * is taken: `Forwarded` / `X-Forwarded-For` on a WebSocket upgrade from one of them, the
   * PROXY header on a `proxyProtocol` listener. `peer.remoteAddress`, `authenticate`'s
   * `remoteAddress` and every per-address limit then see the client, not the proxy. From
   * other addresses those headers are ignored. @default [] (none)
   * @example ['127.0.0.1', '10.0.0.0/8', 'fd00::/8']
   */
  readonly trustProxy?: readonly string[];
  /** Largest frame in bytes: TCP/TLS framing limit and ws `maxPayload`. @default 1048576 */
  readonly maxFrameSize?: number;
  /**
   * The largest message in bytes, either way (announced in the handshake): one over
   * `maxFrameSize` goes as a stream of frames (docs/protocol.md §13.4), to and from clients
   * that use `sockline/streams`. At most `maxBufferedBytes`: what a peer's large messages and
   * streams hold is counted there. @default 67108864 (64 MiB), or `maxBufferedBytes` if lower
   */
  readonly maxMessageSize?: number;
  /**
   * Streams a client may have open to the server at once; one more is refused
   * (`ERR_TOO_MANY_STREAMS`). Each holds up to `streamWindow` bytes, counted in
   * `maxBufferedBytes` with everything else. @default 16
   */
  readonly maxStreams?: number;
  /**
   * Bytes of one incoming stream held before the application reads them: the credit its
   * writer gets, so a writer faster than the reader costs no more. @default 4194304 (4 MiB)
   */
  readonly streamWindow?: number;
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
   * Subscriptions one session may hold. A SUBSCRIBE over it is refused with
   * `ERR_TOO_MANY_SUBSCRIPTIONS` (the client's `error` event) and the connection stays;
   * counted in `subscriptionsRefused`. @default 1000
   */
  readonly maxSubscriptions?: number;
  /**
   * Subscriptions all sessions together may hold (detached ones included); more are refused
   * like those over `maxSubscriptions`. @default 1000000
   */
  readonly maxTotalSubscriptions?: number;
  /**
   * Bytes the server may hold for one peer: its connection's unsent bytes, the messages
   * queued for it and those sent but not yet acknowledged. Above it, volatile messages to
   * that peer are dropped (counted in `drops`); staying above it for `writeDeadline` makes it
   * a slow consumer. A client acknowledges within 20 ms or 32 messages, so a healthy one
   * holds about one round trip of traffic: 1 MiB is 10 MB/s at 100 ms. @default 1048576
   */
  readonly maxOutboundBytes?: number;
  /**
   * How long a peer may stay above `maxOutboundBytes` before its connection is dropped (a
   * slow consumer: counted in `slowConsumers`); its session stays resumable. @default 10000
   */
  readonly writeDeadline?: number;
  /**
   * Bytes the server may hold for all peers together, counted as for `maxOutboundBytes`,
   * detached sessions (waiting for a resume) included. Above it the sessions holding the most
   * are shed, largest first, until the total is back under: each is counted in `shed`,
   * emitted as `shed` then `disconnect` (reason `shed`), its client gets CLOSE 4008 when it
   * can still read it (otherwise its connection is cut) and `sessionlost` when it comes back.
   * The default keeps the buffers of a busy server to about 1–2 GiB of memory, whatever the
   * number of clients. @default 1073741824 (1 GiB)
   */
  readonly maxBufferedBytes?: number;
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
  maxConnectionsPerIp: 5_000,
  maxPendingHandshakes: 1_000,
  maxPendingHandshakesPerIp: 100,
  handshakeTimeout: serverSessionDefaults.handshakeTimeout,
  maxFrameSize: serverSessionDefaults.maxFrameSize,
  maxMessageSize: serverSessionDefaults.maxMessageSize,
  maxStreams: serverSessionDefaults.maxStreams,
  streamWindow: serverSessionDefaults.streamWindow,
  heartbeatInterval: serverSessionDefaults.heartbeatInterval,
  heartbeatTimeout: serverSessionDefaults.heartbeatTimeout,
  resumeWindow: serverSessionDefaults.resumeWindow,
  maxInFlight: serverSessionDefaults.maxInFlight,
  requestTimeout: serverSessionDefaults.requestTimeout,
  maxSubscriptions: serverSessionDefaults.maxSubscriptions,
  maxTotalSubscriptions: serverSessionDefaults.maxTotalSubscriptions,
  maxBufferedBytes: 1 << 30,
  exposeErrors: false,
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
    K in Exclude<keyof typeof serverDefaults, 'host' | 'wsPath' | 'admission' | 'exposeErrors'>
  ]: (typeof serverDefaults)[K];
} & { admission: AdmissionOptions | false; exposeErrors: boolean };

const POSITIVE = [
  'maxConnections',
  'maxConnectionsPerIp',
  'maxPendingHandshakes',
  'maxPendingHandshakesPerIp',
  'handshakeTimeout',
  'maxFrameSize',
  'maxMessageSize',
  'maxStreams',
  'streamWindow',
  'heartbeatInterval',
  'heartbeatTimeout',
  'resumeWindow',
  'maxInFlight',
  'requestTimeout',
  'maxSubscriptions',
  'maxTotalSubscriptions',
  'maxBufferedBytes',
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
  // What holds a large message is counted in maxBufferedBytes: one can never be larger.
  if (options.maxMessageSize === undefined) r.maxMessageSize = Math.min(r.maxMessageSize, r.maxBufferedBytes);
  else if (r.maxMessageSize > r.maxBufferedBytes) {
    throw new RangeError(
      `Invalid option maxMessageSize: ${r.maxMessageSize} is over maxBufferedBytes (${r.maxBufferedBytes}), which holds it`,
    );
  }
  const e = options.exposeErrors;
  if (e !== undefined && typeof e !== 'boolean')
    throw new TypeError(`Invalid option exposeErrors: ${String(e)}`);
  if (e !== undefined) r.exposeErrors = e;
  const i = options.identify;
  if (i !== undefined && typeof i !== 'function')
    throw new TypeError(`Invalid option identify: ${String(i)}`);
  const c = options.codec as Partial<Codec> | null | undefined;
  if (
    c !== undefined &&
    (typeof c !== 'object' ||
      c === null ||
      typeof c.name !== 'string' ||
      typeof c.encode !== 'function' ||
      typeof c.decode !== 'function')
  )
    throw new TypeError(`Invalid option codec: expected { name, encode, decode }, got ${String(c)}`);
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
  /**
   * Messages received: a protocol frame (every kind: data, acks, pings...), or a WebSocket
   * BATCH of them (counted once: the session reads it).
   */
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
  /**
   * Connections refused by `maxConnections`, `maxConnectionsPerIp`, `maxPendingHandshakes` or
   * `maxPendingHandshakesPerIp` (answered HTTP 429/503 or CLOSE 1013), or while closing.
   */
  rejected: number;
  /** Connections whose handshake is not complete now (see `maxPendingHandshakes`). */
  pendingHandshakes: number;
  /**
   * Connections of a `proxyProtocol` listener closed for their PROXY header: from an address
   * not in `trustProxy`, not starting with a valid header, or without one by the deadline.
   * Also counted in `handshakeFailures`.
   */
  proxyFailures: number;
  /**
   * HELLOs answered "come back later" (CLOSE 1001 with `reconnectAfter`) by admission control
   * (`admission`). Not counted in `handshakeFailures`.
   */
  admissionRefused: number;
  /** Handshakes that resumed an existing session. */
  resumes: number;
  /**
   * HELLOs that asked to resume a session their identity does not own (see `identify`): a
   * new session was started instead, and the owner's session left as it was.
   */
  resumesDenied: number;
  /** SUBSCRIBEs refused by `maxSubscriptions` or `maxTotalSubscriptions`. */
  subscriptionsRefused: number;
  /** Sessions shed to bring the bytes held for all peers back under `maxBufferedBytes`. */
  shed: number;
  /** Bytes held for all peers now (see `maxBufferedBytes`). */
  bufferedBytes: number;
  /**
   * Volatile messages dropped because their peer was over `maxOutboundBytes`, and publishes
   * and broadcasts over one frame that a peer could not take (it does not use
   * `sockline/streams`, or its `maxMessageSize` is lower).
   */
  drops: number;
  /** Peers disconnected for staying over `maxOutboundBytes` past `writeDeadline`. */
  slowConsumers: number;
  /** The adapter's state and counters (docs/scaling.md). */
  adapter: AdapterMetrics;
}
