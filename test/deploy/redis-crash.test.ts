import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/node/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { startRedis, type RedisPersistence, type RedisServer } from '../support/redis.js';
import { faults, removeClusterBuild, startClusterNode, type ClusterNode } from '../support/cluster.js';
import { mulberry32 } from '../support/udp-proxy.js';
import { testSeed } from '../support/seed.js';

/**
 * Redis SIGKILLed mid-stream under two server processes, while clients publish both ways and
 * the servers publish too. With the persistence docs/scaling.md names (append-only,
 * `appendfsync always`) nothing acknowledged is lost and every publisher's order holds; without
 * it, a loss is detected and reported (adapter event, metric, `sessionlost` to the clients).
 */

const COUNT = 300;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  await removeClusterBuild();
});

interface Run {
  /** What each subscriber got from each publisher (`up/0`..`up/3`) and from the servers (`feed`). */
  received: Array<Map<string, number[]>>;
  lost: number[];
  events: ClusterNode['events'][];
  losses: number[];
}

async function crashRun(persistence: RedisPersistence): Promise<Run> {
  const seed = testSeed();
  const random = mulberry32(seed);
  const redis: RedisServer = await startRedis(persistence);
  const nodes: ClusterNode[] = [];
  const clients: SocklineClient[] = [];
  const prefix = `rc${process.pid}${persistence}`;
  try {
    nodes.push(
      ...(await Promise.all(
        ['p1', 'p2'].map((name) => startClusterNode({ name, redisUrl: redis.url, prefix })),
      )),
    );
    const urls = nodes.flatMap((n) => [n.tcp, n.ws]);
    const open = (url: string): SocklineClient => {
      const c = connect(url, { reconnect: { initialDelay: 20, maxDelay: 200 } });
      c.on('error', () => {});
      clients.push(c);
      return c;
    };
    const publishers = urls.map(open);
    const subscribers = urls.map(open);
    const all = [...publishers, ...subscribers];
    const lost = all.map(() => 0);
    all.forEach((c, i) => c.on('sessionlost', () => lost[i]!++));
    const received = subscribers.map((s) => {
      const got = new Map<string, number[]>();
      s.subscribe('up/+', (v, { topic }) => {
        if (!got.has(topic)) got.set(topic, []);
        got.get(topic)!.push((v as { n: number }).n);
      });
      s.subscribe('feed', (v) => {
        if (!got.has('feed')) got.set('feed', []);
        got.get('feed')!.push((v as { n: number }).n);
      });
      return got;
    });
    await Promise.all(all.map((c) => c.request('whoami')));
    const feeder = open(nodes[0]!.tcp);
    await feeder.opened;

    const crashAt = 60 + Math.floor(random() * 120);
    let published = 0;
    const stream = async (): Promise<void> => {
      for (let n = 0; n < COUNT; n++) {
        publishers.forEach((p, i) => p.publish(`up/${i}`, { n }));
        // server.publish through a request: answered by the process, even while Redis is away.
        void feeder.request('publish', { topic: 'feed', value: { n } }).catch(() => {});
        published = n + 1;
        await sleep(5 + Math.floor(random() * 5));
      }
    };
    const crash = async (): Promise<void> => {
      while (published < crashAt) await sleep(2);
      await redis.kill();
      await sleep(200 + Math.floor(random() * 300));
      await redis.start();
    };
    await Promise.all([stream(), crash()]);
    const complete = (got: Map<string, number[]>): boolean =>
      [...publishers.keys()].every((i) => (got.get(`up/${i}`)?.length ?? 0) >= COUNT);
    // Every process is back on the bus before the tail is judged.
    for (const n of nodes) await n.waitFor((e) => e.event === 'adapter' && e.state === 'ok', 15_000);
    if (persistence === 'aof')
      for (const got of received) await expect.poll(() => complete(got), { timeout: 15_000 }).toBe(true);
    await sleep(1_000); // anything late or duplicated would arrive by now
    const losses = await Promise.all(
      nodes.map(async (n) => {
        const m = (await open(n.tcp).request('metrics')) as { adapter: { losses: number } };
        return m.adapter.losses;
      }),
    );
    expect(faults(nodes)).toEqual([]);
    return { received, lost, events: nodes.map((n) => n.events), losses };
  } catch (err) {
    console.error(
      `redis crash test (${persistence}) failed with seed ${seed} (rerun with SOCKLINE_SEED=${seed})`,
    );
    throw err;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(nodes.map((n) => n.close()));
    await redis.remove();
  }
}

const upTo = (count: number): number[] => Array.from({ length: count }, (_, n) => n);
/** Consecutive repeats folded: what at-least-once delivery in order looks like. */
const folded = (values: number[]): number[] => values.filter((v, i) => i === 0 || values[i - 1] !== v);

describe('Redis SIGKILLed mid-stream', () => {
  it('with appendonly + appendfsync always: nothing acknowledged is lost, no publisher is reordered or repeated', async () => {
    const run = await crashRun('aof');
    for (const [s, got] of run.received.entries()) {
      for (let i = 0; i < 4; i++)
        expect(got.get(`up/${i}`), `subscriber ${s}, publisher ${i}`).toEqual(upTo(COUNT));
      // server.publish is at least once: a repeat may follow its original, nothing else.
      expect(folded(got.get('feed') ?? []), `subscriber ${s}, server.publish`).toEqual(upTo(COUNT));
    }
    expect(run.lost).toEqual(run.lost.map(() => 0));
    expect(run.losses).toEqual([0, 0]);
  }, 90_000);

  it('without persistence: the loss is detected and reported (adapter event, metric, sessionlost), and nothing arrives out of order', async () => {
    const run = await crashRun('none');
    // Every process saw Redis come back without what it had acknowledged, and said so.
    expect(run.losses.every((n) => n >= 1)).toBe(true);
    for (const events of run.events)
      expect(events.some((e) => e.event === 'adapter' && /lost/.test(String(e.error)))).toBe(true);
    // Every client's session was reset: none can believe its stream is whole.
    expect(
      run.lost.every((n) => n >= 1),
      `sessionlost per client: ${run.lost.join(',')}; ${JSON.stringify(run.events)}`,
    ).toBe(true);
    for (const got of run.received)
      for (const [topic, values] of got) {
        if (topic === 'feed') continue;
        // After sessionlost a client sends its unacknowledged messages again (at least once),
        // but no message comes before one its publisher sent earlier.
        const firsts = values.filter((v, k) => values.indexOf(v) === k);
        for (let k = 1; k < firsts.length; k++)
          expect(firsts[k]!, `${topic}: ${values.join(',')}`).toBeGreaterThan(firsts[k - 1]!);
      }
  }, 90_000);
});
