import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { POSITIVE, linkDefaults, numberOption } from '../link/options.js';
import { optionTypeError } from '../options/messages.js';
import type { OverflowPolicy } from '../link/outbox.js';
import { jsonCodec, type Codec } from './codec.js';
import type { DeliveryLimits } from './endpoint/delivery.js';
import { requestTimeoutOption, sessionDefaults, transferLimits } from './endpoint/options.js';
import type { TransferLimits, TransfersFactory } from './endpoint/transfer.js';

/** A token, or a function that yields one before every connection attempt. */
export type TokenProvider = string | (() => string | undefined | Promise<string | undefined>);

/** Options of protocol mode (the default mode of `connect()`). */
export interface ProtocolOptions {
  /** Sent in HELLO; a function is called again before every attempt (fresh tokens). */
  token?: TokenProvider;
  /** How structured values are encoded. @default JSON */
  codec?: Codec;
  /** Default timeout of `request()`, in ms. @default 10000 */
  requestTimeout?: number;
  /**
   * Requests this client may have outstanding: written, or waiting because the server's own
   * `maxInFlight` (announced in WELCOME) are already written. One more rejects with
   * `ERR_TOO_MANY_REQUESTS`. @default 1000
   */
  maxInFlight?: number;
  /** Resume the session after a reconnect, so nothing is lost or duplicated. @default true */
  resume?: boolean;
  /** Sent-but-unacknowledged messages kept for retransmission. @default { maxMessages: 10000, maxBytes: 8388608 } */
  replay?: { maxMessages?: number; maxBytes?: number };
  /** Delay before a standalone acknowledgement, in ms. @default 20 */
  ackDelay?: number;
  /** Largest handshake reply accepted, in bytes. @default 16384 */
  maxHandshakeSize?: number;
  /** Identical consecutive authentication refusals before giving up. @default 3 */
  authRetries?: number;
  /**
   * How long a connection held as suspect (`suspect()`: the browser went offline) has to
   * answer a PING once the network is back, in ms; unanswered, it is dropped and the session
   * resumes on a new one. @default 2000
   */
  probeTimeout?: number;
  /**
   * Streams, and messages over one frame (up to `maxMessageSize`), both ways: pass `streams`
   * from `sockline/streams`. Without it the client neither sends nor takes them (its HELLO
   * says so, and the server refuses to send them to it), and none of that code is loaded.
   *
   * @example
   * ```ts
   * import { connect } from 'sockline';
   * import { streams } from 'sockline/streams';
   * const client = connect('wss://example.com/ws', { streams });
   * ```
   */
  streams?: TransfersFactory;
  /**
   * The largest message this client sends or takes, in bytes: one over `maxFrameSize` goes as
   * a stream of frames (with `streams`). Announced to the server. @default 67108864 (64 MiB)
   */
  maxMessageSize?: number;
  /** Streams the server may have open to this client at once (announced). @default 16 */
  maxStreams?: number;
  /**
   * Bytes of one incoming stream held before the application reads them: the credit the
   * server gets for it. @default 4194304 (4 MiB)
   */
  streamWindow?: number;
}

export interface ResolvedProtocolOptions {
  readonly token: () => string | undefined | Promise<string | undefined>;
  readonly codec: Codec;
  readonly requestTimeout: number;
  readonly maxInFlight: number;
  readonly resume: boolean;
  readonly maxHandshakeSize: number;
  readonly authRetries: number;
  readonly probeTimeout: number;
  readonly clock: Clock;
  readonly delivery: DeliveryLimits & { readonly ttl: number };
  readonly transfers: TransfersFactory | null;
  /** `maxFrameSize` is the client's own read limit, filled in by the client (its link's). */
  readonly limits: Omit<TransferLimits, 'maxFrameSize'>;
}

/**
 * Defaults of {@link ProtocolOptions}. The values shared with the server come from
 * `sessionDefaults`; the rest are the client's own.
 */
export const protocolDefaults = Object.freeze({
  requestTimeout: sessionDefaults.requestTimeout,
  /**
   * Ten times the server's 100: this bounds what the client holds (requests written plus those
   * waiting their turn), while the server's bounds what runs on it at once for one client.
   */
  maxInFlight: 1000,
  replayMessages: sessionDefaults.replayMessages,
  replayBytes: sessionDefaults.replayBytes,
  ackDelay: sessionDefaults.ackDelay,
  maxHandshakeSize: sessionDefaults.maxHandshakeSize,
  authRetries: 3,
  /** A PING answered on a live connection takes a round trip; two seconds is many. */
  probeTimeout: 2_000,
  maxMessageSize: sessionDefaults.maxMessageSize,
  maxStreams: sessionDefaults.maxStreams,
  streamWindow: sessionDefaults.streamWindow,
});

/** Applies defaults and validates once, at the public boundary. */
export function resolveProtocolOptions(
  options: ProtocolOptions & {
    clock?: Clock;
    outbox?: { maxMessages?: number; maxBytes?: number; overflow?: OverflowPolicy; ttl?: number };
  },
): ResolvedProtocolOptions {
  const d = protocolDefaults;
  const token = options.token;
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') {
    throw optionTypeError('token', 'a string or a function', token);
  }
  const o = options.outbox ?? {};
  return Object.freeze({
    token: typeof token === 'function' ? token : () => token,
    codec: options.codec ?? jsonCodec(),
    requestTimeout: requestTimeoutOption(options.requestTimeout, d.requestTimeout),
    maxInFlight: numberOption('maxInFlight', options.maxInFlight, d.maxInFlight, POSITIVE),
    resume: options.resume ?? true,
    maxHandshakeSize: numberOption(
      'maxHandshakeSize',
      options.maxHandshakeSize,
      d.maxHandshakeSize,
      POSITIVE,
    ),
    authRetries: numberOption('authRetries', options.authRetries, d.authRetries, POSITIVE),
    probeTimeout: numberOption('probeTimeout', options.probeTimeout, d.probeTimeout, POSITIVE),
    clock: options.clock ?? systemClock,
    transfers: options.streams ?? null,
    limits: transferLimits(options, 0),
    delivery: Object.freeze({
      maxMessages: numberOption(
        'outbox.maxMessages',
        o.maxMessages,
        linkDefaults.outbox.maxMessages,
        POSITIVE,
        Infinity,
      ),
      maxBytes: numberOption('outbox.maxBytes', o.maxBytes, linkDefaults.outbox.maxBytes, POSITIVE, Infinity),
      overflow: o.overflow ?? linkDefaults.outbox.overflow,
      ttl: numberOption('outbox.ttl', o.ttl, linkDefaults.outbox.ttl, POSITIVE, Infinity),
      replayMessages: numberOption(
        'replay.maxMessages',
        options.replay?.maxMessages,
        d.replayMessages,
        POSITIVE,
      ),
      replayBytes: numberOption('replay.maxBytes', options.replay?.maxBytes, d.replayBytes, POSITIVE),
      ackDelay: numberOption('ackDelay', options.ackDelay, d.ackDelay, POSITIVE),
    }),
  });
}
