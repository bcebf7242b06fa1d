/**
 * `sockline/streams` in a browser: `streams` for `connect(url, { streams })`, and the `connect`
 * that carries them, the full client over WebSocket. An app that imports `connect` from here
 * carries one client:
 *
 * ```ts
 * import { connect, streams } from 'sockline/streams';
 *
 * const client = connect('wss://example.com/ws', { streams });
 * ```
 *
 * Importing this entry also makes `connect` from `sockline` return the full client, so an app
 * that imports `connect` from `sockline` and `streams` from here works too; it carries the
 * compact client as well, which it never uses.
 */
import '../core/opt-in/full-client.js';
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

export * from '../core/streams/index.js';

/**
 * `connect()` of `sockline` with the full client, the one that takes `streams`: the same
 * options, events and page lifecycle, over WebSocket (`ws://`, `wss://`).
 *
 * @example
 * const client = connect('wss://example.com/ws', { streams });
 * await file.stream().pipeTo(client.openStream({ name: file.name }).writable);
 */
export function connect(target: ConnectTarget, options: RawConnectOptions): Link;
export function connect(target: ConnectTarget, options?: ProtocolConnectOptions): SocklineClient;
export function connect(target: ConnectTarget, options?: ConnectOptions): Link | SocklineClient;
export function connect(target: ConnectTarget, options?: ConnectOptions): Link | SocklineClient {
  const connection = createConnection(target, options, webSocketTransports);
  watchLifecycle(connection);
  return connection;
}
