// Fan-out through Redis: one publisher, N subscribers spread over 1, 2 and 3 server processes
// that share topics through the Redis adapter (src/node/redis). Measures deliveries per second
// (messages x subscribers / time from the first publish to the last delivery) and the
// publish-to-delivery latency. Not a test: it measures and reports, it never asserts.
//
//   node bench/cluster-fanout.mjs            full run, a table on stdout
//   node bench/cluster-fanout.mjs --quick    smaller counts (a smoke run)
//   node bench/cluster-fanout.mjs --only 0,3 --subscribers 100 --messages 500
//                                            some rows (by index), other counts
//   node bench/cluster-fanout.mjs --json     also prints { title, columns, rows, notes } as the
//                                            LAST stdout line (bench/run.mjs embeds it)
//
// It starts its own redis-server (on a free loopback port, no persistence) and server
// processes (test/support/cluster-node.ts compiled from src with esbuild), and stops them all.
// Rows: the memory adapter in one process (the baseline, no Redis), then the Redis adapter with
// sessions shared (the default: every frame to a client is written to its session record
// first, so any process can resume it) and with `sessions: false` (topics only).
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { buildSource } from './load-source.mjs';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const JSON_OUT = argv.includes('--json');
const DEFAULT_SUBSCRIBERS = QUICK ? 60 : 300;
const DEFAULT_MESSAGES = QUICK ? 200 : 1_000;
const REPS = QUICK ? 1 : 3;
const option = (name) => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
};
const SUBSCRIBERS = Number(option('--subscribers') ?? DEFAULT_SUBSCRIBERS);
const MESSAGES = Number(option('--messages') ?? DEFAULT_MESSAGES);
const ONLY = option('--only')?.split(',').map(Number);
const log = (line) => process.stdout.write(`${line}\n`);

const supportFile = new URL(
  `../node_modules/.cache/sockline-bench/cluster-support-${process.pid}.mjs`,
  import.meta.url,
);
const nodeFile = new URL(`../node_modules/.cache/sockline-bench/node-${process.pid}.mjs`, import.meta.url);
await buildSource('test/support/cluster.ts', supportFile.pathname);
await buildSource('src/node/index.ts', nodeFile.pathname);
const { startRedis, startClusterNode, removeClusterBuild } = await import(
  pathToFileURL(supportFile.pathname).href
);
const { connect } = await import(pathToFileURL(nodeFile.pathname).href);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let prefixes = 0;

/** One measurement: `processes` server processes, subscribers spread round-robin over them. */
async function measure(redis, { processes, adapter }) {
  const prefix = `bench${process.pid}x${++prefixes}`;
  const nodes = await Promise.all(
    Array.from({ length: processes }, (_, i) =>
      startClusterNode({
        name: `p${i + 1}`,
        redisUrl: adapter === 'memory' ? '' : redis.url,
        prefix,
        sessions: adapter === 'redis',
        // A busy bench process must not be taken for a dead one.
        heartbeatInterval: 10_000,
      }),
    ),
  );
  const clients = [];
  try {
    const latencies = [];
    let delivered = 0;
    let last = 0;
    const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => {
      const c = connect(nodes[i % processes].tcp);
      c.on('error', () => {});
      clients.push(c);
      c.subscribe('bench/fanout', (v) => {
        const now = performance.now();
        latencies.push(now - v.t);
        delivered++;
        last = now;
      });
      return c;
    });
    // A request is answered after the SUBSCRIBE sent before it: every subscription is in place.
    await Promise.all(subscribers.map((c) => c.request('whoami')));
    const publisher = connect(nodes[0].tcp, {
      outbox: { maxMessages: MESSAGES * 2, maxBytes: 64 << 20 },
      replay: { maxMessages: MESSAGES * 2 },
    });
    publisher.on('error', () => {});
    clients.push(publisher);
    await publisher.request('whoami');
    const expected = MESSAGES * SUBSCRIBERS;
    const start = performance.now();
    for (let n = 0; n < MESSAGES; n++) {
      publisher.publish('bench/fanout', { n, t: performance.now() });
      // Publish in bursts: one process's event loop serves the publisher and the subscribers.
      if (n % 50 === 49) await sleep(0);
    }
    const deadline = Date.now() + 120_000;
    while (delivered < expected && Date.now() < deadline) await sleep(5);
    if (delivered < expected) throw new Error(`only ${delivered} of ${expected} deliveries arrived`);
    const seconds = (last - start) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      rate: expected / seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await Promise.all(nodes.map((n) => n.close()));
  }
}

const CONFIGS = [
  { processes: 1, adapter: 'memory', label: 'memory (no Redis)' },
  { processes: 1, adapter: 'redis', label: 'redis, sessions shared' },
  { processes: 2, adapter: 'redis', label: 'redis, sessions shared' },
  { processes: 3, adapter: 'redis', label: 'redis, sessions shared' },
  { processes: 1, adapter: 'redis-topics', label: 'redis, sessions: false' },
  { processes: 2, adapter: 'redis-topics', label: 'redis, sessions: false' },
  { processes: 3, adapter: 'redis-topics', label: 'redis, sessions: false' },
];

const redis = await startRedis();
const rows = [];
try {
  if (!JSON_OUT) log(`cluster fan-out: ${SUBSCRIBERS} subscribers, ${MESSAGES} messages, median of ${REPS}`);
  for (const [index, config] of CONFIGS.entries()) {
    if (ONLY !== undefined && !ONLY.includes(index)) continue;
    const runs = [];
    for (let r = 0; r < REPS; r++) runs.push(await measure(redis, config));
    const rate = median(runs.map((x) => x.rate));
    const p50 = median(runs.map((x) => x.p50));
    const p99 = median(runs.map((x) => x.p99));
    rows.push([
      config.processes,
      config.label,
      SUBSCRIBERS,
      MESSAGES,
      Math.round(rate),
      +p50.toFixed(1),
      +p99.toFixed(1),
    ]);
    if (!JSON_OUT) process.stderr.write('.');
  }
} finally {
  await redis.stop();
  await removeClusterBuild();
  await rm(supportFile, { force: true });
  await rm(nodeFile, { force: true });
}

const columns = ['processes', 'adapter', 'subscribers', 'messages', 'deliveries/s', 'p50 ms', 'p99 ms'];
const notes =
  `One publisher on process 1; subscribers spread round-robin over the processes, all in the bench ` +
  `process (TCP, loopback). deliveries/s = messages x subscribers / (last delivery - first publish); ` +
  `latency from publish() to the subscriber's callback, queueing included (the publisher sends as fast as it can). Median of ${REPS} run(s); redis-server ` +
  `${QUICK ? '(quick run) ' : ''}on the same machine, every process sharing its cores.`;

if (!JSON_OUT) {
  process.stderr.write('\n');
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padStart(widths[i])).join('  ');
  log(line(columns));
  for (const r of rows) log(line(r));
  log(notes);
} else {
  log(JSON.stringify({ title: 'Multi-process fan-out through Redis', columns, rows, notes }));
}
