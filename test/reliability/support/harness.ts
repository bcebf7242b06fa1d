import { afterEach, beforeEach, expect } from 'vitest';
import { connect, type ProtocolConnectOptions } from '../../../src/node/index.js';
import type { SocklineClient } from '../../../src/core/protocol/client.js';
import { encodeFrame } from '../../../src/core/protocol/frames-encode.js';
import type { Frame } from '../../../src/core/protocol/frames.js';
import { createServer, type ServerOptions, type SocklineServer } from '../../../src/node/server.js';
import { framed, rawPeer } from './raw-peer.js';
import { expectHealthy, healthyClient, prototypeNames, rawWsPeer, type HealthyClient } from './healthy.js';

/**
 * Sockets and listening servers open now (timers are not counted: a client's ping timer may
 * outlive its close by one heartbeat interval, which is not the server's to answer for).
 */
function activeHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'TTYWrap').length;
}

/** What a test of a hostile case gets from {@link hostileHarness}. */
export interface Harness {
  /**
   * Starts a server on TCP and WebSocket with `options` (and an `echo` handler), and a
   * healthy client beside it on WebSocket, checked after the test.
   */
  start(options?: ServerOptions): Promise<SocklineServer>;
  /** A sockline client that reconnects fast; closed after the test. */
  client(url: string, options?: ProtocolConnectOptions): SocklineClient;
  /** Something to destroy (or close) after the test, before the server closes. */
  track<T extends { destroy(): void } | { close(): Promise<void> }>(thing: T): T;
}

/**
 * Registers the checks every hostile case shares: after each test, the healthy client must
 * still be answered while what the test opened is open, then that is closed; the healthy
 * client must have been served all along (no request failed its 5 s timeout), the server
 * closes and leaves no handle behind, and `Object.prototype` is what it was before.
 */
export function hostileHarness(): Harness {
  let server: SocklineServer | undefined;
  let healthy: HealthyClient | undefined;
  const clients: SocklineClient[] = [];
  const tracked: Array<{ destroy(): void } | { close(): Promise<void> }> = [];
  let prototypeBefore: string[] = [];
  let handlesBefore = 0;

  beforeEach(() => {
    prototypeBefore = prototypeNames();
    handlesBefore = activeHandles();
  });
  afterEach(async () => {
    // Served while what the case opened is still open: the hostile peers are still connected
    // (or were refused by the server), so these answers came during the case, not after it.
    if (healthy !== undefined) await healthy.served(3);
    const things = tracked.splice(0);
    for (const t of things) if ('destroy' in t) t.destroy();
    await Promise.all(clients.splice(0).map((c) => c.close()));
    if (healthy !== undefined) expectHealthy(await healthy.stop());
    healthy = undefined;
    await Promise.all(things.map((t) => ('close' in t ? t.close() : undefined)));
    await server?.close();
    server = undefined;
    expect(prototypeNames()).toEqual(prototypeBefore);
    // Every socket and listener the case made is gone once the server is closed.
    await expect.poll(activeHandles, { timeout: 5_000 }).toBeLessThanOrEqual(handlesBefore);
  });

  return {
    async start(options = {}) {
      server = createServer({ tcp: {}, ws: {}, ...options });
      server.handle('echo', (p) => p);
      await server.listen();
      healthy = await healthyClient(server.addresses.ws!);
      return server;
    },
    client(url, options = {}) {
      const c = connect(url, { reconnect: { initialDelay: 20, maxDelay: 100 }, ...options });
      clients.push(c);
      return c;
    },
    track(thing) {
      tracked.push(thing);
      return thing;
    },
  };
}

/** A raw peer of either transport, through its handshake: frames in by hand, every frame out kept. */
export interface RawSession {
  /** Sends a frame, or frames (a batch per event-loop turn when there are many, as a flooding peer). */
  send(frames: Frame | readonly Frame[]): void;
  readonly frames: Frame[];
  /** Whether a PING is still answered (the connection is served, not stuck or closed). */
  alive(): Promise<boolean>;
  /** Ends the connection at once (the session stays, detached). */
  destroy(): void;
}

/** Opens a raw session on `transport` of `server` with `capabilities` in its HELLO. */
export async function rawSession(
  harness: Harness,
  server: SocklineServer,
  transport: 'tcp' | 'ws',
  capabilities = 7,
): Promise<RawSession> {
  const hello: Frame = { type: 'hello', versions: [2], capabilities, codec: 'json' };
  let nonce = 0;
  if (transport === 'tcp') {
    const p = harness.track(await rawPeer(server.addresses.tcp!));
    p.write(framed(encodeFrame(hello)));
    await expect.poll(() => p.frames.some((f) => f.type === 'welcome')).toBe(true);
    return {
      send: (frames) =>
        void inTurns(frames, (batch) => p.write(Buffer.concat(batch.map((f) => framed(encodeFrame(f)))))),
      frames: p.frames,
      alive: async () => (await p.probe(++nonce)) === 'pong',
      destroy: () => p.destroy(),
    };
  }
  const p = harness.track(await rawWsPeer(server.addresses.ws!));
  await p.hello({ capabilities });
  return {
    send: (frames) => void inTurns(frames, (batch) => batch.forEach((f) => p.send(f))),
    frames: p.frames,
    async alive() {
      const n = ++nonce;
      p.send({ type: 'ping', nonce: n });
      return p
        .next((f): f is Frame => f.type === 'pong' && f.nonce === n)
        .then(
          () => true,
          () => false,
        );
    },
    destroy: () => p.destroy(),
  };
}

/**
 * Hands `frames` to `write` 2,000 at a time, one batch per event-loop turn: flooding peers
 * live in the test's process, and encoding 200,000 frames at once would stall the healthy
 * client by itself, whatever the server does.
 */
async function inTurns(
  one: Frame | readonly Frame[],
  write: (batch: readonly Frame[]) => void,
): Promise<void> {
  const frames: readonly Frame[] = Array.isArray(one) ? one : [one as Frame];
  for (let i = 0; i < frames.length; i += 2_000) {
    write(frames.slice(i, i + 2_000));
    if (i + 2_000 < frames.length) await new Promise((r) => setImmediate(r));
  }
}
