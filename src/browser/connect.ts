import { ErrorCodes, SocklineError } from '../core/errors.js';
import { RawConnection } from '../core/raw-connection.js';
import { parseUrl } from '../core/url.js';
import type { TransportFactory } from '../core/transport.js';
import { BrowserWsTransport, type WebSocketConstructor } from './ws-transport.js';

export interface ConnectOptions {
  /** Only `raw` exists so far. @default 'raw' */
  protocol?: 'raw';
  /** The WebSocket constructor. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** `send()` returns false above this many buffered bytes. @default 1048576 */
  highWaterMark?: number;
}

/**
 * Opens a WebSocket connection (`ws://` or `wss://`). Browsers cannot open raw TCP or UDP
 * sockets, so other schemes are refused with `ERR_UNSUPPORTED_SCHEME`.
 *
 * @example
 * const conn = connect('wss://example.com/ws');
 * conn.on('message', (data) => console.log(data));
 */
export function connect(url: string | URL, options: ConnectOptions = {}): RawConnection {
  const parsed = parseUrl(url);
  if (parsed.scheme !== 'ws' && parsed.scheme !== 'wss') {
    throw new SocklineError(
      ErrorCodes.UNSUPPORTED_SCHEME,
      `${parsed.scheme}:// is not available in browsers, which cannot open raw TCP or UDP sockets: ` +
        'connect to a sockline server through its WebSocket listener (ws:// or wss://) instead',
    );
  }
  const highWaterMark = options.highWaterMark ?? 1 << 20;
  const factory: TransportFactory = (u, h) =>
    new BrowserWsTransport(u, h, { highWaterMark, WebSocket: options.WebSocket });
  return new RawConnection(factory, parsed.url, { highWaterMark });
}
