import type { ClientOptions } from 'ws';
import { createConnection, type TransportResolver } from '../core/connect.js';
import type { SocklineClient } from '../core/protocol/client.js';
import type { ProtocolOptions } from '../core/protocol/options.js';
import { createFraming } from '../core/framing/index.js';
import type { ConnectOptions, ConnectTarget } from '../core/connect-options.js';
import type { Link } from '../core/link/link.js';
import { linkDefaults } from '../core/link/options.js';
import { BrowserWsTransport, type WebSocketConstructor } from '../browser/ws-transport.js';
import { TcpTransport } from './tcp-transport.js';
import { UdpTransport } from './udp-transport.js';
import { udpSessionTransport } from './udp-session.js';
import { NodeWsTransport } from './ws-transport.js';
import { nodeTlsOptions } from './tls-options.js';

/** The safe UDP payload size: under common path MTUs once IP and UDP headers are added. */
const DEFAULT_MAX_DATAGRAM = 1200;

const nodeTransports: TransportResolver = {
  framing(options) {
    const spec = options.framing ?? 'length';
    return typeof spec === 'string'
      ? createFraming({ type: spec, maxFrameSize: options.maxFrameSize })
      : createFraming(spec);
  },
  check() {
    // Node opens every scheme sockline knows.
  },
  open(url, scheme, handlers, options) {
    const highWaterMark = options.highWaterMark ?? linkDefaults.highWaterMark;
    switch (scheme) {
      case 'tcp':
      case 'tls':
        return new TcpTransport(url, handlers, {
          highWaterMark,
          tls: scheme === 'tls' ? (options.tls ?? {}) : false,
          keepAlive: options.keepAlive ?? false,
        });
      case 'udp':
        // Raw mode: one datagram per message. Protocol mode: the datagram layer (docs/udp.md)
        // with its stateless cookie, connection ids and, with `reliable`, acks and retransmission.
        if (options.protocol === 'raw') {
          return new UdpTransport(url, handlers, {
            highWaterMark,
            maxMessageSize: options.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM,
          });
        }
        return udpSessionTransport(url, handlers, {
          highWaterMark,
          maxDatagramSize: options.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM,
          reliable: options.reliable ?? false,
        });
      case 'ws':
      case 'wss':
        if (options.WebSocket !== undefined) {
          return new BrowserWsTransport(url, handlers, {
            highWaterMark,
            WebSocket: options.WebSocket as WebSocketConstructor,
            protocols: options.protocols,
          });
        }
        return new NodeWsTransport(url, handlers, {
          highWaterMark,
          protocols: options.protocols,
          ws: options.tls ? (nodeTlsOptions(options.tls) as ClientOptions) : undefined,
        });
    }
  },
};

/**
 * Connects to `tcp://`, `tls://`, `udp://`, `ws://` or `wss://` and keeps the link up:
 * reconnects with backoff and jitter, queues while down (bounded), reports backpressure.
 *
 * @example
 * const link = connect('tcp://127.0.0.1:7000', { protocol: 'raw', framing: 'lines' });
 * link.on('message', (line) => console.log(line));
 * link.send('PING');
 */
export function connect(target: ConnectTarget, options: ConnectOptions & { protocol: 'raw' }): Link;
export function connect(target: ConnectTarget, options?: ConnectOptions & ProtocolOptions): SocklineClient;
export function connect(
  target: ConnectTarget,
  options: ConnectOptions & ProtocolOptions = {},
): Link | SocklineClient {
  return createConnection(target, options, nodeTransports);
}
