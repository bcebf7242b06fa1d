// CPU time per MB of a stream (and of large messages), on each side, writer and reader in
// separate processes over loopback. CPU time (user + system) does not move with the load of
// the other cores the way wall-clock throughput does. A profiling aid, not a test (STYLE
// habit 14): it prints numbers, it asserts nothing.
//
//   node bench/profile/stream.mjs                                   1 GiB stream, each kind
//   node bench/profile/stream.mjs --kinds raw-net,sockline-tcp --mib 256 --runs 3
//   node bench/profile/stream.mjs --case msg --size 1 --mib 256     1 MiB messages (8 unanswered)
//   node bench/profile/stream.mjs --kinds sockline-tcp --prof both  (--cpu-prof on both ends;
//        then: node bench/profile/summarize.mjs /tmp/sockline-prof/*.cpuprofile)
//
// Kinds: the systems of bench/systems with a 'sink' mode (raw-net, raw-ws, sockline-tcp,
// sockline-ws): the server reads and answers as in bench/cases/transfer.mjs, which also
// writes the stream (256 KiB writes; the raw baselines send them as messages, 8 on their
// way). Per side it reports CPU ns per MB (10^6 bytes), socket writes per MB (write or writev
// calls) and socket reads per MB ('data' events: each one an event-loop callback).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadSystem } from '../systems/index.mjs';
import { payload } from '../lib/clients.mjs';
import { peakMemory } from '../lib/peak.mjs';
import { sinkClient, stream } from '../cases/transfer.mjs';

const SELF = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const KINDS = opt('kinds', 'raw-net,sockline-tcp,raw-ws,sockline-ws').split(',');
const CASE = opt('case', 'stream');
const MIB = Number(opt('mib', 1024));
const SIZE_MIB = Number(opt('size', 1));
const RUNS = Number(opt('runs', 1));
const PROF = opt('prof', ''); // '', 'client', 'server' or 'both'
const PROF_DIR = opt('prof-dir', '/tmp/sockline-prof');
// --pin: as `npm run bench` runs it, the reader pinned to CPU 0 and the writer (this process)
// to CPU 1, when taskset exists. --peak: the writer samples its peak memory as in the bench
// (two full GCs every 50 ms when this process runs with `node --expose-gc`; the reader, a
// bench sink, samples its RSS every 5 ms either way).
const PIN = args.includes('--pin');
const PEAK = args.includes('--peak');
const MiB = 1024 * 1024;
const TASKSET = PIN && spawnSync('taskset', ['-V']).status === 0;
if (TASKSET) spawnSync('taskset', ['-apc', '1', String(process.pid)]);
if (PEAK) peakMemory();

/** Counts socket writes (each write or writev a system call at most) and socket reads ('data'). */
function counters() {
  let writes = 0;
  let reads = 0;
  const { _writeGeneric, emit } = net.Socket.prototype;
  net.Socket.prototype._writeGeneric = function (writev, data, encoding, cb) {
    writes++;
    return _writeGeneric.call(this, writev, data, encoding, cb);
  };
  net.Socket.prototype.emit = function (event, ...rest) {
    if (event === 'data') reads++;
    return emit.call(this, event, ...rest);
  };
  return () => ({ writes, reads, cpu: process.cpuUsage() });
}

const delta = (a, b) => ({
  writes: b.writes - a.writes,
  reads: b.reads - a.reads,
  cpuNs: (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) * 1e3,
});

async function serve(kind) {
  // (The sink server samples its own peak memory, as in the bench.)
  const read = counters();
  const system = await loadSystem(kind);
  const { port } = await system.startServer({ port: 0, mode: 'sink' });
  process.on('message', (m) => {
    if (m === 'read') process.send(read());
    else process.exit(0);
  });
  process.send({ port });
}

/** Sends `total` bytes as messages of `size`, at most 8 unanswered (2 of 64 MiB or more). */
async function messages(sink, size, total) {
  const window = size >= 64 * MiB ? 2 : 8;
  const message = payload(size, 3);
  const count = Math.max(1, Math.round(total / size));
  const start = sink.answers.length;
  for (let i = 0; i < count; i++) {
    if (i >= window) await sink.answered(start + i - window + 1);
    sink.c.send(message);
  }
  await sink.answered(start + count);
}

async function runOnce(kind) {
  const profile = PROF === 'server' || PROF === 'both' ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : [];
  const node = [...profile, ...(PEAK ? ['--expose-gc'] : []), SELF, '--server', kind, ...args];
  const [command, argv] = TASKSET
    ? ['taskset', ['-c', '0', process.execPath, ...node]]
    : [process.execPath, node];
  const server = spawn(command, argv, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = await once(server, 'message');
  const ask = async () => {
    server.send('read');
    return (await once(server, 'message'))[0];
  };
  const read = counters();
  const system = await loadSystem(kind);
  const sink = await sinkClient(system, port);
  // --after-messages: the stream follows 64 MiB of 1 MiB messages and 256 MiB of 64 MiB
  // ones on the same connection, as in the transfer bench.
  if (args.includes('--after-messages')) {
    await messages(sink, MiB, 64 * MiB);
    await messages(sink, 64 * MiB, 256 * MiB);
  }
  // Warm-up: a little of the same traffic.
  if (CASE === 'stream') await stream(sink, 32 * MiB);
  else await messages(sink, SIZE_MIB * MiB, 32 * MiB);
  const s0 = await ask();
  const c0 = read();
  const t0 = performance.now();
  if (CASE === 'stream') await stream(sink, MIB * MiB);
  else await messages(sink, SIZE_MIB * MiB, MIB * MiB);
  const wall = performance.now() - t0;
  const c1 = read();
  const s1 = await ask();
  await sink.c.close();
  server.send('exit');
  await once(server, 'exit');
  return { wall, client: delta(c0, c1), server: delta(s0, s1) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

if (args[0] === '--server') {
  await serve(args[1]);
} else {
  const MB = (MIB * MiB) / 1e6;
  const what = CASE === 'stream' ? `a ${MIB} MiB stream` : `${MIB} MiB as ${SIZE_MIB} MiB messages`;
  console.log(`${what}, ${RUNS} run(s), medians; per MB = 10^6 bytes; node ${process.version}`);
  console.log(
    '| kind | MB/s (wall) | writer CPU ns/MB | reader CPU ns/MB | writer writes/MB | reader writes/MB | writer reads/MB | reader reads/MB |',
  );
  console.log('| --- | --: | --: | --: | --: | --: | --: | --: |');
  for (const kind of KINDS) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await runOnce(kind));
    const m = (f) => median(runs.map(f));
    const cell = (x, digits = 0) => x.toLocaleString('en', { maximumFractionDigits: digits });
    console.log(
      `| ${kind} | ${cell(m((r) => MB / (r.wall / 1000)))} | ${cell(m((r) => r.client.cpuNs / MB))} | ` +
        `${cell(m((r) => r.server.cpuNs / MB))} | ${cell(
          m((r) => r.client.writes / MB),
          2,
        )} | ` +
        `${cell(
          m((r) => r.server.writes / MB),
          2,
        )} | ${cell(
          m((r) => r.client.reads / MB),
          2,
        )} | ` +
        `${cell(
          m((r) => r.server.reads / MB),
          2,
        )} |`,
    );
  }
  process.exit(0);
}
