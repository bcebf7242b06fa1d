import type { ConnectOptions, ConnectTarget } from './connect-options.js';
import type { Link } from './link/api.js';
import type { SocklineClient } from './protocol/client.js';

/** `connect()` of the full client over WebSocket, both modes. */
export type FullConnect = (
  target: ConnectTarget,
  options: ConnectOptions | undefined,
) => Link | SocklineClient;

/**
 * The full client, once `sockline/streams` installed it (in a browser bundle). A browser
 * bundle's `connect()` makes the compact client and the compact link until then, so an app
 * that does not import it carries no reference to the full client; the Node build and the
 * IIFE always use it.
 */
let installed: FullConnect | null = null;

/** Installs the full client's `connect` (what `sockline/streams` does in a browser). */
export function installFullClient(connect: FullConnect): void {
  installed = connect;
}

/** The installed full client's `connect`, or null when `sockline/streams` was not imported. */
export function installedFullClient(): FullConnect | null {
  return installed;
}
