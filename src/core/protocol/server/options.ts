import { systemClock, type Clock } from '../../clock.js';
import { POSITIVE, numberOption } from '../../link/options.js';
import type { Admission } from '../admission.js';
import { jsonCodec, type Codec } from '../codec.js';
import type { DeliveryLimits } from '../endpoint/delivery.js';
import { requestTimeoutOption, sessionDefaults, type EndpointConfig } from '../endpoint/options.js';
import { SUPPORTED_VERSIONS, type PayloadKind } from '../frames.js';
import { Deadlines } from './deadlines.js';
import type { SessionObserver, SessionState } from './session-state.js';
import type { SessionStore } from './session-store.js';

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
  /** Default timeout of a server → client request, in ms. */
  readonly requestTimeout?: number;
  readonly delivery?: Partial<DeliveryLimits>;
  /** The codec of `value` payloads; a HELLO naming another is refused. @default JSON */
  readonly codec?: Codec;
  readonly clock?: Clock;
  readonly newId?: () => string;
}

/**
 * Server defaults, finite everywhere. The values both roles share come from
 * `sessionDefaults`; where the server's differ from the client's, the reason is given.
 */
export const serverSessionDefaults = Object.freeze({
  heartbeatInterval: sessionDefaults.heartbeatInterval,
  heartbeatTimeout: sessionDefaults.heartbeatTimeout,
  handshakeTimeout: sessionDefaults.handshakeTimeout,
  maxHandshakeSize: sessionDefaults.maxHandshakeSize,
  resumeWindow: sessionDefaults.resumeWindow,
  /**
   * A tenth of the client's 1,000: this bounds the handlers one client makes the server run
   * at once (announced in WELCOME; the client keeps the rest waiting on its side), while the
   * client's bounds what it holds itself.
   */
  maxInFlight: 100,
  maxFrameSize: sessionDefaults.maxFrameSize,
  requestTimeout: sessionDefaults.requestTimeout,
  delivery: Object.freeze({
    /**
     * Ten times the client's outbox, and `drop-oldest` where the client's is `reject`: a
     * client's `send()` can tell its caller to wait, but `peer.send()` must not throw into
     * the server's code because one client is away or slow; the oldest of what waits for a
     * client that stays away is the least useful to it.
     */
    maxMessages: 10_000,
    maxBytes: 8 << 20,
    overflow: 'drop-oldest' as const,
    replayMessages: sessionDefaults.replayMessages,
    replayBytes: sessionDefaults.replayBytes,
    ackDelay: sessionDefaults.ackDelay,
  }),
});

/** A server's options, validated and filled in once, shared by all of its sessions. */
export interface ResolvedServerSession {
  readonly options: ServerSessionOptions;
  readonly endpoint: EndpointConfig;
  readonly codec: Codec;
  readonly clock: Clock;
  readonly versions: readonly number[];
  readonly handshakeTimeout: number;
  readonly maxHandshakeSize: number;
  readonly resumeWindow: number;
  /** The one scheduler of every connection's deadlines. */
  readonly deadlines: Deadlines;
  readonly newId: () => string;
}

const resolved = new WeakMap<ServerSessionOptions, ResolvedServerSession>();

let counter = 0;
const defaultId = (): string =>
  `${Date.now().toString(36)}-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/**
 * The resolved form of `options`: validated and filled in on first use, then the same object
 * for every session made with them. Throws RangeError/TypeError naming a bad option.
 */
export function resolveServerSession(options: ServerSessionOptions): ResolvedServerSession {
  let r = resolved.get(options);
  if (r !== undefined) return r;
  const d = serverSessionDefaults;
  const number = (name: keyof typeof d & keyof ServerSessionOptions): number =>
    numberOption(name, options[name], d[name] as number, POSITIVE);
  const heartbeatInterval = number('heartbeatInterval');
  const heartbeatTimeout = number('heartbeatTimeout');
  const maxFrameSize = number('maxFrameSize');
  const resumeWindow = number('resumeWindow');
  const maxInFlight = number('maxInFlight');
  const codec = options.codec ?? jsonCodec();
  const clock = options.clock ?? systemClock;
  const delivery: DeliveryLimits = Object.freeze({
    ...d.delivery,
    ...options.delivery,
    // A message whose frame the client would refuse is never numbered and replayed.
    maxFrameSize,
  });
  r = Object.freeze({
    options,
    codec,
    clock,
    versions: options.versions ?? SUPPORTED_VERSIONS,
    handshakeTimeout: number('handshakeTimeout'),
    maxHandshakeSize: number('maxHandshakeSize'),
    resumeWindow,
    deadlines: new Deadlines(clock),
    newId: options.newId ?? defaultId,
    endpoint: Object.freeze({
      role: 'server' as const,
      codec,
      clock,
      delivery,
      requestTimeout: requestTimeoutOption(options.requestTimeout, d.requestTimeout),
      maxInFlight,
      maxAnswering: maxInFlight,
      queueRequests: false,
      resume: true,
      maxHandshakeSize: number('maxHandshakeSize'),
      announce: Object.freeze({ heartbeatInterval, heartbeatTimeout, maxFrameSize, resumeWindow }),
    }),
  });
  resolved.set(options, r);
  return r;
}
