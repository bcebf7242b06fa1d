import { FullClient } from './protocol/client.js';
import type { SocklineClient } from './protocol/client-api.js';
import { resolveProtocolOptions } from './protocol/options.js';
import type { ConnectOptions, ConnectTarget, ProtocolConnectOptions } from './connect-options.js';
import { createLink, type TransportResolver } from './connect-link.js';
import type { Link } from './link/link.js';
import { checkConnectOptions } from './options/connect-schema.js';
import { optionRangeError } from './options/messages.js';

export { createLink, createRawConnection } from './connect-link.js';
export type { RawLinkOptions, TransportResolver } from './connect-link.js';

/**
 * `connect()` for every runtime: the options are checked once (unknown names, wrong types),
 * then protocol mode (the default) wraps the link in a session and `protocol: 'raw'` returns
 * the link itself.
 */
export function createConnection(
  target: ConnectTarget,
  options: ConnectOptions | undefined,
  resolver: TransportResolver,
): Link | SocklineClient {
  const mode = checkConnectOptions(options);
  const checked: ConnectOptions = options ?? {};
  resolver.init?.(checked);
  if (mode === 'raw') return createLink(target, checked, resolver);
  const framing = checked.framing;
  if (framing !== undefined && framing !== 'length') {
    throw optionRangeError('framing', framing, "'length' (protocol mode frames its own messages)");
  }
  const protocolOptions = resolveProtocolOptions(checked as ProtocolConnectOptions);
  return new FullClient(
    (handshake) => createLink(target, { ...checked, framing: 'length' }, resolver, handshake),
    protocolOptions,
  );
}
