import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import type { DatagramChannelOptions } from '../core/datagram/channel.js';
import { DatagramSessionTransport } from '../core/datagram/session-transport.js';
import type { Transport, TransportHandlers } from '../core/transport.js';
import { UdpTransport } from './udp-transport.js';

/** Options of {@link udpSessionTransport}. */
export interface UdpSessionTransportOptions extends Partial<Omit<DatagramChannelOptions, 'maxDatagramSize'>> {
  /** `send()` returns false above this many bytes held (queued, unacknowledged, in the socket). */
  readonly highWaterMark: number;
  /** The largest datagram written, header included. @default 1200 */
  readonly maxDatagramSize?: number;
  /** Ask the server for a reliable channel (acks, retransmission, order, fragmentation). @default false */
  readonly reliable: boolean;
  /** @default the system clock */
  readonly clock?: Clock;
}

/**
 * The session protocol's transport for `udp://`: a connected UDP socket wrapped in the
 * datagram layer (docs/udp.md), presented to the Link as a `message` transport. One per
 * connection attempt, like every transport.
 *
 * @example
 * const resolver = { ...nodeResolver, open: (url, _s, handlers) =>
 *   udpSessionTransport(url, handlers, { highWaterMark: 65536, maxDatagramSize: 1200, reliable: true }) };
 */
export function udpSessionTransport(
  url: URL,
  handlers: TransportHandlers,
  options: UdpSessionTransportOptions,
): Transport {
  const { clock = systemClock, maxDatagramSize = 1200, ...channel } = options;
  return new DatagramSessionTransport(handlers, {
    ...channel,
    maxDatagramSize,
    clock,
    randomBytes: (size) => randomBytes(size),
    open: (inner) =>
      new UdpTransport(url, inner, { highWaterMark: options.highWaterMark, maxMessageSize: maxDatagramSize }),
  });
}
