import { createConnection } from '../core/connect.js';
import type { SocklineClient } from '../core/protocol/client.js';
import type {
  ConnectOptions,
  ConnectTarget,
  ProtocolConnectOptions,
  RawConnectOptions,
} from '../core/connect-options.js';
import type { Link } from '../core/link/link.js';
import { watchLifecycle } from './lifecycle.js';
import { browserTransports } from './transports.js';

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
