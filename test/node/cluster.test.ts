import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, type SocklineServer } from '../../src/node/index.js';
import { redisAdapter } from '../../src/node/redis/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { publicIdOf } from '../../src/core/protocol/session-id.js';
import { freePort, startRedis, type RedisServer } from '../support/redis.js';
import { faults, removeClusterBuild, startClusterNode, type ClusterNode } from '../support/cluster.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

let redis: RedisServer;
let nodes: ClusterNode[] = [];
let clients: SocklineClient[] = [];
let cluster = 0;

beforeAll(async () => {
  // The persistence docs/scaling.md asks for: a Redis restart loses nothing, so sessions live
  // on across it (without it, the restart is reported as a loss: test/deploy/redis-crash.test.ts).
  redis = await startRedis('aof');
});
afterAll(async () => {
  await redis?.remove();
  await removeClusterBuild();
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  expect(faults(nodes)).toEqual([]);
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
});

/** `count` server processes sharing one Redis under a fresh key prefix. */
async function startCluster(
  count: number,
  extra: { maxForwardMessages?: number } = {},
): Promise<ClusterNode[]> {
  const prefix = `t${process.pid}c${++cluster}`;
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startClusterNode({ name: `p${i + 1}`, redisUrl: redis.url, prefix, ...extra }),
    ),
  );
  nodes.push(...started);
  return started;
}

function client(url: string | string[]): SocklineClient {
  const c = connect(url, { reconnect: { initialDelay: 20, maxDelay: 200 } });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

/** Values a client receives on a topic pattern, in order. */
function collect(c: SocklineClient, pattern: string): unknown[] {
  const got: unknown[] = [];
  c.subscribe(pattern, (v) => got.push(v));
  return got;
}

/** An in-process server that reaches Redis through a fault-injecting proxy, under a fresh prefix. */
async function behindProxy(
  options: Parameters<typeof redisAdapter>[0],
): Promise<{ proxy: TcpProxy; prefix: string; server: SocklineServer }> {
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: redis.port });
  const prefix = `t${process.pid}c${++cluster}`;
  const adapter = redisAdapter({ url: `redis://127.0.0.1:${proxy.port}`, prefix, ...options });
  return { proxy, prefix, server: createServer({ tcp: {}, adapter }) };
}

/** Waits until a subscription is known to the server (a request after it is answered after it). */
async function settled(c: SocklineClient): Promise<void> {
  await c.opened;
  await c.request('whoami');
}

describe('a cluster of server processes through Redis', () => {
  it('delivers a publish made on one process to subscribers on the others, over TCP and WebSocket', async () => {
    const [a, b, c] = await startCluster(3);
    const subs = [client(b!.tcp), client(b!.ws), client(c!.tcp), client(c!.ws), client(a!.ws)];
    const got = subs.map((s) => collect(s, 'news/+'));
    await Promise.all(subs.map(settled));
    const publisher = client(a!.tcp);
    await publisher.opened;
    for (let i = 0; i < 20; i++) publisher.publish(`news/${i % 2 ? 'odd' : 'even'}`, { i });
    const expected = Array.from({ length: 20 }, (_, i) => ({ i }));
    for (const g of got) await expect.poll(() => g, { timeout: 5_000 }).toEqual(expected);
    // Which process each client is on is real: three distinct processes answered.
    const names = await Promise.all([a, b, c].map((n) => client(n!.tcp).request('whoami')));
    expect(new Set(names).size).toBe(3);
  });

  it('delivers room broadcasts and server.broadcast to peers on every process, and only to room members', async () => {
    const [a, b, c] = await startCluster(3);
    const inRoom = [client(a!.tcp), client(b!.ws), client(c!.tcp)];
    const outside = client(b!.tcp);
    const received = new Map<SocklineClient, unknown[]>();
    for (const cl of [...inRoom, outside]) {
      const list: unknown[] = [];
      received.set(cl, list);
      cl.on('message', (v) => list.push(v));
    }
    for (const cl of inRoom) expect(await cl.request('join', 'lobby')).toEqual(['lobby']);
    await outside.opened;
    const caller = client(c!.ws);
    await caller.request('broadcast', { value: { to: 'lobby' }, room: 'lobby' });
    await caller.request('broadcast', { value: { to: 'all' } });
    for (const cl of inRoom)
      await expect.poll(() => received.get(cl), { timeout: 5_000 }).toEqual([{ to: 'lobby' }, { to: 'all' }]);
    await expect.poll(() => received.get(outside), { timeout: 5_000 }).toEqual([{ to: 'all' }]);
  });

  it('moves a client to another live process: it resumes there and the first process lets go of it', async () => {
    const [a, b] = await startCluster(2);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(a!.tcp).port) });
    try {
      const mover = client([proxy.url, b!.tcp]);
      const got = collect(mover, 'moving');
      const sessions: boolean[] = [];
      let lost = 0;
      mover.on('session', ({ resumed }) => sessions.push(resumed));
      mover.on('sessionlost', () => lost++);
      await settled(mover);
      expect(await mover.request('whoami')).toBe('p1');
      expect(await mover.request('join', 'lobby')).toEqual(['lobby']);
      const messages: unknown[] = [];
      mover.on('message', (v) => messages.push(v));
      const publisher = client(a!.ws);
      await publisher.opened;
      for (let i = 0; i < 50; i++) publisher.publish('moving', i);
      await expect.poll(() => got.length, { timeout: 5_000 }).toBe(50);
      // The way to the first process is gone (it lives on): the client's next URL is the other.
      await proxy.close();
      for (let i = 50; i < 100; i++) publisher.publish('moving', i);
      await expect.poll(() => mover.request('whoami').catch(() => ''), { timeout: 5_000 }).toBe('p2');
      await expect.poll(() => got.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(100);
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(sessions).toEqual([false, true]);
      expect(lost).toBe(0);
      // Both processes name the session by the same public id (derived from its secret).
      const moved = await a!.waitFor(
        (e) => e.event === 'disconnect' && e.id === publicIdOf(mover.sessionId!),
      );
      expect(moved.reason).toBe('moved');
      // Its room came along: a room broadcast from the first process reaches it on the second.
      await publisher.request('broadcast', { value: 'to the lobby', room: 'lobby' });
      await expect.poll(() => messages, { timeout: 5_000 }).toEqual(['to the lobby']);
    } finally {
      await proxy.close();
    }
  });

  it('keeps serving local clients while Redis is down, reports degraded, and catches up when it is back', async () => {
    const [a, b] = await startCluster(2);
    const localSub = client(a!.tcp);
    const remoteSub = client(b!.ws);
    const gotLocal = collect(localSub, 'chat/#');
    const gotRemote = collect(remoteSub, 'chat/#');
    await Promise.all([settled(localSub), settled(remoteSub)]);
    const publisher = client(a!.ws);
    await publisher.opened;
    publisher.publish('chat/x', 'before');
    await expect.poll(() => gotRemote, { timeout: 5_000 }).toEqual(['before']);

    await redis.stop();
    await a!.waitFor((e) => e.event === 'adapter' && e.state === 'degraded');
    await b!.waitFor((e) => e.event === 'adapter' && e.state === 'degraded');
    // Local pub/sub goes on without Redis.
    for (let i = 0; i < 5; i++) publisher.publish('chat/x', `during ${i}`);
    const during = Array.from({ length: 5 }, (_, i) => `during ${i}`);
    await expect.poll(() => gotLocal, { timeout: 5_000 }).toEqual(['before', ...during]);
    expect(gotRemote).toEqual(['before']);
    const degraded = (await localSub.request('metrics')) as { adapter: { state: string; queued: number } };
    expect(degraded.adapter.state).toBe('degraded');
    expect(degraded.adapter.queued).toBe(5);

    await redis.start();
    await a!.waitFor((e) => e.event === 'adapter' && e.state === 'ok');
    await b!.waitFor((e) => e.event === 'adapter' && e.state === 'ok');
    // What was published meanwhile reaches the other process, once; then live traffic flows.
    await expect.poll(() => gotRemote, { timeout: 5_000 }).toEqual(['before', ...during]);
    publisher.publish('chat/x', 'after');
    await expect.poll(() => gotRemote, { timeout: 5_000 }).toEqual(['before', ...during, 'after']);
    await expect.poll(() => gotLocal, { timeout: 5_000 }).toEqual(['before', ...during, 'after']);
    const after = (await localSub.request('metrics')) as {
      adapter: { state: string; queued: number; forwarded: number; dropped: number; outages: number };
    };
    expect(after.adapter).toMatchObject({ state: 'ok', queued: 0, forwarded: 5, dropped: 0, outages: 1 });
  });

  it('starts degraded when Redis cannot be reached, serves its own clients, and closes cleanly', async () => {
    const port = await freePort(); // nothing listens there
    const server = createServer({
      tcp: {},
      adapter: redisAdapter({ url: `redis://127.0.0.1:${port}`, connectTimeout: 300, maxRetryDelay: 100 }),
    });
    const states: string[] = [];
    server.on('adapter', ({ state }) => states.push(state));
    server.handle('whoami', () => 'solo');
    try {
      const { tcp } = await server.listen();
      expect(states).toEqual(['degraded']);
      expect(server.metrics().adapter.state).toBe('degraded');
      const sub = client(tcp!);
      const got = collect(sub, 'local');
      await settled(sub);
      const pub = client(tcp!);
      await pub.opened;
      await expect.poll(() => server.peers.size).toBe(2);
      pub.publish('local', 'still here');
      await expect.poll(() => got, { timeout: 5_000 }).toEqual(['still here']);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      clients = [];
      await server.close();
    }
  });

  it("sends a publish again when Redis stored it but its answer was lost, and it lands once: a client publish and the server's own", async () => {
    // Requests reach Redis, its answers are lost, then the connections drop: as in a crash of
    // a persistent Redis between writing and answering.
    const { proxy, prefix, server } = await behindProxy({ maxRetryDelay: 100 });
    server.handle('whoami', () => 'one');
    const busLength = async (): Promise<number> =>
      Number.parseInt((await redis.command('XLEN', `${prefix}:bus`)).slice(1), 10);
    try {
      const { tcp } = await server.listen();
      const sub = client(tcp!);
      const fromClient = collect(sub, 'once/client');
      const fromServer = collect(sub, 'once/server');
      await settled(sub);
      const pub = client(tcp!);
      await pub.opened;
      pub.publish('once/client', 1);
      server.publish('once/server', 1);
      await expect.poll(() => [fromClient, fromServer]).toEqual([[1], [1]]);

      const stored = (await busLength()) + 2;
      proxy.faults.lose = 'down';
      pub.publish('once/client', 2);
      server.publish('once/server', 2);
      await expect.poll(busLength).toBe(stored);
      proxy.resetAll();
      proxy.faults.lose = null;
      await expect
        .poll(() => server.metrics().adapter, { timeout: 5_000 })
        .toMatchObject({ state: 'ok', outages: 1, forwarded: 2 });
      pub.publish('once/client', 3);
      server.publish('once/server', 3);
      await expect
        .poll(() => [fromClient, fromServer], { timeout: 5_000 })
        .toEqual([
          [1, 2, 3],
          [1, 2, 3],
        ]);
      // Nothing else comes: the retries were dropped by Redis, not delivered a second time.
      expect(await busLength()).toBe(stored + 2);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      clients = [];
      await server.close();
      await proxy.close();
    }
  });

  it('forwards everything it kept after an outage, even when the bound drops the oldest while a batch is on its way', async () => {
    const { proxy, prefix, server } = await behindProxy({ maxRetryDelay: 50, maxForwardMessages: 4 });
    const bus = async (): Promise<string[]> =>
      // Each value is a whole bulk string of the reply (between CRLFs), so random bytes inside
      // an entry's other fields never pass for one.
      ((await redis.command('XRANGE', `${prefix}:bus`, '-', '+')).match(/\r\nv\d\r\n/g) ?? []).map((v) =>
        v.trim(),
      );
    try {
      await server.listen();
      proxy.faults.refuse = true;
      proxy.resetAll();
      await expect.poll(() => server.metrics().adapter.state).toBe('degraded');
      for (let i = 1; i <= 4; i++) server.publish('kept', `v${i}`);
      // Redis answers again, slowly: the kept publishes reach it long before its answers return.
      proxy.faults.latency = 250;
      proxy.faults.refuse = false;
      await expect.poll(bus, { interval: 5, timeout: 10_000 }).toContain('v1');
      // The bound (4) drops v1 and v2 to make room: they are on their way already.
      server.publish('kept', 'v5');
      server.publish('kept', 'v6');
      await expect.poll(() => server.metrics().adapter.state, { timeout: 10_000 }).toBe('ok');
      proxy.faults.latency = 0;
      await expect.poll(bus, { timeout: 5_000 }).toEqual(['v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
      expect(server.metrics().adapter).toMatchObject({ forwarded: 6, dropped: 0, queued: 0 });
    } finally {
      await server.close();
      await proxy.close();
    }
  });
});
