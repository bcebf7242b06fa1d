// Function calls and heap bytes allocated per message, server and client in one process over
// TCP on loopback. A profiling aid, not a test (STYLE habit 14): it prints numbers, it asserts
// nothing. Calls are exact (V8 precise coverage with call counts), counted for sockline's own
// functions only (src/, mapped back through a source map), and split by source module; heap
// bytes are estimated from the GC trace (bytes the heap grew by between collections, Node's
// own objects for the sockets included).
//
//   node bench/profile/calls.mjs                      up, down and echo, 20,000 messages each
//   node bench/profile/calls.mjs --flows up --count 50000 --top 40
//
// Flows: `up` is `client.send()` to the server's `peer.on('message')`; `down` is `peer.send()`
// to the client's `on('message')`; `echo` is one of each (the pipelined bench's round trip).
// Every flow keeps 100 messages of 64 bytes outstanding and runs 2,000 messages of warm-up
// before the counted ones. The src/ tree is compiled with esbuild, so no build is needed.
import { Session } from 'node:inspector/promises';
import { SourceMap } from 'node:module';
import { GCProfiler } from 'node:v8';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const FLOWS = opt('flows', 'up,down,echo').split(',');
const COUNT = Number(opt('count', 20_000));
const TOP = Number(opt('top', 25));
const WARMUP = 2_000;
const OUTSTANDING = 100;
const root = fileURLToPath(new URL('../../', import.meta.url));

// --- the source, bundled with a source map -----------------------------------------------------

const dir = await mkdtemp(join(root, 'node_modules', '.sockline-calls-'));
const outfile = join(dir, 'entry.mjs');
await build({
  entryPoints: [join(root, 'src/node/index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'node',
  packages: 'external',
  target: 'node20',
  sourcemap: 'external',
  keepNames: false,
  outfile,
  logLevel: 'error',
});
const code = await readFile(outfile, 'utf8');
const map = new SourceMap(JSON.parse(await readFile(`${outfile}.map`, 'utf8')));
const lineStarts = [0];
for (let i = 0; i < code.length; i++) if (code.charCodeAt(i) === 10) lineStarts.push(i + 1);
const bundleUrl = pathToFileURL(outfile).href;
const sockline = await import(bundleUrl);
await rm(dir, { recursive: true, force: true });

/** The source module of a bundle offset, e.g. `core/protocol/delivery.ts`. */
function moduleAt(offset) {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  const entry = map.findEntry(lo, offset - lineStarts[lo]);
  const source = entry?.originalSource ?? '?';
  const at = source.lastIndexOf('/src/');
  return at === -1 ? source : source.slice(at + 5);
}

// --- one flow ------------------------------------------------------------------------------------

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function counts() {
  const { result } = await session.post('Profiler.takePreciseCoverage');
  const byFunction = new Map();
  for (const script of result) {
    if (script.url !== bundleUrl) continue;
    for (const fn of script.functions) {
      const range = fn.ranges[0];
      if (range.count === 0 || range.startOffset === 0) continue;
      const key = `${moduleAt(range.startOffset)} ${fn.functionName || '(anonymous)'}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + range.count);
    }
  }
  return byFunction;
}

async function runFlow(flow) {
  const server = sockline.createServer({ tcp: { port: 0 }, admission: false });
  const payload = new Uint8Array(64).fill(7);
  let atServer = 0;
  let atClient = 0;
  let peer;
  let pump = () => {};
  server.on('connection', (p) => {
    peer = p;
    p.on('message', (m) => {
      atServer++;
      if (flow === 'echo') p.send(m);
      else if (flow === 'up') pump();
    });
  });
  const { tcp } = await server.listen();
  const client = sockline.connect(tcp);
  client.on('message', () => {
    atClient++;
    if (flow === 'echo') client.send(payload);
    else if (flow === 'down') pump();
  });
  await client.opened;
  await sleep(50);
  // `up` and `down`: one more message each time one arrives, from the sending side.
  let sent = 0;
  let limit = WARMUP;
  const sendOne = () => {
    if (sent >= limit) return;
    sent++;
    if (flow === 'down') peer.send(payload);
    else client.send(payload);
  };
  pump = sendOne;
  const arrived = () => (flow === 'down' || flow === 'echo' ? atClient : atServer);
  const until = async (n) => {
    for (let waited = 0; arrived() < n; waited += 5) {
      if (waited > 60_000) throw new Error(`${flow}: stalled at ${arrived()} of ${n}`);
      await sleep(5);
    }
  };
  const start = (n) => {
    const extra = Math.min(OUTSTANDING, n);
    for (let i = 0; i < extra; i++) {
      if (flow === 'echo') {
        if (sent < limit) {
          sent++;
          client.send(payload);
        }
      } else sendOne();
    }
  };
  if (flow === 'echo') {
    // The echo loop stops by itself once `limit` messages went round.
    client.removeAllListeners?.('message');
    client.on('message', () => {
      atClient++;
      if (sent < limit) {
        sent++;
        client.send(payload);
      }
    });
  }
  start(WARMUP);
  await until(WARMUP);
  await sleep(100); // acks and pings of the warm-up settle
  await counts(); // resets the counters
  const profiler = new GCProfiler();
  profiler.start();
  const from = arrived();
  limit = sent + COUNT;
  start(COUNT);
  await until(from + COUNT);
  const byFunction = await counts();
  const gc = profiler.stop();
  await client.close();
  await server.close();
  return { byFunction, allocated: allocatedBytes(gc) };
}

/** Heap growth between collections, summed: bytes allocated (and not freed in between). */
function allocatedBytes(gc) {
  let total = 0;
  let last;
  for (const s of gc.statistics) {
    const before = s.beforeGC.heapStatistics.usedHeapSize;
    if (last !== undefined) total += before - last;
    last = s.afterGC.heapStatistics.usedHeapSize;
  }
  return { bytes: total, collections: gc.statistics.length };
}

for (const flow of FLOWS) {
  const { byFunction, allocated } = await runFlow(flow);
  const total = [...byFunction.values()].reduce((a, b) => a + b, 0);
  const byModule = new Map();
  for (const [key, n] of byFunction) {
    const module = key.split(' ')[0];
    byModule.set(module, (byModule.get(module) ?? 0) + n);
  }
  console.log(
    `\n${flow}: ${(total / COUNT).toFixed(1)} sockline calls per message in ${byModule.size} modules; ` +
      (allocated.collections > 1
        ? `~${Math.round(allocated.bytes / COUNT)} heap bytes allocated per message (${allocated.collections} GCs)`
        : 'too few GCs to estimate heap bytes (raise --count)'),
  );
  for (const [module, n] of [...byModule].sort((a, b) => b[1] - a[1]))
    console.log(`${(n / COUNT).toFixed(2).padStart(8)}  ${module}`);
  console.log('  by function:');
  for (const [key, n] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`${(n / COUNT).toFixed(2).padStart(8)}  ${key}`);
}
await session.post('Profiler.stopPreciseCoverage');
session.disconnect();
process.exit(0);
