import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/node/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { MemorySessionStore, type SessionStore } from '../../src/core/protocol/server-session.js';
import { createServer, type Peer, type SocklineServer } from '../../src/node/server.js';
import { mulberry32 } from '../support/udp-proxy.js';
import { testSeed } from '../support/seed.js';

/**
 * A server process that dies takes its in-memory sessions with it. What sockline promises:
 * with the sessions in a store the restarted server shares, the session resumes and nothing
 * is lost or duplicated; without one, the client is told (`sessionlost`) and what it had
 * not seen acknowledged is sent again, so nothing it sent disappears silently.
 */

const COUNT = 2_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const servers: SocklineServer[] = [];
const clients: SocklineClient[] = [];
const stores: MemorySessionStore[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const s of stores.splice(0)) s.clear();
});

async function startServer(
  transport: 'tcp' | 'ws',
  port: number,
  store?: SessionStore,
): Promise<SocklineServer> {
  const server = createServer({ [transport]: { port }, ...(store ? { store } : {}) });
  servers.push(server);
  await server.listen();
  return server;
}

/** Two-way numbered streams through one abrupt server restart. */
async function streamThroughRestart(transport: 'tcp' | 'ws', sharedStore: boolean, seed: number) {
  const random = mulberry32(seed);
  const store = new MemorySessionStore();
  stores.push(store);
  const first = await startServer(transport, 0, sharedStore ? store : undefined);
  const url = first.addresses[transport]!;
  const port = Number(new URL(url).port);

  // The kill lands somewhere in the middle of both streams: in the same task as the message
  // that reaches `killAt`, so a fast stream cannot finish before it.
  const killAt = Math.floor(COUNT / 4 + random() * (COUNT / 2));
  let reached!: () => void;
  const killPoint = new Promise<void>((resolve) => (reached = resolve));
  const atServer: number[] = [];
  let current: Peer | undefined;
  const adopt = (peer: Peer): void => {
    current = peer;
    peer.on('message', (v) => {
      if (atServer.push(v as number) === killAt) reached();
    });
  };
  first.on('connection', adopt);

  const client = connect(url, {
    reconnect: { initialDelay: 10, maxDelay: 50 },
    outbox: { maxMessages: 2 * COUNT, maxBytes: 8 << 20 },
  });
  clients.push(client);
  const atClient: number[] = [];
  client.on('message', (v) => atClient.push(v as number));
  const sessions: boolean[] = [];
  client.on('session', ({ resumed }) => sessions.push(resumed));
  const lost: Array<{ resent: number }> = [];
  client.on('sessionlost', (info) => lost.push(info));
  await client.opened;
  await expect.poll(() => current).toBeDefined();

  let second: SocklineServer | undefined;
  const restart = (async () => {
    await killPoint;
    current = undefined;
    // No drain, no CLOSE frame: every connection is destroyed where it stands.
    await first.close();
    await sleep(Math.floor(random() * 50));
    second = await startServer(transport, port, sharedStore ? store : undefined);
    second.on('connection', adopt);
  })();
  const clientSide = (async () => {
    for (let n = 0; n < COUNT; n++) {
      client.send(n);
      if (n % 50 === 49) await sleep(2);
    }
  })();
  const serverSide = (async () => {
    for (let n = 0; n < COUNT; n++) {
      // A server that is down sends nothing; the restarted one goes on where it stopped.
      while (current === undefined) await sleep(2);
      current.send(n);
      if (n % 50 === 49) await sleep(2);
    }
  })();
  await Promise.all([restart, clientSide, serverSide]);
  return { client, atServer, atClient, sessions, lost, second: second! };
}

const increasing = (list: readonly number[]): boolean => list.every((n, i) => i === 0 || n > list[i - 1]!);

describe('a server killed mid-stream and restarted on the same port', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`resumes from a shared store with nothing lost or duplicated, in order, both ways (${transport})`, async () => {
      const seed = testSeed();
      try {
        const { atServer, atClient, sessions, lost } = await streamThroughRestart(transport, true, seed);
        const expected = Array.from({ length: COUNT }, (_, i) => i);
        await expect.poll(() => atServer.length, { timeout: 10_000 }).toBe(COUNT);
        await expect.poll(() => atClient.length, { timeout: 10_000 }).toBe(COUNT);
        expect(atServer).toEqual(expected);
        expect(atClient).toEqual(expected);
        expect(lost).toEqual([]);
        // The first handshake, then the resume on the restarted server.
        expect(sessions).toEqual([false, true]);
      } catch (err) {
        console.error(`restart test failed with seed ${seed} (rerun with SOCKLINE_SEED=${seed})`);
        throw err;
      }
    });
  }

  it('without a shared store, tells the client sessionlost and sends its unacknowledged messages again', async () => {
    const seed = testSeed();
    try {
      const { atServer, atClient, sessions, lost } = await streamThroughRestart('tcp', false, seed);
      const all = Array.from({ length: COUNT }, (_, i) => i);
      // Client -> server: every message arrives at least once (across the two servers)...
      await expect.poll(() => new Set(atServer).size, { timeout: 10_000 }).toBe(COUNT);
      expect([...new Set(atServer)].sort((a, b) => a - b)).toEqual(all);
      // ...the only repeats are messages the client announced it was sending again...
      expect(lost).toHaveLength(1);
      expect(atServer.length - COUNT).toBeLessThanOrEqual(lost[0]!.resent);
      // ...and each server saw its part in order.
      const restartedAt = atServer.findIndex((n, i) => i > 0 && n <= atServer[i - 1]!);
      expect(increasing(restartedAt === -1 ? atServer : atServer.slice(0, restartedAt))).toBe(true);
      if (restartedAt !== -1) expect(increasing(atServer.slice(restartedAt))).toBe(true);
      // Server -> client: what the dead server held is gone, and the client was told so;
      // what it did receive came once each, in order.
      expect(sessions).toEqual([false, false]);
      await expect.poll(() => atClient.at(-1), { timeout: 10_000 }).toBe(COUNT - 1);
      expect(increasing(atClient)).toBe(true);
    } catch (err) {
      console.error(`restart test failed with seed ${seed} (rerun with SOCKLINE_SEED=${seed})`);
      throw err;
    }
  });
});
