import type { createConnection } from './connect.js';

/**
 * The full client, once an opt-in import (`sockline/handle`, `sockline/streams`,
 * `sockline/iterate`, `sockline/verbose`) installed it. A browser bundle's `connect()` makes
 * the compact client and the compact link until then, so an app that imports none of them
 * carries no reference to the full client; the Node build and the IIFE always use it.
 */
let installed: typeof createConnection | null = null;

/** Installs the full client's `connect` (what each opt-in import does when imported). */
export function installFullClient(connect: typeof createConnection): void {
  installed = connect;
}

/** The installed full client's `connect`, or null when no opt-in was imported. */
export function installedFullClient(): typeof createConnection | null {
  return installed;
}
