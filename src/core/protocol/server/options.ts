import { systemClock, type Clock } from '../../clock.js';
import { POSITIVE, numberOption } from '../../link/options.js';
import { optionTypeError } from '../../options/messages.js';
import type { Admission } from '../admission.js';
import { jsonCodec, type Codec } from '../codec.js';
import type { DeliveryLimits } from '../endpoint/delivery.js';
import {
  requestTimeoutOption,
  sessionDefaults,
  transferLimits,
  type EndpointConfig,
} from '../endpoint/options.js';
import { createAnswers } from '../endpoint/answers.js';
import type { ReceiveBudget } from '../endpoint/transfer.js';
import { streams } from '../../streams/index.js';
import type { IncomingStream } from '../../streams/types.js';
import { SUPPORTED_VERSIONS, type PayloadKind } from '../frames.js';
import { allFrames } from '../frames-decode.js';
import { defaultIdentify, type Identify } from '../session-id.js';
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
  /**
   * Application code failed without it being the client's fault: `onMessage` threw, a
   * request handler threw something other than a RemoteError (the client got
   * `ERR_INTERNAL`), `identify` threw. The connection goes on; nothing of the error is sent.
   */
  readonly onError?: (error: unknown, session: SessionState | null) => void;
  /**
   * The application queued a message of `bytes` (its payload) for a session (`peer.send()`):
   * a server-wide memory budget counts it.
   */
  readonly onQueued?: (bytes: number) => void;
  /**
   * A stream from a client (docs/protocol.md §13): true when the application takes it; false
   * (or absent) refuses it with `ERR_NOT_SUPPORTED`.
   */
  readonly onStream?: (stream: IncomingStream, session: SessionState) => boolean;
  /**
   * What incoming large messages and streams of every session must fit in together besides
   * their session's own bounds: the server's memory budget. Absent: only the session's bounds.
   */
  readonly budget?: ReceiveBudget;
  /** The largest message a client may send, in bytes (announced in WELCOME). @default 67108864 */
  readonly maxMessageSize?: number;
  /** Streams a client may have open to the server at once (announced). @default 16 */
  readonly maxStreams?: number;
  /** Bytes of one incoming stream held before the application reads them. @default 4194304 */
  readonly streamWindow?: number;
  /**
   * A publish over one frame could not go to a session's client: it takes no large message
   * (it does not use `sockline/streams`), or the message is over its `maxMessageSize`;
   * `error` says which (`ERR_FRAME_TOO_LARGE`, `ERR_MESSAGE_TOO_LARGE`).
   */
  readonly onMissed?: (session: SessionState, error: Error) => void;
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
  /** Default timeout of a server → client request, in ms. */
  readonly requestTimeout?: number;
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
  /** The codec of `value` payloads; a HELLO naming another is refused. @default JSON */
  readonly codec?: Codec;
  readonly clock?: Clock;
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
  maxMessageSize: sessionDefaults.maxMessageSize,
  maxStreams: sessionDefaults.maxStreams,
  streamWindow: sessionDefaults.streamWindow,
  /** Server only: what one client may make the server hold in its topic index. */
  maxSubscriptions: 1_000,
  /** ... and every client together: the index is the server's memory, not one session's. */
  maxTotalSubscriptions: 1_000_000,
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
  readonly maxSubscriptions: number;
  readonly maxTotalSubscriptions: number;
  /** How a user is named for the owner check of a resume (session-id.ts). */
  readonly identify: Identify;
  /** The one scheduler of every connection's deadlines. */
  readonly deadlines: Deadlines;
}

const resolved = new WeakMap<ServerSessionOptions, ResolvedServerSession>();

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
  const limit = (name: 'maxSubscriptions' | 'maxTotalSubscriptions'): number =>
    numberOption(name, options[name], d[name], POSITIVE, Infinity);
  const identify = options.identify ?? defaultIdentify;
  if (typeof identify !== 'function') throw optionTypeError('identify', 'a function', identify);
  const exposeErrors = options.exposeErrors ?? false;
  if (typeof exposeErrors !== 'boolean') throw optionTypeError('exposeErrors', 'a boolean', exposeErrors);
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
    maxSubscriptions: limit('maxSubscriptions'),
    maxTotalSubscriptions: limit('maxTotalSubscriptions'),
    identify,
    deadlines: new Deadlines(clock),
    endpoint: Object.freeze({
      role: 'server' as const,
      codec,
      frames: allFrames,
      clock,
      delivery,
      requestTimeout: requestTimeoutOption(options.requestTimeout, d.requestTimeout),
      maxInFlight,
      maxAnswering: maxInFlight,
      answers: createAnswers,
      exposeErrors,
      resume: true,
      maxHandshakeSize: number('maxHandshakeSize'),
      announce: Object.freeze({ heartbeatInterval, heartbeatTimeout, maxFrameSize, resumeWindow }),
      transfers: streams,
      limits: transferLimits(options, maxFrameSize),
      budget: options.budget ?? null,
    }),
  });
  resolved.set(options, r);
  return r;
}

/**
 * Application code failed without it being the client's fault (see
 * {@link ServerSessionOptions.onError}): reported, and nothing of it goes on the wire.
 */
export function reportError(
  options: ServerSessionOptions,
  error: unknown,
  session: SessionState | null,
): void {
  try {
    options.onError?.(error, session);
  } catch {
    // The reporter itself failed: there is nowhere left to tell, and the session goes on.
  }
}
