import type { ConnectOptions, ConnectTarget } from './connect-options.js';
import type { Link } from './link/api.js';
import type { SocklineClient } from './protocol/client.js';

/** `connect()` of the full client over WebSocket, both modes. */
export type FullConnect = (
  target: ConnectTarget,
  options: ConnectOptions | undefined,
) => Link | SocklineClient;

/**
 * The full client, once an opt-in import (`sockline/handle`, `sockline/streams`,
 * `sockline/iterate`, `sockline/verbose`) installed it. A browser bundle's `connect()` makes
 * the compact client and the compact link until then, so an app that imports none of them
 * carries no reference to the full client; the Node build and the IIFE always use it.
 */
let installed: FullConnect | null = null;

/** Installs the full client's `connect` (what each opt-in import does when imported). */
export function installFullClient(connect: FullConnect): void {
  installed = connect;
}

/** The installed full client's `connect`, or null when no opt-in was imported. */
export function installedFullClient(): FullConnect | null {
  return installed;
}
