import { CloseCodes } from '../core/protocol/frames.js';
import { peerDriver, type Peer } from './peer.js';
import { serverDefaults } from './server-options.js';
import type { Connection } from './server-connection.js';

/** Options of `server.close()`. */
export interface CloseOptions {
  /**
   * Graceful: stop accepting, wait for requests in flight, then send every session CLOSE 1001
   * with a `reconnectAfter` drawn uniformly from `[0, window)` (so a restart does not bring
   * every client back at the same instant), then wait for the connections to end.
   * @default false
   */
  drain?: boolean;
  /** Spread of the `reconnectAfter` delays, in ms. @default 5000 */
  window?: number;
  /** Longest wait for requests in flight, and then for connections to end, in ms. @default 5000 */
  timeout?: number;
  /** Source of the delays (tests). @default Math.random */
  random?: () => number;
}

/** Resolves when `done()` holds (checked every `every` ms) or after `ms`; leaves no timer. */
function until(done: () => boolean, ms: number, every = 10): Promise<void> {
  return new Promise((resolve) => {
    if (done()) return resolve();
    const deadline = Date.now() + ms;
    const poll = setInterval(() => {
      if (done() || Date.now() >= deadline) {
        clearInterval(poll);
        resolve();
      }
    }, every);
  });
}

/**
 * The graceful part of `close({ drain: true })`. Requests are waited for *before* CLOSE: once
 * a session's CLOSE is sent its responses could no longer be written. Listeners have already
 * stopped accepting.
 */
export async function drainServer(
  peers: readonly Peer[],
  connections: ReadonlySet<Connection>,
  options: CloseOptions,
): Promise<void> {
  const window = options.window ?? serverDefaults.drainWindow;
  const timeout = options.timeout ?? serverDefaults.drainTimeout;
  const random = options.random ?? Math.random;
  if (!(window >= 0 && Number.isFinite(window)))
    throw new RangeError(`Invalid option window: ${String(window)}`);
  if (!(timeout >= 0 && Number.isFinite(timeout)))
    throw new RangeError(`Invalid option timeout: ${String(timeout)}`);

  const driver = peerDriver();
  await until(() => peers.every((p) => driver.inFlight(p).size === 0), timeout);

  for (const c of connections) {
    if (c.pending) c.wire.destroy();
    else c.session.close(CloseCodes.GOING_AWAY, 'server shutting down', Math.floor(random() * window));
  }
  // CLOSE is written; clients hang up on it. Sockets that do not are destroyed by the caller.
  await until(() => connections.size === 0, timeout);
}
