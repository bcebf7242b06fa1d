// Server memory per idle connection, for the current source (src/ compiled with esbuild, no
// `npm run build`): raw node:net, raw ws, and the sockline server on TCP and on WebSocket.
// Measures and reports, never asserts.
//
//   node bench/profile/idle.mjs                         every kind, 3 runs, N = 2,000
//   node bench/profile/idle.mjs --n 4000 --runs 5
//   node bench/profile/idle.mjs --only sockline-tcp     one kind (repeatable)
//   node bench/profile/idle.mjs --snapshot --only sockline-ws
//                                                       one run per kind with a heap snapshot
//                                                       before and after; prints the objects each
//                                                       connection added (bench/profile/heap-summary.mjs);
//                                                       --keep leaves the .heapsnapshot files
//   node bench/profile/idle.mjs --spaces                also prints each V8 heap space's used and
//                                                       committed bytes per connection
//   node bench/profile/idle.mjs --maps                 also splits RSS by mapping (/proc/self/smaps): the
//                                                       malloc heap ([heap], brk), anonymous mappings (V8's
//                                                       pages, malloc's mmaps and thread arenas), the rest
//   node bench/profile/idle.mjs --allocations           also samples what the server allocates while the
//                                                       N connections open (transient and kept), by site
//   node bench/profile/idle.mjs --server-flag --trace-gc
//                                                       a node flag for the server process (repeatable)
//   node bench/profile/idle.mjs --json out.json         also writes every run as JSON
//
// Method (as bench/idle-memory.mjs): the server runs in its own process with --expose-gc,
// pinned to CPU 0, the clients in another pinned to CPU 1 (taskset). Per run: 50 connections
// opened and closed (code compiled, one-off tables made), a full GC, a measure; N connections
// opened 20 at a time, 400 a second at most (sockline: protocol-mode `connect()` until
// `opened`; the server's default admission takes 500 a second), `--idle` ms
// (default 2,000) of idleness, a full GC, a measure. Reported per connection: the deltas of
// RSS, V8 heap used, external and arrayBuffers (process.memoryUsage()), and of Node timers
// alive (process.getActiveResourcesInfo()). KB = 1,000 bytes.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HOST = '127.0.0.1';
/** Connections opened at once, and per second at most (as bench/cases/idle-memory.mjs). */
const BATCH = 20;
const RATE = 400;
const WARMUP = 50;
const OPEN_TIMEOUT_MS = 120_000;
const KB = 1000;
const KINDS = ['raw-net', 'raw-ws', 'sockline-tcp', 'sockline-ws'];
const BASELINE = { 'sockline-tcp': 'raw-net', 'sockline-ws': 'raw-ws' };
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const HAS_TASKSET = existsSync('/usr/bin/taskset');

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const reply = (message) => process.send?.(message);

/** Sends `message` to a child and resolves with its next message. */
function ask(child, message) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      child.off('exit', onExit);
      if (m && m.error) reject(new Error(m.error));
      else resolve(m);
    };
    const onExit = (code) => {
      child.off('message', onMessage);
      reject(new Error(`child exited (${code}) while asked ${JSON.stringify(message)}`));
    };
    child.once('message', onMessage);
    child.once('exit', onExit);
    child.send(message);
  });
}

const exited = (child) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', resolve));

// --- the server process ------------------------------------------------------------------------

async function fullGc() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await sleep(100);
  globalThis.gc();
}

async function startServer(kind, bundle) {
  if (kind === 'raw-net') {
    const net = await import('node:net');
    const sockets = new Set();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('data', () => {});
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise((resolve) => server.listen(0, HOST, resolve));
    return {
      port: server.address().port,
      connections: () => sockets.size,
      close: async () => {
        for (const s of sockets) s.destroy();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }
  if (kind === 'raw-ws') {
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ port: 0, host: HOST, perMessageDeflate: false });
    wss.on('connection', (ws) => {
      ws.on('error', () => {});
      ws.on('message', () => {});
    });
    await new Promise((resolve) => wss.once('listening', resolve));
    return {
      port: wss.address().port,
      connections: () => wss.clients.size,
      close: async () => {
        for (const ws of wss.clients) ws.terminate();
        await new Promise((resolve) => wss.close(resolve));
      },
    };
  }
  const { createServer } = await import(pathToFileURL(bundle).href);
  const transport = kind === 'sockline-tcp' ? 'tcp' : 'ws';
  const server = createServer({
    [transport]: { port: 0 },
    // The defaults (1,000 per address) would refuse most of the loopback clients.
    maxConnections: 1_000_000,
    maxConnectionsPerIp: 1_000_000,
  });
  server.on('error', () => {});
  const addresses = await server.listen();
  return {
    port: Number(new URL(addresses[transport]).port),
    connections: () => server.peers.size,
    close: () => server.close(),
  };
}

/** Resident bytes by mapping kind (Linux): `[heap]` (malloc's brk arena), anonymous, the rest. */
async function residentByMapping() {
  const { readFile } = await import('node:fs/promises');
  const out = { brk: 0, anon: 0, other: 0 };
  let kind = 'other';
  for (const line of (await readFile('/proc/self/smaps', 'utf8').catch(() => '')).split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head !== null) kind = head[1] === '[heap]' ? 'brk' : head[1] === '' ? 'anon' : 'other';
    else if (line.startsWith('Rss:')) out[kind] += Number(line.split(/\s+/)[1]) * 1024;
  }
  // RegExp's last match would keep a line of the file, and the whole file through it, alive.
  /x/.exec('x');
  return out;
}

function timersAlive() {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** Sampled bytes allocated, by allocating function (self), biggest first. */
function allocationsBySite(profile) {
  const bySite = new Map();
  const walk = (node, caller) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url ? url.split('/').slice(-1)[0] : '';
    const site = `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
    // A built-in (no script) is named with the function that called it.
    const key = file || caller === undefined ? site : `${site} in ${caller}`;
    bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child, file ? site : caller);
  };
  walk(profile.head, undefined);
  return [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 40);
}

let sampling;

async function serve(kind, bundle) {
  if (typeof globalThis.gc !== 'function') throw new Error('the server process needs --expose-gc');
  const server = await startServer(kind, bundle);
  process.on('message', async (m) => {
    try {
      if (m.cmd === 'measure') {
        await fullGc();
        const u = process.memoryUsage();
        const { getHeapSpaceStatistics } = await import('node:v8');
        const spaces = Object.fromEntries(
          getHeapSpaceStatistics().map((sp) => [
            sp.space_name,
            { size: sp.space_size, used: sp.space_used_size },
          ]),
        );
        reply({
          spaces,
          maps: m.maps ? await residentByMapping() : undefined,
          rss: u.rss,
          heapUsed: u.heapUsed,
          heapTotal: u.heapTotal,
          external: u.external,
          arrayBuffers: u.arrayBuffers,
          timers: timersAlive(),
          connections: server.connections(),
        });
      } else if (m.cmd === 'alloc-start') {
        const { Session } = await import('node:inspector/promises');
        sampling = new Session();
        sampling.connect();
        await sampling.post('HeapProfiler.startSampling', {
          samplingInterval: 256,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        });
        reply({ started: true });
      } else if (m.cmd === 'alloc-stop') {
        const { profile } = await sampling.post('HeapProfiler.stopSampling');
        sampling.disconnect();
        reply({ top: allocationsBySite(profile) });
      } else if (m.cmd === 'snapshot') {
        await fullGc();
        const v8 = await import('node:v8');
        reply({ path: v8.writeHeapSnapshot(m.path) });
      } else if (m.cmd === 'exit') {
        await server.close();
        reply({ closed: true });
        process.disconnect();
      }
    } catch (err) {
      reply({ error: String(err?.stack ?? err) });
    }
  });
  reply({ port: server.port });
}

// --- the client process ------------------------------------------------------------------------

async function opener(kind, port, bundle) {
  if (kind === 'raw-net') {
    const net = await import('node:net');
    return () =>
      new Promise((resolve, reject) => {
        const socket = net.connect(port, HOST);
        socket.once('connect', () => {
          socket.off('error', reject);
          socket.on('error', () => {});
          resolve({ close: () => socket.destroy() });
        });
        socket.once('error', reject);
      });
  }
  if (kind === 'raw-ws') {
    const { WebSocket } = await import('ws');
    return () =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${HOST}:${port}/`, { perMessageDeflate: false });
        ws.once('open', () => {
          ws.off('error', reject);
          ws.on('error', () => {});
          resolve({ close: () => ws.terminate() });
        });
        ws.once('error', reject);
      });
  }
  const { connect } = await import(pathToFileURL(bundle).href);
  const url = kind === 'sockline-tcp' ? `tcp://${HOST}:${port}` : `ws://${HOST}:${port}/`;
  return async () => {
    const client = connect(url);
    client.on('error', () => {});
    await client.opened;
    return { close: () => client.close() };
  };
}

async function clients(kind, port, bundle) {
  const openOne = await opener(kind, port, bundle);
  const open = [];
  process.on('message', async (m) => {
    try {
      if (m.cmd === 'open') {
        const started = performance.now();
        let failed = 0;
        let firstError;
        for (let done = 0; done < m.count; done += BATCH) {
          const due = started + (done / RATE) * 1000;
          if (performance.now() < due) await sleep(due - performance.now());
          const size = Math.min(BATCH, m.count - done);
          const results = await Promise.allSettled(Array.from({ length: size }, openOne));
          for (const r of results) {
            if (r.status === 'fulfilled') open.push(r.value);
            else {
              failed++;
              firstError ??= String(r.reason?.message ?? r.reason);
            }
          }
          if (performance.now() - started > OPEN_TIMEOUT_MS) throw new Error('opening took too long');
        }
        reply({ opened: open.length, failed, firstError, ms: performance.now() - started });
      } else if (m.cmd === 'close') {
        await Promise.allSettled(open.splice(0).map((c) => c.close()));
        reply({ closed: true });
      } else if (m.cmd === 'exit') {
        await Promise.allSettled(open.splice(0).map((c) => c.close()));
        reply({ exiting: true });
        process.disconnect();
        setTimeout(() => process.exit(0), 5_000).unref();
      }
    } catch (err) {
      reply({ error: String(err?.stack ?? err) });
    }
  });
  reply({ ready: true });
}

// --- the orchestrator --------------------------------------------------------------------------

/** Spawns this file in a node child with an IPC channel, on `cpu` when taskset exists. */
function spawnSelf(cpu, nodeArgs, selfArgs) {
  const argv = [...nodeArgs, SELF, ...selfArgs];
  const child = HAS_TASKSET
    ? spawn('/usr/bin/taskset', ['-c', String(cpu), process.execPath, ...argv], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
    : spawn(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return child;
}

function firstMessage(child) {
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before it was ready`)));
  });
}

async function runOnce(kind, n, idleMs, bundle, snapshotDir, allocations = false) {
  const serverFlags = args.flatMap((a, i) => (args[i - 1] === '--server-flag' ? [a] : []));
  const server = spawnSelf(0, ['--expose-gc', ...serverFlags], ['--serve', kind, bundle]);
  const client = spawnSelf(1, [], ['--clients', kind, bundle]);
  let clientReady = false;
  try {
    const { port } = await firstMessage(server);
    client.send({ port });
    await firstMessage(client);
    clientReady = true;
    const warm = await ask(client, { cmd: 'open', count: WARMUP });
    if (warm.opened !== WARMUP) throw new Error(`warm-up: ${JSON.stringify(warm)}`);
    await ask(client, { cmd: 'close' });
    await sleep(500);
    if (snapshotDir)
      await ask(server, { cmd: 'snapshot', path: join(snapshotDir, `${kind}-before.heapsnapshot`) });
    const before = await ask(server, { cmd: 'measure', maps: args.includes('--maps') });
    if (allocations) await ask(server, { cmd: 'alloc-start' });
    const opened = await ask(client, { cmd: 'open', count: n });
    if (allocations) {
      const { top } = await ask(server, { cmd: 'alloc-stop' });
      const total = top.reduce((sum, [, bytes]) => sum + bytes, 0);
      console.log(
        `\n${kind}: bytes allocated while opening, per connection (sampled; top sites ${kb(total / opened.opened)} KB)`,
      );
      for (const [site, bytes] of top)
        console.log(`  ${(bytes / opened.opened).toFixed(0).padStart(6)}  ${site}`);
    }
    if (opened.opened === 0) throw new Error(`no connection opened: ${opened.firstError}`);
    await sleep(idleMs);
    const after = await ask(server, { cmd: 'measure', maps: args.includes('--maps') });
    if (snapshotDir)
      await ask(server, { cmd: 'snapshot', path: join(snapshotDir, `${kind}-after.heapsnapshot`) });
    const count = opened.opened;
    const per = (key) => (after[key] - before[key]) / count;
    const spaces = Object.fromEntries(
      Object.keys(after.spaces).map((name) => {
        const a = after.spaces[name];
        const b = before.spaces[name] ?? { size: 0, used: 0 };
        return [name, { size: (a.size - b.size) / count, used: (a.used - b.used) / count }];
      }),
    );
    const maps =
      after.maps &&
      Object.fromEntries(
        Object.keys(after.maps).map((name) => [name, (after.maps[name] - before.maps[name]) / count]),
      );
    return {
      spaces,
      maps,
      connections: count,
      failed: opened.failed,
      firstError: opened.firstError,
      serverConnections: after.connections,
      openMs: Math.round(opened.ms),
      rss: per('rss'),
      heap: per('heapUsed'),
      heapTotal: per('heapTotal'),
      external: per('external'),
      arrayBuffers: per('arrayBuffers'),
      timers: per('timers'),
    };
  } finally {
    if (clientReady) await ask(client, { cmd: 'exit' }).catch(() => {});
    else client.kill();
    await exited(client);
    await ask(server, { cmd: 'exit' }).catch(() => server.kill());
    await exited(server);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const kb = (bytes) => (bytes / KB).toFixed(2);

async function main() {
  const runs = Math.max(1, Number(flag('--runs') ?? 3));
  const n = Math.max(1, Number(flag('--n') ?? 2_000));
  const idleMs = Math.max(0, Number(flag('--idle') ?? 2_000));
  const only = args.flatMap((a, i) => (args[i - 1] === '--only' ? [a] : []));
  for (const k of only) if (!KINDS.includes(k)) throw new Error(`--only takes one of ${KINDS.join(', ')}`);
  const kinds = only.length > 0 ? KINDS.filter((k) => only.includes(k)) : KINDS;
  const snapshot = args.includes('--snapshot');

  const dir = await mkdtemp(join(ROOT, 'node_modules', '.sockline-idle-'));
  const bundle = join(dir, 'node.mjs');
  try {
    const { buildSource } = await import('../load-source.mjs');
    await buildSource('src/node/index.ts', bundle);
    console.log(
      `idle: N=${n}, ${snapshot ? '1 run with heap snapshots' : `${runs} runs`} per kind, idle ${idleMs} ms, ` +
        `${HAS_TASKSET ? 'server on CPU 0, clients on CPU 1' : 'not pinned (no taskset)'}, node ${process.version}`,
    );

    if (snapshot) {
      const { summarizeHeapSnapshot, diffSummaries, formatRows } = await import('./heap-summary.mjs');
      const out = fileURLToPath(new URL('../results/heap-idle/', import.meta.url));
      await mkdir(out, { recursive: true });
      for (const kind of kinds) {
        const r = await runOnce(kind, n, idleMs, bundle, out);
        const before = await summarizeHeapSnapshot(join(out, `${kind}-before.heapsnapshot`));
        const after = await summarizeHeapSnapshot(join(out, `${kind}-after.heapsnapshot`));
        console.log(
          `\n${kind}: ${r.connections} connections; heap used ${kb(r.heap)} KB/conn ` +
            `(RSS ${kb(r.rss)} KB/conn, inflated by the snapshot itself)\n`,
        );
        console.log(formatRows(diffSummaries(before, after, r.connections), Number(flag('--top') ?? 30)));
      }
      if (args.includes('--keep')) console.log(`\nsnapshots kept in ${out}`);
      else await rm(out, { recursive: true, force: true });
      return;
    }

    const results = Object.fromEntries(kinds.map((k) => [k, []]));
    for (let run = 1; run <= runs; run++) {
      // Round-robin, so drift on the machine spreads over every kind.
      for (const kind of kinds) {
        const r = await runOnce(kind, n, idleMs, bundle, undefined, args.includes('--allocations'));
        results[kind].push(r);
        console.log(
          `  run ${run}/${runs} ${kind.padEnd(12)} ${r.connections} open` +
            `${r.failed ? ` (${r.failed} failed: ${r.firstError})` : ''}, server sees ${r.serverConnections}: ` +
            `RSS ${kb(r.rss)} heap ${kb(r.heap)} (total ${kb(r.heapTotal)}) external ${kb(r.external)} ` +
            `arrayBuffers ${kb(r.arrayBuffers)} KB/conn, timers ${r.timers.toFixed(2)}/conn`,
        );
        if (args.includes('--spaces')) {
          const cells = Object.entries(r.spaces)
            .filter(([, d]) => Math.abs(d.size) >= 5 || Math.abs(d.used) >= 5)
            .map(([name, d]) => `${name} ${kb(d.used)}/${kb(d.size)}`);
          console.log(`      V8 spaces, used/committed KB/conn: ${cells.join(', ')}`);
        }
        if (args.includes('--maps')) {
          const cells = Object.entries(r.maps).map(([name, bytes]) => `${name} ${kb(bytes)}`);
          console.log(`      RSS by mapping KB/conn: ${cells.join(', ')}`);
        }
      }
    }
    const summary = {};
    for (const kind of kinds) {
      const m = (key) => median(results[kind].map((r) => r[key]));
      const rss = results[kind].map((r) => r.rss);
      summary[kind] = {
        rss: m('rss'),
        rssMin: Math.min(...rss),
        rssMax: Math.max(...rss),
        heap: m('heap'),
        heapTotal: m('heapTotal'),
        external: m('external'),
        arrayBuffers: m('arrayBuffers'),
        timers: m('timers'),
      };
    }
    console.log(`\nServer memory per idle connection (N=${n}, median of ${runs} runs, KB = 1000 bytes)\n`);
    console.log(
      '| kind | RSS KB/conn | RSS spread | ratio to raw | heap used KB/conn | heap total KB/conn | external KB/conn | arrayBuffers KB/conn | timers/conn |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const kind of kinds) {
      const s = summary[kind];
      const base = BASELINE[kind] && summary[BASELINE[kind]];
      const ratio = base ? `${(s.rss / base.rss).toFixed(2)}× ${BASELINE[kind]}` : '—';
      console.log(
        `| ${kind} | ${kb(s.rss)} | ${kb(s.rssMin)}–${kb(s.rssMax)} | ${ratio} | ${kb(s.heap)} | ${kb(s.heapTotal)} | ` +
          `${kb(s.external)} | ${kb(s.arrayBuffers)} | ${s.timers.toFixed(2)} |`,
      );
    }
    const json = flag('--json');
    if (json !== undefined) {
      await writeFile(
        json,
        `${JSON.stringify({ date: new Date().toISOString(), node: process.version, n, runs, idleMs, summary, runsByKind: results }, null, 2)}\n`,
      );
      console.log(`\nwrote ${json}`);
    }
  } finally {
    // SOCKLINE_KEEP_BUNDLE=1 keeps the bundle, to read the line numbers of --allocations against.
    if (process.env.SOCKLINE_KEEP_BUNDLE === '1') console.log(`bundle kept: ${bundle}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

const mode = args[0];
if (mode === '--serve') await serve(args[1], args[2]);
else if (mode === '--clients') process.once('message', (m) => void clients(args[1], m.port, args[2]));
else await main();
