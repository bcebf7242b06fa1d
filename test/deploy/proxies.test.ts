import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ProtocolConnectOptions } from '../../src/node/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { faults, removeClusterBuild, startClusterNode, type ClusterNode } from '../support/cluster.js';
import { mulberry32 } from '../support/udp-proxy.js';
import { testSeed } from '../support/seed.js';
import { startNginx } from './support/proxies.js';
import { backendOf, DEPLOY_PATH as PATH, startDeployment, type Deployment } from './support/deployment.js';
import { rawUpgrade, streamPeer } from './support/sockets.js';
import { handledCount, handledRuns } from './support/handled.js';
import { framed, helloBody } from '../reliability/support/raw-peer.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import { decodePayload, encodePayload, jsonCodec } from '../../src/core/protocol/codec.js';
import type { Frame } from '../../src/core/protocol/frames.js';

/**
 * Three server processes and Redis behind Debian's nginx (WebSocket) and HAProxy (TCP, PROXY
 * protocol v2), configured exactly as docs/deploy.md says. Clients stream all three ways
 * through the proxies (their publishes, the servers' publishes, and their `send()` messages to
 * the application's `peer.on('message')`) while both proxies reload and a server process is
 * SIGKILLed.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let redis: RedisServer;
let deployment: Deployment;
let nodes: ClusterNode[] = [];
const clients: SocklineClient[] = [];

beforeAll(async () => {
  redis = await startRedis('aof');
  deployment = await startDeployment({ redisUrl: redis.url, prefix: `dp${process.pid}`, logMessages: true });
  nodes = deployment.nodes;
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await deployment?.stop();
  await redis?.remove();
  await removeClusterBuild();
});

function client(url: string, options: ProtocolConnectOptions = {}): SocklineClient {
  const c = connect(url, { reconnect: { initialDelay: 20, maxDelay: 300 }, ...options });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

describe('behind nginx and HAProxy', () => {
  it("gives the server the client's address through HAProxy's PROXY v2 header", async () => {
    const p = await streamPeer(deployment.haproxy.url, '127.0.0.2');
    try {
      p.socket.write(framed(helloBody));
      await expect.poll(() => p.frames.some((f) => f.type === 'welcome')).toBe(true);
      const { kind, payload } = encodePayload(null, jsonCodec());
      p.socket.write(framed(encodeFrame({ type: 'request', id: 1, method: 'remote', kind, payload })));
      await expect.poll(() => p.frames.find((f) => f.type === 'response')).toBeDefined();
      const response = p.frames.find((f) => f.type === 'response') as Extract<Frame, { type: 'response' }>;
      expect(decodePayload(response.kind, response.payload, jsonCodec())).toBe('127.0.0.2');
    } finally {
      p.socket.destroy();
    }
  });

  it('answers path and header mistakes through nginx as documented', async () => {
    const slash = await rawUpgrade(`${deployment.nginx.url}/`);
    expect(slash.status).toBe(404); // the exact location: /live/ is not /live
    slash.socket.destroy();
    const up = await rawUpgrade(deployment.nginx.url, { headers: { 'X-Forwarded-For': '198.51.100.9' } });
    expect(up.status).toBe(101);
    up.socket.destroy();
  });

  it('streams both ways through both proxies while they reload and a server process is SIGKILLed: every message counted', async () => {
    const seed = testSeed();
    const random = mulberry32(seed);
    const UP = 500;
    const FEED = 400;
    const STREAMERS = 9;
    let diagnose = (): string => '';
    try {
      const streamers = Array.from({ length: STREAMERS }, (_, i) =>
        client(i % 2 === 0 ? deployment.nginx.url : deployment.haproxy.url),
      );
      const feeds = streamers.map((s) => {
        const got: number[] = [];
        s.subscribe('feed', (v) => got.push((v as { n: number }).n));
        return got;
      });
      const lost: number[] = [];
      const sessions = streamers.map(() => [] as Array<{ at: number; resumed: boolean }>);
      streamers.forEach((s, i) => {
        s.on('sessionlost', () => lost.push(i));
        s.on('session', ({ resumed }) => sessions[i]!.push({ at: performance.now(), resumed }));
      });
      const sink = client(deployment.nginx.url);
      const ups = streamers.map(() => [] as number[]);
      sink.subscribe('up/+', (v, { topic }) => ups[Number(topic.slice(3))]!.push((v as { n: number }).n));
      // The servers publish too (server.publish, asked through a request).
      const feeder = client(deployment.haproxy.url);
      await Promise.all(clients.map((c) => c.request('whoami')));
      const homes = await Promise.all(streamers.map((s) => s.request('whoami') as Promise<string>));
      const count = (name: string): number => homes.filter((h) => h === name).length;
      // server.publish() returns before Redis has the entry: one its process answered just
      // before dying may be lost (docs/scaling.md), so the feeder's process is not the one killed.
      const feederHome = (await feeder.request('whoami')) as string;
      const doomed = nodes
        .filter((n) => n.name !== feederHome)
        .reduce((a, b) => (count(b.name) > count(a.name) ? b : a));
      const onDoomed = streamers.map((_, i) => homes[i] === doomed.name);
      let killedAt = 0;
      // How many messages each streamer had sent (`send()`, to peer.on('message')) at the kill.
      const sent = streamers.map(() => 0);
      let sentAtKill: number[] = [];
      diagnose = () =>
        JSON.stringify({
          homes,
          feederHome,
          doomed: doomed.name,
          ups: ups.map((u) => u.length),
          feeds: feeds.map((f) => f.length),
          sentAtKill,
          handled: streamers.map((_, i) => handledRuns(deployment.messages(), i)),
          lost,
          states: streamers.map((s) => s.state),
        });

      const stream = async (count: number, send: (n: number) => void | Promise<void>): Promise<void> => {
        for (let n = 0; n < count; n++) {
          await send(n);
          if (n % 10 === 9) await sleep(5 + Math.floor(random() * 10));
        }
      };
      // A feeder's request that fails (its connection cut by a reload) is retried: at least once, in order.
      const feedOne = async (n: number): Promise<void> => {
        for (;;) {
          try {
            await feeder.request('publish', { topic: 'feed', value: { n } }, { timeout: 5_000 });
            return;
          } catch {
            await sleep(20);
          }
        }
      };
      // The streamers keep pace with the feed (they would run far ahead of it), so the reloads
      // and the kill, timed by the feed, come in the middle of every stream.
      let fed = 0;
      const keepPace = async (n: number): Promise<void> => {
        while (n * FEED > (fed + 10) * UP) await sleep(2);
      };
      const killAfter = 100 + Math.floor(random() * 100);
      const events = async (): Promise<void> => {
        while (Math.min(...feeds.map((f) => f.length)) < 40) await sleep(2);
        deployment.nginx.reload();
        while (Math.min(...feeds.map((f) => f.length)) < 70) await sleep(2);
        deployment.haproxy.reload();
        while (Math.min(...feeds.map((f) => f.length)) < killAfter) await sleep(2);
        killedAt = performance.now();
        sentAtKill = [...sent];
        await doomed.kill();
      };
      await Promise.all([
        ...streamers.map((s, i) =>
          stream(UP, async (n) => {
            await keepPace(n);
            s.publish(`up/${i}`, { n });
            s.send({ s: i, n });
            sent[i] = n + 1;
          }),
        ),
        stream(FEED, async (n) => {
          await feedOne(n);
          fed = n + 1;
        }),
        events(),
      ]);
      expect(doomed.exited).toBe(true);
      for (let i = 0; i < STREAMERS; i++) {
        await expect.poll(() => ups[i]!.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(UP);
        await expect.poll(() => feeds[i]!.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(FEED);
        await expect
          .poll(() => handledCount(deployment.messages(), i), { timeout: 20_000 })
          .toBeGreaterThanOrEqual(UP);
      }
      await sleep(500); // anything duplicated would arrive by now
      const all = (n: number): number[] => Array.from({ length: n }, (_, k) => k);
      for (let i = 0; i < STREAMERS; i++) {
        expect(ups[i], `publishes of streamer ${i}`).toEqual(all(UP));
        const feed = feeds[i]!.filter((v, k, a) => k === 0 || a[k - 1] !== v);
        expect(feed, `server.publish feed at streamer ${i}`).toEqual(all(FEED));
      }
      expect(lost).toEqual([]);
      // Client send() messages, as the application's peer.on('message') handled them. On a
      // process that lives: each once, in order. The killed process's clients: none lost, and
      // the first arrivals in order; the handler may run again for the messages the killed
      // process had handled but not yet recorded (docs/scaling.md), which are the tail of what
      // it handled: the run on the new process starts at or before the old run's end + 1.
      const log = deployment.messages();
      const repeats: number[] = [];
      for (let i = 0; i < STREAMERS; i++) {
        const runs = handledRuns(log, i);
        if (!onDoomed[i]) {
          expect(runs, `send() of streamer ${i}`).toEqual([
            { node: homes[i], from: 0, to: UP - 1, contiguous: true },
          ]);
          continue;
        }
        // The kill came while this streamer was still sending.
        expect(sentAtKill[i], `sends of streamer ${i} at the kill`).toBeLessThan(UP);
        expect(runs, `send() of streamer ${i}`).toHaveLength(2);
        const [before, after] = runs as [(typeof runs)[0], (typeof runs)[0]];
        expect(before, `send() of streamer ${i} before the kill`).toMatchObject({
          node: doomed.name,
          from: 0,
          contiguous: true,
        });
        expect(after.node).not.toBe(doomed.name);
        expect(after, `send() of streamer ${i} after the kill`).toMatchObject({
          to: UP - 1,
          contiguous: true,
        });
        expect(after.from, `send() of streamer ${i}: resumed after`).toBeLessThanOrEqual(before.to + 1);
        repeats.push(before.to + 1 - after.from);
      }
      // The clients of the dead process resumed on the others, through the proxies.
      const recoveries: number[] = [];
      for (let i = 0; i < STREAMERS; i++) {
        if (!onDoomed[i]) continue;
        const back = sessions[i]!.find((s) => s.at > killedAt);
        expect(back, `streamer ${i} resumed`).toMatchObject({ resumed: true });
        recoveries.push(back!.at - killedAt);
        expect(await streamers[i]!.request('whoami')).not.toBe(doomed.name);
      }
      recoveries.sort((a, b) => a - b);
      console.log(
        `[proxies] ${recoveries.length} clients of the killed process resumed through nginx/HAProxy in ` +
          `${recoveries.map((r) => r.toFixed(0)).join(', ')} ms; their send() messages handled twice: ` +
          `${repeats.join(', ')}; sent at the kill: ${sentAtKill.filter((_, i) => onDoomed[i]).join(', ')} ` +
          `of ${UP} (seed ${seed})`,
      );
      expect(faults(nodes)).toEqual([]);
    } catch (err) {
      console.error(
        `proxies test failed with seed ${seed} (rerun with SOCKLINE_SEED=${seed}): ${diagnose()}`,
      );
      console.error(`nginx:\n${deployment.nginx.log()}\nhaproxy:\n${deployment.haproxy.log()}`);
      throw err;
    }
  }, 90_000);
});

describe('more than 1,000 clients through one proxy address', () => {
  it('are all admitted with trustProxy, each counted under its own address', async () => {
    const N = 1_100;
    const solo = await startClusterNode({
      name: 'solo',
      redisUrl: '',
      prefix: 'solo',
      trustProxy: ['127.0.0.1'],
      wsPath: PATH,
      maxConnectionsPerIp: 400,
    });
    // The documented three upstreams, all the same process.
    const proxy = await startNginx([backendOf(solo), backendOf(solo), backendOf(solo)], PATH);
    const many: SocklineClient[] = [];
    try {
      const from = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
      for (let i = 0; i < N; i++) {
        const localAddress = from[i % from.length]!;
        // The WebSocket class is injected to bind the client's local address.
        const FromAddress = class extends WebSocket {
          constructor(url: string | URL, protocols?: string | string[]) {
            super(url, protocols, { localAddress });
          }
        };
        many.push(
          client(proxy.url, {
            WebSocket: FromAddress as never,
            reconnect: { initialDelay: 50, maxDelay: 1_000 },
          }),
        );
      }
      await Promise.all(many.map((c) => c.opened));
      const metrics = (await many[0]!.request('metrics')) as {
        connections: { ws: number };
        sessions: number;
      };
      expect(metrics.sessions).toBe(N);
      const seen = new Set(
        await Promise.all(many.slice(0, 30).map((c) => c.request('remote') as Promise<string>)),
      );
      expect([...seen].sort()).toEqual(from);
    } finally {
      await Promise.all(many.map((c) => c.close()));
      await proxy.stop();
      await solo.close();
    }
  }, 120_000);

  it('refuses a client over its own address share with 429 through the proxy, not the others', async () => {
    const solo = await startClusterNode({
      name: 'solo2',
      redisUrl: '',
      prefix: 'solo2',
      trustProxy: ['127.0.0.1'],
      wsPath: PATH,
      maxConnectionsPerIp: 3,
    });
    const proxy = await startNginx([backendOf(solo), backendOf(solo), backendOf(solo)], PATH);
    const opened: Array<Awaited<ReturnType<typeof rawUpgrade>>> = [];
    try {
      for (let i = 0; i < 3; i++) opened.push(await rawUpgrade(proxy.url, { localAddress: '127.0.0.2' }));
      expect(opened.map((u) => u.status)).toEqual([101, 101, 101]);
      const over = await rawUpgrade(proxy.url, { localAddress: '127.0.0.2' });
      opened.push(over);
      expect(over.status).toBe(429);
      expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const other = await rawUpgrade(proxy.url, { localAddress: '127.0.0.3' });
      opened.push(other);
      expect(other.status).toBe(101);
    } finally {
      for (const u of opened) u.socket.destroy();
      await proxy.stop();
      await solo.close();
    }
  });
});
