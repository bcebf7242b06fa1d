import type { SocklineClient } from '../core/protocol/client-api.js';
import type {
  ConnectOptions,
  ConnectTarget,
  ProtocolConnectOptions,
  RawConnectOptions,
} from '../core/connect-options.js';
import { installedFullClient } from '../core/full-client.js';
import type { Link } from '../core/link/api.js';
import { CompactClient } from './compact/client.js';
import { compactOptions } from './compact/session-options.js';
import { createCompactLink } from './compact/link.js';
import { checkConnect } from './compact/options.js';
import { watchLifecycle } from './lifecycle.js';

/**
 * Connects over WebSocket (`ws://`, `wss://`) and keeps the link up: reconnects with
 * backoff and jitter, at once when the browser comes back online or the page becomes
 * visible again, queues while down (bounded) and reports backpressure. Browsers cannot open
 * raw TCP or UDP sockets, so other schemes throw `ERR_UNSUPPORTED_SCHEME`, as does a runtime
 * with no `WebSocket` when none is passed in `options.WebSocket`.
 *
 * In a browser bundle it makes the compact client (protocol mode) and the compact link (raw
 * mode); an opt-in import (`sockline/handle`, `sockline/streams`, `sockline/iterate`,
 * `sockline/verbose`) makes it use the full ones instead, which carry what those add.
 *
 * @example
 * const client = connect('wss://example.com/ws');
 * client.on('message', (value) => console.log(value));
 * client.send({ hello: 'world' });
 */
export function connect(target: ConnectTarget, options: RawConnectOptions): Link;
export function connect(target: ConnectTarget, options?: ProtocolConnectOptions): SocklineClient;
export function connect(target: ConnectTarget, options?: ConnectOptions): Link | SocklineClient;
export function connect(target: ConnectTarget, options?: ConnectOptions): Link | SocklineClient {
  const full = installedFullClient();
  const connection =
    full !== null
      ? full(target, options)
      : options?.protocol === 'raw'
        ? compactLink(target, options)
        : compactClient(target, options);
  watchLifecycle(connection);
  return connection;
}

/**
 * Protocol mode without an opt-in: the compact client over the link. Exported for the tests
 * that run the same cases against both clients; applications call `connect()`.
 */
export function compactClient(target: ConnectTarget, options: ConnectOptions | undefined): SocklineClient {
  // Either mode's options are checked here; another `protocol` is refused here too.
  checkConnect(options);
  const checked: ConnectOptions = options ?? {};
  return new CompactClient(
    (handshake) => createCompactLink(target, checked, handshake),
    compactOptions(checked as ProtocolConnectOptions),
  );
}

/** Raw mode without an opt-in: the compact link. */
function compactLink(target: ConnectTarget, options: RawConnectOptions): Link {
  checkConnect(options);
  return createCompactLink(target, options);
}
