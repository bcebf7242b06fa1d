import type {
  ConnectOptions,
  ConnectTarget,
  ProtocolConnectOptions,
  RawConnectOptions,
} from '../core/connect-options.js';
import { createConnection } from '../core/connect.js';
import type { Link } from '../core/link/api.js';
import type { SocklineClient } from '../core/protocol/client-api.js';
import { webSocketTransports } from '../core/websocket-resolver.js';
import { watchLifecycle } from './lifecycle.js';

/**
 * `connect()` with the full client and the general link over WebSocket (`ws://`, `wss://`), and
 * the page lifecycle: the same options, events and behaviour as the compact ones, with what
 * they leave to opt-in imports (streams and messages over one frame). The `connect` of
 * `sockline/streams` in a browser and of the CDN build.
 */
export function fullConnect(target: ConnectTarget, options: RawConnectOptions): Link;
export function fullConnect(target: ConnectTarget, options?: ProtocolConnectOptions): SocklineClient;
export function fullConnect(target: ConnectTarget, options?: ConnectOptions): Link | SocklineClient;
export function fullConnect(target: ConnectTarget, options?: ConnectOptions): Link | SocklineClient {
  const connection = createConnection(target, options, webSocketTransports);
  watchLifecycle(connection);
  return connection;
}
