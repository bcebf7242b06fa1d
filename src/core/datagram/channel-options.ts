/*
 * Options, hooks and counters of a DatagramChannel (docs/udp.md §5), apart from the channel
 * so the listener and the client transport can import them without the machinery.
 */

import type { SocklineError } from '../errors.js';

/** Limits and timings of a `DatagramChannel`. Every one is finite. */
export interface DatagramChannelOptions {
  /**
   * Volatile messages too go reliably (docs/udp.md §5). Without it they travel unreliably;
   * every other message is acknowledged, retransmitted, ordered and fragmented either way.
   * @default false
   */
  readonly reliable: boolean;
  /** The largest datagram written, header included. @default 1200 */
  readonly maxDatagramSize: number;
  /** `send()` returns false while more than this many bytes are queued or unacknowledged. @default 65536 */
  readonly highWaterMark: number;
  /** Past this many bytes held, the channel fails with `ERR_QUEUE_FULL`. @default 16777216 */
  readonly maxBufferedBytes: number;
  /** Reliable: packets sent and not yet acknowledged; also the receiver's reorder window; @default 256 */
  readonly window: number;
  /** Reliable: retransmission timeout before the first RTT sample, in ms. @default 250 */
  readonly initialRto: number;
  /** @default 50 */
  readonly minRto: number;
  /** @default 2000 */
  readonly maxRto: number;
  /** Reliable: how long a lone in-order packet waits for its ack to ride on a reply, in ms. @default 5 */
  readonly ackDelay: number;
  /** Reliable: fragments per message at most. @default 1024 */
  readonly maxFragments: number;
  /** Reliable: the largest message (reassembled) sent or accepted, in bytes. @default 1048576 */
  readonly maxMessageSize: number;
  /** Reliable: an incomplete message older than this is dropped, in ms. @default 10000 */
  readonly reassemblyTimeout: number;
  /** `close()` waits at most this long for outstanding packets to be acknowledged, in ms. @default 2000 */
  readonly closeTimeout: number;
}

/** Defaults for {@link DatagramChannelOptions}. */
export const datagramChannelDefaults: DatagramChannelOptions = Object.freeze({
  reliable: false,
  maxDatagramSize: 1200,
  highWaterMark: 64 << 10,
  maxBufferedBytes: 16 << 20,
  window: 256,
  initialRto: 250,
  minRto: 50,
  maxRto: 2000,
  ackDelay: 25,
  maxFragments: 1024,
  maxMessageSize: 1 << 20,
  reassemblyTimeout: 10_000,
  closeTimeout: 2000,
});

/** Where a channel's output goes. */
export interface DatagramChannelHooks {
  /** Writes one datagram to the peer's current path. */
  transmit(datagram: Uint8Array): void;
  /** One whole message (frame) from the peer, exactly once and in order when reliable. */
  deliver(message: Uint8Array): void;
  /** After `send()` returned false, the held bytes fell to half the high-water mark. */
  drain(): void;
  /** The channel cannot go on (its bound on held bytes was passed). */
  fail(error: SocklineError): void;
  /** After `close()`: everything sent was acknowledged, or `closeTimeout` passed. */
  flushed(): void;
}

/** Counters for tests and diagnostics. */
export interface DatagramChannelStats {
  sent: number;
  retransmitted: number;
  received: number;
  duplicates: number;
  stale: number;
  dropped: number;
  srtt: number | undefined;
  rto: number;
}
