import type { Clock } from '../../clock.js';
import { POSITIVE, numberOption } from '../../link/options.js';
import type { Codec } from '../codec.js';
import type { FrameTable } from '../frames-decode.js';
import type { AnswersFactory } from './answers.js';
import type { DeliveryLimits } from './delivery.js';
import type { ReceiveBudget, TransferLimits, TransfersFactory } from './transfer.js';

/**
 * Every default of the session protocol that both roles share, defined here once; the
 * client's `protocolDefaults` and the server's `serverSessionDefaults` take their values from
 * it. docs/api.md documents each option once, under the role that sets it.
 */
export const sessionDefaults = Object.freeze({
  /** The server's PING period, announced in WELCOME (docs/protocol.md §8), in ms. */
  heartbeatInterval: 10_000,
  /** Silence past an interval before a side is dead, announced in WELCOME, in ms. */
  heartbeatTimeout: 5_000,
  /** The server's deadline for a complete HELLO after the transport opened, in ms. */
  handshakeTimeout: 10_000,
  /** The largest HELLO the server reads, and the largest WELCOME/REFUSE the client reads, in bytes. */
  maxHandshakeSize: 16 << 10,
  /** How long the server keeps a dropped session for a resume, announced in WELCOME, in ms. */
  resumeWindow: 60_000,
  /** The largest frame body a side accepts, in bytes (the server announces its own in WELCOME). */
  maxFrameSize: 1 << 20,
  /** The default timeout of a request, either direction, in ms. */
  requestTimeout: 10_000,
  /** How long a received message may wait for its acknowledgement, in ms (docs/protocol.md §7.2). */
  ackDelay: 20,
  /** Sent-but-unacknowledged messages kept for retransmission (count), either direction. */
  replayMessages: 10_000,
  /** ... and bytes. */
  replayBytes: 8 << 20,
  /**
   * The largest message a side takes, in bytes (announced in the handshake): a message over
   * one frame goes as a stream of chunks (docs/protocol.md §13.4) up to this size.
   */
  maxMessageSize: 64 << 20,
  /** Streams the peer may have open to a side at once (announced in the handshake). */
  maxStreams: 16,
  /** Bytes of one incoming stream held before the application reads them: the credit its writer gets. */
  streamWindow: 4 << 20,
});

/** Validates a `requestTimeout` option, either role: a positive number of ms, `Infinity` for none. */
export function requestTimeoutOption(value: unknown, fallback: number): number {
  return numberOption('requestTimeout', value, fallback, POSITIVE, Infinity);
}

/** Which side of a session an endpoint is: the role is a parameter, the protocol is one. */
export type Role = 'client' | 'server';

/**
 * What an {@link Endpoint} needs, resolved and validated once by its role: one frozen object
 * per client, and one per server shared by all of its sessions (no copy per session).
 */
export interface EndpointConfig {
  readonly role: Role;
  readonly codec: Codec;
  /** The frames this side reads (`clientFrames`, or `allFrames` for a server). */
  readonly frames: FrameTable;
  /** Only `now()` is read: the endpoint has no timers (its driver calls `tick`). */
  readonly clock: Clock;
  /** The outbound queue, the replay buffer and the ack delay. */
  readonly delivery: DeliveryLimits;
  /** Default timeout of `request()`, in ms; `Infinity` for none. */
  readonly requestTimeout: number;
  /**
   * Requests of this side outstanding at most, written or waiting to be: one more is refused
   * with `ERR_TOO_MANY_REQUESTS`. How many are written at once is the peer's limit (WELCOME).
   */
  readonly maxInFlight: number;
  /** Requests of the peer running at once at most; more are answered `ERR_TOO_MANY_REQUESTS`. */
  readonly maxAnswering: number;
  /**
   * What runs the peer's requests through this side's handlers (`createAnswers`); `null`:
   * every request is answered `ERR_UNKNOWN_METHOD` (a client without `sockline/handle`).
   */
  readonly answers: AnswersFactory | null;
  /**
   * What carries streams and messages over one frame (docs/protocol.md §13), made on first
   * use; `null`: this side takes and sends neither (its HELLO does not announce them).
   */
  readonly transfers: TransfersFactory | null;
  /** This side's limits for what it receives (its maxFrameSize, maxMessageSize, maxStreams). */
  readonly limits: TransferLimits;
  /** A budget shared with other sessions that incoming messages and streams must fit in. */
  readonly budget: ReceiveBudget | null;
  /**
   * Answer a handler's unexpected exception with its own message (the code stays
   * `ERR_INTERNAL`), not `internal error`: a server's `exposeErrors`; false for a client.
   */
  readonly exposeErrors: boolean;
  /** Client: ask to resume the previous session in HELLO. */
  readonly resume: boolean;
  /** Client: the largest answer to HELLO read, in bytes. */
  readonly maxHandshakeSize: number;
  /**
   * Server: what its WELCOME announces, and the heartbeat it runs (a PING every interval, the
   * end of a connection silent for interval + timeout). `null` for a client, which learns the
   * server's from WELCOME and leaves the silence to its link.
   */
  readonly announce: Announced | null;
}

/**
 * The limits a server announces in WELCOME besides `maxInFlight` and those of its
 * {@link EndpointConfig.limits} (docs/protocol.md §4.2).
 */
export interface Announced {
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  readonly maxFrameSize: number;
  readonly resumeWindow: number;
}

/** Validates the transfer limits of either role (`maxMessageSize`, `maxStreams`, `streamWindow`). */
export function transferLimits(
  options: { maxMessageSize?: number; maxStreams?: number; streamWindow?: number },
  maxFrameSize: number,
): TransferLimits {
  const d = sessionDefaults;
  return Object.freeze({
    maxFrameSize,
    maxMessageSize: numberOption('maxMessageSize', options.maxMessageSize, d.maxMessageSize, POSITIVE),
    maxStreams: numberOption('maxStreams', options.maxStreams, d.maxStreams, POSITIVE),
    streamWindow: numberOption('streamWindow', options.streamWindow, d.streamWindow, POSITIVE),
  });
}
