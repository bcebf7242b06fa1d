import { describe, expect, it } from 'vitest';
import { Capabilities, type Frame } from '../../src/core/protocol/frames.js';
import type { Peer, SocklineServer } from '../../src/node/server.js';
import { CLIENT_KINDS, connectAs } from '../support/clients.js';
import { expectReleased } from './support/healthy.js';
import { hostileHarness, rawSession, type RawSession } from './support/harness.js';

/**
 * Subscriptions have a price and a cap: a session may hold `maxSubscriptions`, the server
 * `maxTotalSubscriptions`; a SUBSCRIBE over either is refused (SUBREFUSE for clients that
 * take it) and the connection stays. A publish costs the subscribers it reaches, not the
 * patterns held: a flood of patterns does not stall the other clients.
 */

type Subrefuse = Extract<Frame, { type: 'subrefuse' }>;
const SUBREFUSE_CAPS = 7 | Capabilities.SUBREFUSE;

const harness = hostileHarness();
const { start } = harness;
const raw = (s: SocklineServer, transport: 'tcp' | 'ws', capabilities: number): Promise<RawSession> =>
  rawSession(harness, s, transport, capabilities);

const subscribes = (prefix: string, n: number): Frame[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'subscribe', topic: `${prefix}/${i}` }));

const refusals = (frames: readonly Frame[]): Subrefuse[] =>
  frames.filter((f): f is Subrefuse => f.type === 'subrefuse');

describe('maxSubscriptions', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`refuses SUBSCRIBEs over the per-session cap with SUBREFUSE and keeps the connection (${transport})`, async () => {
      const s = await start();
      const peers: Peer[] = [];
      s.on('connection', (p) => peers.push(p));
      const p = await raw(s, transport, SUBREFUSE_CAPS);
      p.send(subscribes('t', 1_005));
      await expect.poll(() => refusals(p.frames).length).toBe(5);
      expect(refusals(p.frames).map((f) => f.topic)).toEqual([
        't/1000',
        't/1001',
        't/1002',
        't/1003',
        't/1004',
      ]);
      expect(refusals(p.frames)[0]).toMatchObject({ code: 'ERR_TOO_MANY_SUBSCRIPTIONS' });
      expect(refusals(p.frames)[0]!.message).toMatch(/maxSubscriptions/);
      expect(await p.alive()).toBe(true);
      expect(peers[0]!.subscriptions.size).toBe(1_000);
      expect(s.metrics().subscriptionsRefused).toBe(5);
      // A pattern it holds is no new subscription; an UNSUBSCRIBE frees a place.
      p.send([
        { type: 'subscribe', topic: 't/0' },
        { type: 'unsubscribe', topic: 't/1' },
        ...subscribes('u', 2),
      ]);
      await expect.poll(() => refusals(p.frames).length).toBe(6);
      expect(refusals(p.frames)[5]!.topic).toBe('u/1');
      expect(peers[0]!.subscriptions.has('u/0')).toBe(true);
      expect(s.store.topics.size).toBe(1_000);
    });
  }

  it('refuses silently (counted) to a client that did not announce SUBREFUSE', async () => {
    const s = await start({ maxSubscriptions: 2 });
    const p = await raw(s, 'tcp', 7);
    p.send(subscribes('t', 4));
    await expect.poll(() => s.metrics().subscriptionsRefused).toBe(2);
    expect(await p.alive()).toBe(true);
    expect(refusals(p.frames)).toEqual([]);
  });

  it.each(CLIENT_KINDS)(
    'reaches a sockline client as an error event with the typed code and the topic (the %s client)',
    async (kind) => {
      const s = await start({ maxSubscriptions: 2 });
      const c =
        kind === 'full' ? harness.client(s.addresses.ws!) : harness.track(connectAs(kind, s.addresses.ws!));
      const errors: Array<{ code: string; topic?: string }> = [];
      c.on('error', (e) => errors.push(e as { code: string; topic?: string }));
      await c.opened;
      const got: unknown[] = [];
      for (const t of ['a', 'b', 'c']) c.subscribe(t, (v) => got.push(v));
      await expect
        .poll(() => errors)
        .toEqual([expect.objectContaining({ code: 'ERR_TOO_MANY_SUBSCRIPTIONS', topic: 'c' })]);
      s.publish('a', 1);
      s.publish('c', 2);
      s.publish('b', 3);
      await expect.poll(() => got).toEqual([1, 3]);
      expect(c.state).toBe('open');
    },
  );

  it('caps the subscriptions of all sessions together (maxTotalSubscriptions), detached ones included', async () => {
    const s = await start({ maxTotalSubscriptions: 10 });
    const a = await raw(s, 'ws', SUBREFUSE_CAPS);
    a.send(subscribes('a', 6));
    await expect.poll(() => s.store.topics.size).toBe(6);
    const b = await raw(s, 'tcp', SUBREFUSE_CAPS);
    b.send(subscribes('b', 6));
    await expect.poll(() => refusals(b.frames).length).toBe(2);
    expect(refusals(b.frames)[0]!.message).toMatch(/maxTotalSubscriptions/);
    // A detached session keeps its subscriptions (it may resume), so they still count.
    a.destroy();
    b.destroy();
    await expectReleased(s, 1);
    expect(s.store.topics.size).toBe(10);
    const c = await raw(s, 'tcp', SUBREFUSE_CAPS);
    c.send(subscribes('c', 1));
    await expect.poll(() => refusals(c.frames).length).toBe(1);
    expect(s.metrics().subscriptionsRefused).toBe(3);
  });
});

describe('the cost of a publish', () => {
  it('does not grow with patterns nobody publishes to: 200,000 of them, 50 publishes a second, others unaffected', async () => {
    const s = await start({ maxSubscriptions: 100_000 });
    const flooders = await Promise.all(
      Array.from({ length: 5 }, (_, i) => raw(s, i % 2 === 0 ? 'tcp' : 'ws', SUBREFUSE_CAPS)),
    );
    flooders.forEach((f, i) => f.send(subscribes(`flood${i}/+/x`, 40_000)));
    const c = harness.client(s.addresses.tcp!);
    const got: unknown[] = [];
    c.subscribe('news/+', (v) => got.push(v));
    await c.opened;
    await expect.poll(() => [...s.peers.values()].some((p) => p.subscriptions.has('news/+'))).toBe(true);
    // Publishes to a topic of no flooder, while the flood is taken in and after.
    const started = performance.now();
    let sent = 0;
    while (performance.now() - started < 3_000) {
      s.publish(`news/${sent % 7}`, sent);
      s.publish('unrelated/topic', sent);
      sent++;
      await new Promise((r) => setTimeout(r, 20));
    }
    await expect.poll(() => s.store.topics.size, { timeout: 10_000 }).toBe(200_001);
    expect(s.metrics().subscriptionsRefused).toBe(0);
    await expect.poll(() => got.length, { timeout: 5_000 }).toBe(sent);
    expect(got).toEqual(Array.from({ length: sent }, (_, i) => i));
    for (const f of flooders) expect(await f.alive()).toBe(true);
    expect(flooders.every((f) => !f.frames.some((fr) => fr.type === 'publish'))).toBe(true);
  });
});
