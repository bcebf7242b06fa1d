// reconnect storm: N clients connected, the server process killed (SIGKILL) and started again
// on the same port; when does each client get back?
import { performance } from 'node:perf_hooks';
import { closeAll, openMany, sleep } from '../lib/clients.mjs';
import { maxInWindow } from '../lib/stats.mjs';
import { SYSTEM_NAMES } from '../systems/index.mjs';
import { NAIVE_RECONNECT_DELAY } from '../systems/raw-net.mjs';

const WINDOW_MS = 100;
const epoch = () => performance.timeOrigin + performance.now();

export const bench = {
  name: 'reconnect-storm',
  title: 'Reconnect storm: server killed and restarted',
  describe:
    '2,000 clients (500 with --quick) are connected; the server process is killed (SIGKILL) and a new one is started at once ' +
    'on the same port. Each client records when it is open again (for sockline: the handshake done). ' +
    `Reported: the largest share of clients reconnecting within any ${WINDOW_MS} ms window, and the ` +
    'time from the kill until every client is back. sockline: its default backoff with jitter; ' +
    `raw ws / net: a fixed ${NAIVE_RECONNECT_DELAY} ms retry loop, as hand-written code does; ` +
    'socket.io and MQTT.js: their defaults. sockline over udp:// learns that the server is gone ' +
    'from its heartbeat (server default: ping every 10 s, dead 5 s later), so it takes that long.',
  systems: SYSTEM_NAMES,
  metrics: [
    { key: 'peakShare', label: 'max share in 100 ms', lowerIsBetter: true, digits: 1, percent: true },
    { key: 'allBackMs', label: 'all back (ms)', lowerIsBetter: true, digits: 0 },
  ],
  primary: 'peakShare',
  ratios: false,
  async run(ctx, system) {
    const count = ctx.quick ? 500 : 2_000;
    const first = await ctx.server(system);
    const client = await ctx.client();
    const t0 = performance.now();
    await ctx.run(client, 'reconnect-storm', system, { port: first.port, count }, { phase: 'open' });
    const openMs = performance.now() - t0;
    await sleep(1_000);
    const killedAt = epoch();
    await first.worker.kill();
    await restart(ctx, system, first.port);
    const restartMs = epoch() - killedAt;
    const r = await ctx.run(
      client,
      'reconnect-storm',
      system,
      { killedAt, timeoutMs: 40_000 },
      { phase: 'collect', timeout: 70_000 },
    );
    if (r.back === 0) throw new Error(`no client came back within ${r.timeoutMs / 1000} s`);
    return {
      peakShare: r.peak / count,
      allBackMs: r.back === count ? r.lastMs : NaN,
      firstMs: r.firstMs,
      back: r.back,
      count,
      restartMs,
      openMs,
      histogram: r.histogram,
    };
  },
};

/** Starts the server again on `port`; the old socket may take a moment to be released. */
async function restart(ctx, system, port) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.server(system, { port });
    } catch (err) {
      if (attempt >= 20 || !String(err.message).includes('EADDRINUSE')) throw err;
      await sleep(50);
    }
  }
}

export const client = {
  async open({ system, state, params }) {
    const lastOpen = new Float64Array(params.count);
    state.lastOpen = lastOpen;
    const clients = await openMany(system, params.count, (i) => ({
      port: params.port,
      mode: 'echo',
      reconnect: true,
      onOpen: () => (lastOpen[i] = epoch()),
    }));
    state.cleanup = () => closeAll(clients);
    return { opened: clients.length };
  },
  async collect({ state, params }) {
    const { lastOpen } = state;
    const { killedAt, timeoutMs } = params;
    const deadline = performance.now() + timeoutMs;
    const backCount = () => lastOpen.reduce((n, t) => n + (t > killedAt ? 1 : 0), 0);
    while (backCount() < lastOpen.length && performance.now() < deadline) await sleep(50);
    const times = Array.from(lastOpen)
      .filter((t) => t > killedAt)
      .map((t) => t - killedAt)
      .sort((a, b) => a - b);
    // Clients back per 100 ms since the kill: the shape of the storm, kept in the JSON.
    const histogram = new Array(Math.ceil((times.at(-1) ?? 0) / WINDOW_MS) + 1).fill(0);
    for (const t of times) histogram[Math.floor(t / WINDOW_MS)]++;
    return {
      histogram,
      back: times.length,
      peak: maxInWindow(times, WINDOW_MS),
      firstMs: times[0],
      lastMs: times.at(-1),
      timeoutMs,
    };
  },
};
