// idle-memory: server RSS per idle connection. The method of the former bench/idle-memory.mjs:
// a warm-up of 50 connections opened and closed (lazily compiled code and one-off tables land
// in the baseline), a full GC and RSS in the server, N connections opened 20 at a time and at
// most 400 a second (protocol clients until they are open), idle for a while, a full GC and RSS
// again. The pace is under sockline's default admission rate (500 handshakes a second): a
// connect storm, where handshakes are told to come back later, is what reconnect-storm measures.
// Reported: (rss_after - rss_before) / N, with the JS heap and external deltas beside it.
import { performance } from 'node:perf_hooks';
import { closeAll, openMany, sleep } from '../lib/clients.mjs';
import { SYSTEM_NAMES } from '../systems/index.mjs';

const WARMUP = 50;
const KB = 1000;
/** Connections opened at once, and per second at most. */
const BATCH = 20;
const RATE = 400;

export const bench = {
  name: 'idle-memory',
  title: 'Idle memory: server RSS per connection',
  describe:
    'The server process (run with --expose-gc) is measured after a full GC before and after N = 2,000 ' +
    '(400 with --quick) idle ' +
    `connections are opened ${BATCH} at a time and at most ${RATE} a second (after a warm-up of ${WARMUP} ` +
    'opened and closed, then 2 s of idleness): RSS delta / N, and the JS heap delta / N beside it. ' +
    "The pace stays under sockline's default admission rate (500 handshakes a second), so no handshake " +
    'is deferred. KB = 1,000 bytes.',
  systems: SYSTEM_NAMES,
  metrics: [
    { key: 'rssKB', label: 'RSS KB/conn', lowerIsBetter: true, digits: 2 },
    { key: 'heapKB', label: 'heap KB/conn', lowerIsBetter: true, digits: 2 },
  ],
  primary: 'rssKB',
  async run(ctx, system) {
    const n = ctx.quick ? 400 : 2_000;
    const idleMs = ctx.quick ? 500 : 2_000;
    const { worker: server, port } = await ctx.server(system);
    const client = await ctx.client();
    await ctx.run(client, 'idle-memory', system, { port, count: WARMUP }, { phase: 'open' });
    await ctx.run(client, 'idle-memory', system, {}, { phase: 'close' });
    await sleep(500);
    const before = await server.ask({ cmd: 'measure' });
    const opened = await ctx.run(client, 'idle-memory', system, { port, count: n }, { phase: 'open' });
    await sleep(idleMs);
    const after = await server.ask({ cmd: 'measure' });
    const per = (key) => (after[key] - before[key]) / opened.count / KB;
    return {
      rssKB: per('rss'),
      heapKB: per('heapUsed'),
      externalKB: per('external'),
      connections: opened.count,
      openMs: opened.ms,
      serverConnections: after.connections,
    };
  },
};

export const client = {
  async open({ system, state, params }) {
    state.open ??= [];
    state.cleanup = () => closeAll(state.open.splice(0));
    const t0 = performance.now();
    const clients = await openMany(system, params.count, () => ({ port: params.port, mode: 'echo' }), {
      batch: BATCH,
      rate: RATE,
    });
    state.open.push(...clients);
    return { count: clients.length, ms: performance.now() - t0 };
  },
  async close({ state }) {
    await closeAll(state.open?.splice(0) ?? []);
    return {};
  },
};
