import { RawConnection } from '../core/raw-connection.js';
import { parseUrl } from '../core/url.js';
import type { TransportFactory } from '../core/transport.js';
import { TcpTransport, type TlsOptions } from './tcp-transport.js';
import { NodeWsTransport } from './ws-transport.js';

export interface ConnectOptions {
  /** Only `raw` exists so far. @default 'raw' */
  protocol?: 'raw';
  /** TLS settings for `tls://` and `wss://`. */
  tls?: TlsOptions;
  /** `send()` returns false above this many buffered bytes. @default 1048576 */
  highWaterMark?: number;
}

/**
 * Opens a connection to `tcp://`, `tls://`, `ws://` or `wss://`.
 *
 * @example
 * const conn = connect('tcp://127.0.0.1:7000');
 * conn.on('message', (chunk) => console.log(chunk));
 * await conn.opened;
 * conn.send('hello\n');
 */
export function connect(url: string | URL, options: ConnectOptions = {}): RawConnection {
  const parsed = parseUrl(url);
  const highWaterMark = options.highWaterMark ?? 1 << 20;
  switch (parsed.scheme) {
    case 'tcp':
    case 'tls': {
      const tls = parsed.scheme === 'tls' ? (options.tls ?? {}) : false;
      const factory: TransportFactory = (u, h) =>
        new TcpTransport(u, h, { highWaterMark, tls, keepAlive: false });
      return new RawConnection(factory, parsed.url, { highWaterMark });
    }
    case 'ws':
    case 'wss': {
      const factory: TransportFactory = (u, h) =>
        new NodeWsTransport(u, h, { highWaterMark, ws: options.tls ? { ...options.tls } : undefined });
      return new RawConnection(factory, parsed.url, { highWaterMark });
    }
    case 'udp':
      throw new TypeError('udp:// is not available yet');
  }
}
