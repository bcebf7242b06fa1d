import {
  createConnection,
  createRawConnection,
  type RawLinkOptions,
  type TransportResolver,
} from '../core/connect.js';
import type { SocklineClient } from '../core/protocol/client.js';
import { createFraming } from '../core/framing/index.js';
import type {
  ConnectOptions,
  ConnectTarget,
  ProtocolConnectOptions,
  RawConnectOptions,
} from '../core/connect-options.js';
import type { Link } from '../core/link/link.js';
import { byteWires, datagramTooLarge } from '../core/link/byte-wires.js';
import { linkDefaults } from '../core/link/options.js';
import { BrowserWsTransport, type WebSocketConstructor } from '../core/websocket-transport.js';
import { TcpTransport } from './tcp-transport.js';
import { UdpTransport } from './udp-transport.js';
import { udpSessionTransport } from './udp-session.js';
import { NodeWsTransport } from './ws-transport.js';

/** The safe UDP payload size: under common path MTUs once IP and UDP headers are added. */
const DEFAULT_MAX_DATAGRAM = 1200;

const encoder = new TextEncoder();

const nodeTransports: TransportResolver = {
  wire: byteWires,
  // What a stream's framing (a line holding its delimiter, a frame over maxFrameSize) or a
  // datagram's size limit would refuse is refused while the link is down too.
  sendCheck(schemes, framing, options) {
    const stream = framing !== null && (schemes.has('tcp') || schemes.has('tls')) ? framing : null;
    const datagram = schemes.has('udp') ? (options.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM) : Infinity;
    if (stream === null && datagram === Infinity) return null;
    return (message) => {
      const bytes = typeof message === 'string' ? encoder.encode(message) : message;
      stream?.encode(bytes);
      if (bytes.byteLength > datagram) throw datagramTooLarge(bytes.byteLength, datagram);
    };
  },
  framing(options) {
    const spec = options.framing ?? 'length';
    // Checked by createConnection: a name, a Framing, or { type, maxFrameSize, delimiter }.
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
          localAddress: options.localAddress,
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
          reliable: (options as ProtocolConnectOptions).reliable ?? false,
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
          tls: options.tls,
          headers: options.headers,
          agent: options.agent,
          localAddress: options.localAddress,
          followRedirects: options.followRedirects,
          keepAlive: options.keepAlive ?? false,
          sockline: options.protocol !== 'raw',
        });
    }
  },
};

/**
 * Connects to `tcp://`, `tls://`, `udp://`, `ws://` or `wss://` and keeps the link up:
 * reconnects with backoff and jitter, queues while down (bounded), reports backpressure.
 * Protocol mode (the default) returns a `SocklineClient`; `protocol: 'raw'` returns a `Link`.
 * Bad options throw a `TypeError` or `RangeError` carrying `ERR_INVALID_OPTION`.
 *
 * @example
 * const link = connect('tcp://127.0.0.1:7000', { protocol: 'raw', framing: 'lines' });
 * link.on('message', (line) => console.log(line));
 * link.send('PING');
 */
export function connect(target: ConnectTarget, options: RawConnectOptions): Link;
export function connect(target: ConnectTarget, options?: ProtocolConnectOptions): SocklineClient;
export function connect(target: ConnectTarget, options?: ConnectOptions): Link | SocklineClient;
export function connect(target: ConnectTarget, options?: ConnectOptions): Link | SocklineClient {
  return createConnection(target, options, nodeTransports);
}

/**
 * Raw mode alone, the same as `connect(target, { protocol: 'raw', … })`: a reconnecting link
 * to any server over TCP, TLS, UDP or WebSocket, framed as `options.framing` says. In a
 * browser bundle it leaves the session protocol out.
 *
 * @example
 * const link = connectRaw('tcp://127.0.0.1:7000', { framing: 'lines' });
 * link.on('message', (line) => console.log(line));
 * link.send('PING');
 */
export function connectRaw(target: ConnectTarget, options?: RawLinkOptions): Link {
  return createRawConnection(target, options, nodeTransports);
}
