// rtt: a 64-byte message echoed, one in flight; the latency of each round trip.
import { performance } from 'node:perf_hooks';
import { payload, sleep, within } from '../lib/clients.mjs';
import { percentileSorted } from '../lib/stats.mjs';
import { SYSTEM_NAMES } from '../systems/index.mjs';

export const bench = {
  name: 'rtt',
  title: 'Round trip: 64 B echo, one in flight',
  describe:
    'One client sends 64 bytes and waits for the echo before sending the next; ' +
    '1,000 warm-up round trips, then 5,000 counted (500 and 2,000 with --quick). p50 and p99 of the ' +
    'round-trip times, in µs.',
  systems: SYSTEM_NAMES,
  metrics: [
    { key: 'p50', label: 'p50 µs', lowerIsBetter: true, digits: 0 },
    { key: 'p99', label: 'p99 µs', lowerIsBetter: true, digits: 0 },
  ],
  primary: 'p50',
  async run(ctx, system) {
    const { port } = await ctx.server(system);
    const client = await ctx.client();
    const params = ctx.quick ? { port, warmup: 500, count: 2_000 } : { port, warmup: 1_000, count: 5_000 };
    return ctx.run(client, 'rtt', system, params);
  },
};

export const client = {
  async main({ system, params }) {
    const message = payload(64);
    const times = new Float64Array(params.count);
    let resolveDone;
    let rejectDone;
    const done = new Promise((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    let i = -params.warmup;
    let sentAt = 0;
    const c = await system.connectClient({
      port: params.port,
      mode: 'echo',
      onMessage(data) {
        if (data.length !== message.length) rejectDone(new Error(`echo of ${data.length} bytes`));
        const now = performance.now();
        if (i >= 0) times[i] = now - sentAt;
        i++;
        if (i === params.count) return resolveDone();
        sentAt = performance.now();
        c.send(message);
      },
    });
    await sleep(50);
    sentAt = performance.now();
    c.send(message);
    await within(done, 60_000, `rtt (${i} of ${params.count} round trips)`);
    await c.close();
    const sorted = Array.from(times).sort((a, b) => a - b);
    return {
      p50: percentileSorted(sorted, 50) * 1000,
      p99: percentileSorted(sorted, 99) * 1000,
      count: params.count,
    };
  },
};
