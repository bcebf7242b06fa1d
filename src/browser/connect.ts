import { createConnection, type TransportResolver } from '../core/connect.js';
import type { SocklineClient } from '../core/protocol/client.js';
import type {
  ConnectOptions,
  ConnectTarget,
  ProtocolConnectOptions,
  RawConnectOptions,
} from '../core/connect-options.js';
import { ErrorCodes, SocklineError } from '../core/errors.js';
import type { Link } from '../core/link/link.js';
import { linkDefaults } from '../core/link/options.js';
import { BrowserWsTransport, type WebSocketConstructor } from '../core/websocket-transport.js';
import { watchLifecycle } from './lifecycle.js';

const browserTransports: TransportResolver = {
  framing: () => null,
  init(options) {
    // Without a WebSocket (Node 20, server-side rendering) every attempt would fail the same
    // way, forever: say it now, and say what to pass.
    if (options.WebSocket === undefined && typeof globalThis.WebSocket !== 'function') {
      throw new SocklineError(
        ErrorCodes.UNSUPPORTED_SCHEME,
        "No WebSocket in this runtime: pass options.WebSocket (in Node, the WebSocket class of the ws package), or use sockline's Node build",
      );
    }
  },
  check(scheme) {
    if (scheme === 'ws' || scheme === 'wss') return;
    throw new SocklineError(
      ErrorCodes.UNSUPPORTED_SCHEME,
      `Browsers cannot open ${scheme}:// (no raw sockets): use the server's WebSocket listener, ws:// or wss://`,
    );
  },
  open(url, _scheme, handlers, options) {
    return new BrowserWsTransport(url, handlers, {
      highWaterMark: options.highWaterMark ?? linkDefaults.highWaterMark,
      WebSocket: options.WebSocket as WebSocketConstructor | undefined,
      protocols: options.protocols,
    });
  },
};

/**
 * Connects over WebSocket (`ws://`, `wss://`) and keeps the link up: reconnects with
 * backoff and jitter, at once when the browser comes back online or the page becomes
 * visible again, queues while down (bounded) and reports backpressure. Browsers cannot open
 * raw TCP or UDP sockets, so other schemes throw `ERR_UNSUPPORTED_SCHEME`, as does a runtime
 * with no `WebSocket` when none is passed in `options.WebSocket`.
 *
 * @example
 * const link = connect('wss://example.com/ws');
 * link.on('message', (data) => console.log(data));
 * link.send('hello');
 */
export function connect(target: ConnectTarget, options: RawConnectOptions): Link;
export function connect(target: ConnectTarget, options?: ProtocolConnectOptions): SocklineClient;
export function connect(target: ConnectTarget, options?: ConnectOptions): Link | SocklineClient;
export function connect(target: ConnectTarget, options?: ConnectOptions): Link | SocklineClient {
  const connection = createConnection(target, options, browserTransports);
  watchLifecycle(connection);
  return connection;
}
