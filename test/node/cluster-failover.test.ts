import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/node/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { faults, removeClusterBuild, startClusterNode, type ClusterNode } from '../support/cluster.js';
import { mulberry32 } from '../support/udp-proxy.js';
import { testSeed } from '../support/seed.js';

/** Messages each streaming client publishes, and messages the feeder publishes to all of them. */
const UP = 400;
const FEED = 400;
const STREAMERS = 6;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.remove();
  await removeClusterBuild();
});

describe('a process of the cluster dies', () => {
  it('its clients resume on the other processes with every message accounted for, both ways', async () => {
    const seed = testSeed();
    const random = mulberry32(seed);
    const nodes: ClusterNode[] = [];
    const clients: SocklineClient[] = [];
    let diagnose = (): Promise<string> => Promise.resolve('');
    let atKill: number[] = [];
    const all = (count: number): number[] => Array.from({ length: count }, (_, n) => n);
    const prefix = `f${process.pid}`;
    try {
      nodes.push(
        ...(await Promise.all(
          ['p1', 'p2', 'p3'].map((name) => startClusterNode({ name, redisUrl: redis.url, prefix })),
        )),
      );
      const [doomed, p2, p3] = nodes as [ClusterNode, ClusterNode, ClusterNode];
      const open = (urls: string[]): SocklineClient => {
        const c = connect(urls, { reconnect: { initialDelay: 10, maxDelay: 100 } });
        c.on('error', () => {});
        clients.push(c);
        return c;
      };

      // Streamers: most on the process that will die, over TCP and WebSocket; each lists the
      // other processes after its own (in a seeded order), so a reconnect lands on one of them.
      const streamers = Array.from({ length: STREAMERS }, (_, i) => {
        const home = i < 4 ? doomed : i === 4 ? p2 : p3;
        const transport = i % 2 === 0 ? 'tcp' : 'ws';
        const others = nodes.filter((n) => n !== home);
        if (random() < 0.5) others.reverse();
        return { i, home, client: open([home, ...others].map((n) => n[transport])) };
      });
      const feeds = streamers.map((s) => {
        const got: number[] = [];
        s.client.subscribe('feed', (v) => got.push((v as { n: number }).n));
        return got;
      });
      const lost: number[] = [];
      const resumed = streamers.map(() => 0);
      streamers.forEach((s) => {
        s.client.on('sessionlost', () => lost.push(s.i));
        s.client.on('session', ({ resumed: r }) => void (r && resumed[s.i]!++));
      });

      const sink = open([p3.ws]);
      const sinkEvents: string[] = [];
      sink.on('session', (e) => sinkEvents.push(`session ${e.resumed}`));
      sink.on('error', (e) => sinkEvents.push(`error ${e.message}`));
      const ups = streamers.map(() => [] as number[]);
      sink.subscribe('up/+', (v, { topic }) => ups[Number(topic.slice(3))]!.push((v as { n: number }).n));
      const feeder = open([p2.tcp]);
      await Promise.all([...clients.map((c) => c.request('whoami'))]);
      expect(await Promise.all(streamers.slice(0, 4).map((s) => s.client.request('whoami')))).toEqual([
        'p1',
        'p1',
        'p1',
        'p1',
      ]);

      diagnose = async () =>
        JSON.stringify({
          ups: ups.map((u) => u.length),
          feeds: feeds.map((f) => f.length),
          resumed,
          lost,
          states: streamers.map((s) => s.client.state),
          ids: streamers.map((s) => s.client.sessionId),
          atKill,
          missing: ups.map((u) => all(UP).filter((n) => !u.includes(n))),
          sinkEvents,
          buffered: streamers.map((s) => s.client.bufferedAmount),
          events: nodes.map((n) => n.events.filter((e) => e.event !== 'ready')),
          xlen: await redis.command('XLEN', `${prefix}:bus`),
          metrics: await Promise.all(
            [p2, p3].map((n) =>
              open([n.tcp]).request('metrics', undefined, { timeout: 1_000 }).catch(String),
            ),
          ),
        });
      // Both directions stream, paced so the kill lands mid-stream at a seeded moment.
      const stream = async (count: number, send: (n: number) => void): Promise<void> => {
        for (let n = 0; n < count; n++) {
          send(n);
          if (n % 10 === 9) await sleep(8 + Math.floor(random() * 10));
        }
      };
      // The kill lands once the doomed process has delivered a seeded share of the feed to its
      // clients, so they have frames acknowledged, frames in flight and frames still to come.
      const killAfter = 40 + Math.floor(random() * 150);
      const kill = async (): Promise<void> => {
        const deadline = Date.now() + 10_000;
        while (feeds.slice(0, 4).some((f) => f.length < killAfter) && Date.now() < deadline) await sleep(2);
        atKill = feeds.slice(0, 4).map((f) => f.length);
        await doomed.kill();
      };
      await Promise.all([
        ...streamers.map((s) => stream(UP, (n) => s.client.publish(`up/${s.i}`, { n }))),
        stream(FEED, (n) => feeder.publish('feed', { n })),
        kill(),
      ]);
      expect(doomed.exited).toBe(true);
      // It died mid-stream: its clients still had feed messages to receive.
      expect(Math.min(...atKill)).toBeLessThan(FEED);

      for (let i = 0; i < STREAMERS; i++) {
        await expect.poll(() => ups[i]!.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(UP);
        await expect.poll(() => feeds[i]!.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(FEED);
      }
      await sleep(200); // anything duplicated would arrive by now
      for (let i = 0; i < STREAMERS; i++) {
        expect(ups[i], `messages from streamer ${i}`).toEqual(all(UP));
        expect(feeds[i], `feed received by streamer ${i}`).toEqual(all(FEED));
      }
      expect(lost).toEqual([]);
      // The clients of the dead process really resumed, on the survivors.
      for (const s of streamers.slice(0, 4)) {
        expect(resumed[s.i]).toBeGreaterThanOrEqual(1);
        expect(['p2', 'p3']).toContain(await s.client.request('whoami'));
      }
      const adopted = await Promise.all(
        [p2, p3].map(async (n) => {
          const c = open([n.tcp]);
          return ((await c.request('metrics')) as { adapter: { adopted: number } }).adapter.adopted;
        }),
      );
      expect(adopted[0]! + adopted[1]!).toBe(4);
      expect(faults(nodes)).toEqual([]);
    } catch (err) {
      console.error(
        `cluster failover test failed with seed ${seed} (rerun with SOCKLINE_SEED=${seed}): ${await diagnose()}`,
      );
      throw err;
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all(nodes.map((n) => n.close()));
    }
  }, 30_000);
});
