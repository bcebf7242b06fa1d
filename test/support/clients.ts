/**
 * The two protocol clients, for cases run against both: the full client (`connect` of the Node
 * build) and the compact client a browser bundle gets, here over the `ws` package's WebSocket
 * (the one a page would have, with the same WHATWG interface).
 */
import WebSocket from 'ws';
import { connect, type ProtocolConnectOptions } from '../../src/node/index.js';
import { compactClient } from '../../src/browser/connect.js';
import { CompactClient } from '../../src/browser/compact/client.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';

export type ClientKind = 'full' | 'compact';

export const CLIENT_KINDS: readonly ClientKind[] = ['full', 'compact'];

/** Opens a client of `kind`; the compact one speaks only WebSocket (`url` must be ws://). */
export function connectAs(
  kind: ClientKind,
  url: string,
  options: ProtocolConnectOptions = {},
): SocklineClient {
  if (kind === 'full') return connect(url, options);
  const client = compactClient(url, { WebSocket, ...options });
  if (!(client instanceof CompactClient)) throw new Error('expected the compact client');
  return client;
}

/** The full client on both its main transports, and the compact one on WebSocket, the only one it has. */
export const TRANSPORT_CLIENTS = [
  ['tcp', 'full'],
  ['ws', 'full'],
  ['ws', 'compact'],
] as const;

/** How a case names its transport and client: `tcp`, `ws`, `ws, the compact client`. */
export function clientLabel(transport: string, kind: ClientKind): string {
  return kind === 'compact' ? `${transport}, the compact client` : transport;
}
