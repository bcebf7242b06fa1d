// fan-out: one publish reaches 1,000 subscribers; deliveries per second, a publish at a time.
import { performance } from 'node:perf_hooks';
import { closeAll, openMany, payload, within } from '../lib/clients.mjs';
import { median } from '../lib/stats.mjs';
import { SYSTEM_NAMES } from '../systems/index.mjs';

export const bench = {
  name: 'fanout',
  title: 'Fan-out: one publish to 1,000 subscribers',
  describe:
    'A client process holds 1,000 subscriber connections and one publisher. The publisher sends a ' +
    '64-byte message; the round ends when all 1,000 subscribers have it; then the next round. ' +
    'Warm-up rounds run until three reach every subscriber, then 20 rounds are timed (10 with --quick). ' +
    'deliveries/s = subscribers × rounds / time. ' +
    'sockline: server topics (`subscribe` / `publish`); socket.io: a room and `io.to(room).emit`; ' +
    'MQTT: an aedes topic; raw ws / net: the server loops over the subscribed sockets.',
  systems: SYSTEM_NAMES,
  metrics: [
    { key: 'rate', label: 'deliveries/s', digits: 0 },
    { key: 'roundMs', label: 'ms per publish', lowerIsBetter: true, digits: 2 },
  ],
  primary: 'rate',
  async run(ctx, system) {
    const { port } = await ctx.server(system, { mode: 'fanout' });
    const client = await ctx.client();
    const params = ctx.quick
      ? { port, subscribers: 1_000, rounds: 10 }
      : { port, subscribers: 1_000, rounds: 20 };
    return ctx.run(client, 'fanout', system, params);
  },
};

const roundOf = (d) => ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;

export const client = {
  async main({ system, state, params }) {
    const n = params.subscribers;
    const counts = new Map();
    let waiting;
    const onMessage = (data) => {
      const round = roundOf(data);
      const c = (counts.get(round) ?? 0) + 1;
      counts.set(round, c);
      if (c === n && waiting?.round === round) waiting.resolve();
    };
    const subscribers = await openMany(system, n, () => ({ port: params.port, mode: 'fanout', onMessage }));
    const [publisher] = await openMany(system, 1, () => ({ port: params.port, mode: 'fanout' }));
    state.cleanup = () => closeAll([...subscribers, publisher]);
    await Promise.all(subscribers.map((s) => s.subscribe()));

    let round = 0;
    const publish = (ms) => {
      const message = payload(64);
      message.writeUInt32BE(++round, 0);
      const r = round;
      const done = new Promise((resolve) => (waiting = { round: r, resolve }));
      publisher.publish(message);
      return within(done, ms, 'fan-out').catch(() => {
        throw new Error(`round ${r}: ${counts.get(r) ?? 0} of ${n} subscribers reached within ${ms} ms`);
      });
    };
    const withCounts = (err) => {
      const per = Array.from({ length: round }, (_, k) => counts.get(k + 1) ?? 0);
      return new Error(`${err.message} (deliveries per round: ${per.join(' ')})`);
    };
    // Warm-up: until one round reaches every subscriber (subscriptions may still be in flight).
    const warmUntil = performance.now() + 8_000;
    let complete = 0;
    while (complete < 3) {
      try {
        await publish(1_000);
        complete++;
      } catch (err) {
        if (performance.now() > warmUntil) throw withCounts(err);
      }
    }
    const times = [];
    for (let k = 0; k < params.rounds; k++) {
      const t0 = performance.now();
      await publish(3_000).catch((err) => {
        throw withCounts(err);
      });
      times.push(performance.now() - t0);
    }
    await state.cleanup();
    state.cleanup = undefined;
    const total = times.reduce((a, b) => a + b, 0);
    return { rate: (n * params.rounds) / (total / 1000), roundMs: median(times) };
  },
};
