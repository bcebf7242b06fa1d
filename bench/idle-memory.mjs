// Memory per idle connection on the server side (src/node/server.ts). Not a test: it measures
// and reports, it never asserts (STYLE habit 14).
//
//   node bench/idle-memory.mjs                      every kind, 3 runs each, N = 2,000
//   node bench/idle-memory.mjs --runs 5 --n 4000    more runs / more connections
//   node bench/idle-memory.mjs --only sockline-ws   one kind (repeatable flag)
//   node bench/idle-memory.mjs --snapshot sockline-tcp
//                                                   one run with V8 heap snapshots before and
//                                                   after; prints the per-connection JS objects
//                                                   (add --keep to keep the .heapsnapshot files)
//
// Targets from the benchmark issue: <= 10 KB RSS per idle TCP peer and <= 12 KB per idle
// WebSocket peer, measured against a plain `node:net` server and a plain `ws` server in the
// same run (the baselines are the floor Node and `ws` cost on this machine).
//
// Method: the server runs in its own process (`--serve <kind>`, pinned to CPU 0 when taskset
// exists, `--expose-gc`), the clients in another (`--clients <kind>`, CPU 1). Each run: a
// warm-up of 50 connections opened and closed (so lazily compiled code and one-off tables are
// in the baseline), GC + RSS in the server, N idle connections opened in batches of 200 (for
// sockline kinds: protocol-mode `connect()` until `opened`), 2 s of idleness, GC + RSS again.
// Reported: (rss_after - rss_before) / N. Uses ../dist, so run `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const HOST = '127.0.0.1';
const BATCH = 200;
const WARMUP_CONNECTIONS = 50;
const IDLE_MS = 2_000;
const OPEN_TIMEOUT_MS = 60_000;
const KINDS = ['raw-net', 'raw-ws', 'sockline-tcp', 'sockline-ws'];
const INFO = {
  'raw-net': { transport: 'tcp', target: undefined, baseline: undefined },
  'raw-ws': { transport: 'ws', target: undefined, baseline: undefined },
  'sockline-tcp': { transport: 'tcp', target: 10, baseline: 'raw-net' },
  'sockline-ws': { transport: 'ws', target: 12, baseline: 'raw-ws' },
};

const SELF = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};

const KB = 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Child-process plumbing: replies over the IPC channel, one outstanding command at a time.

function reply(message) {
  process.send?.(message);
}

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

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

// ---------------------------------------------------------------------------------------------
// --serve <kind>: the server process.

async function fullGc() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await sleep(100);
  globalThis.gc();
}

async function startServer(kind) {
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
  const { createServer } = await import('../dist/node.js');
  const transport = INFO[kind].transport;
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

async function serve(kind) {
  if (typeof globalThis.gc !== 'function') throw new Error('--serve needs node --expose-gc');
  const server = await startServer(kind);
  process.on('message', async (m) => {
    try {
      if (m.cmd === 'measure') {
        await fullGc();
        const u = process.memoryUsage();
        reply({
          rss: u.rss,
          heapUsed: u.heapUsed,
          heapTotal: u.heapTotal,
          external: u.external,
          arrayBuffers: u.arrayBuffers,
          connections: server.connections(),
        });
      } else if (m.cmd === 'snapshot') {
        await fullGc();
        const v8 = await import('node:v8');
        v8.writeHeapSnapshot(m.path);
        reply({ path: m.path });
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

// ---------------------------------------------------------------------------------------------
// --clients <kind> <port>: the client process.

async function openOne(kind, port) {
  if (kind === 'raw-net') {
    const net = await import('node:net');
    return new Promise((resolve, reject) => {
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
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${HOST}:${port}/`, { perMessageDeflate: false });
      ws.once('open', () => {
        ws.off('error', reject);
        ws.on('error', () => {});
        resolve({ close: () => ws.terminate() });
      });
      ws.once('error', reject);
    });
  }
  const { connect } = await import('../dist/node.js');
  const scheme = INFO[kind].transport;
  const client = connect(`${scheme}://${HOST}:${port}${scheme === 'ws' ? '/' : ''}`);
  client.on('error', () => {});
  await client.opened;
  return { close: () => client.close() };
}

async function clients(kind, port) {
  const open = [];
  process.on('message', async (m) => {
    try {
      if (m.cmd === 'open') {
        const started = performance.now();
        let failed = 0;
        let firstError;
        let timer;
        const deadline = new Promise((resolve) => {
          timer = setTimeout(() => resolve('timeout'), OPEN_TIMEOUT_MS);
        });
        for (let done = 0; done < m.count; done += BATCH) {
          const size = Math.min(BATCH, m.count - done);
          const batch = Promise.allSettled(Array.from({ length: size }, () => openOne(kind, port)));
          const results = await Promise.race([batch, deadline]);
          if (results === 'timeout') throw new Error(`opening timed out after ${open.length} connections`);
          for (const r of results) {
            if (r.status === 'fulfilled') open.push(r.value);
            else {
              failed++;
              firstError ??= String(r.reason?.message ?? r.reason);
            }
          }
        }
        clearTimeout(timer);
        reply({ opened: open.length, failed, firstError, ms: performance.now() - started });
      } else if (m.cmd === 'close') {
        await Promise.allSettled(open.splice(0).map((c) => c.close()));
        reply({ closed: true });
      } else if (m.cmd === 'exit') {
        await Promise.allSettled(open.splice(0).map((c) => c.close()));
        reply({ exiting: true });
        process.disconnect();
        // Sockline clients close gracefully and exit on their own; this is a backstop.
        setTimeout(() => process.exit(0), 5_000).unref();
      }
    } catch (err) {
      reply({ error: String(err?.stack ?? err) });
    }
  });
  reply({ ready: true });
}

// ---------------------------------------------------------------------------------------------
// The orchestrator.

function openFileLimit() {
  const r = spawnSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return r.status === 0 && Number.isFinite(n) ? n : r.stdout.trim() === 'unlimited' ? Infinity : undefined;
}

const HAS_TASKSET = existsSync('/usr/bin/taskset');

/** Spawns this file in a child node process with an IPC channel, pinned to `cpu` if possible. */
function spawnSelf(cpu, nodeArgs, selfArgs, raiseLimit) {
  let command = process.execPath;
  let argv = [...nodeArgs, SELF, ...selfArgs];
  if (HAS_TASKSET) {
    argv = ['-c', String(cpu), command, ...argv];
    command = '/usr/bin/taskset';
  }
  if (raiseLimit) {
    const quoted = [command, ...argv].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    argv = ['-c', `ulimit -n 65536 2>/dev/null || ulimit -n $(ulimit -Hn); exec ${quoted}`];
    command = 'bash';
  }
  return spawn(command, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

async function firstMessage(child) {
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before it was ready`)));
  });
}

/** One run of one kind: returns bytes per connection and the raw numbers. */
async function runOnce(kind, n, raiseLimit, snapshotDir) {
  const server = spawnSelf(0, ['--expose-gc'], ['--serve', kind], raiseLimit);
  const client = spawnSelf(1, [], ['--clients', kind], raiseLimit);
  let clientReady = false;
  try {
    const { port } = await firstMessage(server);
    client.send({ port });
    await firstMessage(client);
    clientReady = true;

    // Warm-up: code paths compiled, per-address tables created, before the baseline.
    const warm = await ask(client, { cmd: 'open', count: WARMUP_CONNECTIONS });
    if (warm.opened !== WARMUP_CONNECTIONS) throw new Error(`warm-up: ${JSON.stringify(warm)}`);
    await ask(client, { cmd: 'close' });
    await sleep(500);

    if (snapshotDir) await ask(server, { cmd: 'snapshot', path: `${snapshotDir}/before.heapsnapshot` });
    const before = await ask(server, { cmd: 'measure' });
    const opened = await ask(client, { cmd: 'open', count: n });
    await sleep(IDLE_MS);
    const after = await ask(server, { cmd: 'measure' });
    if (snapshotDir) await ask(server, { cmd: 'snapshot', path: `${snapshotDir}/after.heapsnapshot` });
    const count = opened.opened;
    if (count === 0) throw new Error(`no connection opened: ${opened.firstError}`);
    const per = (key) => (after[key] - before[key]) / count;
    return {
      connections: count,
      failed: opened.failed,
      firstError: opened.firstError,
      serverConnections: after.connections,
      openMs: Math.round(opened.ms),
      rssBefore: before.rss,
      rssAfter: after.rss,
      bytesPerConnection: per('rss'),
      heapBytesPerConnection: per('heapUsed'),
      externalBytesPerConnection: per('external'),
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

// --- heap snapshot summary (--snapshot) -------------------------------------------------------

async function summarizeSnapshot(path) {
  const snap = JSON.parse(await readFile(path, 'utf8'));
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((k) => f.indexOf(k));
  const byKey = new Map();
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += f.length) {
    const type = types[nodes[i + iType]];
    const name = strings[nodes[i + iName]];
    const key = type === 'object' || type === 'native' ? `${name}` : `(${type})`;
    const entry = byKey.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += nodes[i + iSize];
    byKey.set(key, entry);
  }
  return byKey;
}

async function snapshotReport(kind, n, raiseLimit) {
  const dir = fileURLToPath(new URL(`./results/heap-${kind}`, import.meta.url));
  await mkdir(dir, { recursive: true });
  console.log(`heap snapshots of ${kind} with ${n} idle connections (in ${dir})...`);
  const result = await runOnce(kind, n, raiseLimit, dir);
  const before = await summarizeSnapshot(`${dir}/before.heapsnapshot`);
  const after = await summarizeSnapshot(`${dir}/after.heapsnapshot`);
  const rows = [];
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, size: 0 };
    rows.push({ key, count: (a.count - b.count) / n, bytes: (a.size - b.size) / n });
  }
  rows.sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  console.log(
    `\nRSS ${kb(result.bytesPerConnection)} KB/conn (inflated: the snapshots themselves cost memory); ` +
      `JS heap (snapshot self sizes) ${kb(total)} KB/conn\n`,
  );
  console.log('| object (constructor / type) | per conn | bytes per conn |');
  console.log('| --- | ---: | ---: |');
  for (const r of rows.slice(0, 25))
    console.log(`| ${r.key} | ${r.count.toFixed(2)} | ${r.bytes.toFixed(0)} |`);
  if (args.includes('--keep')) console.log(`\nsnapshots kept in ${dir} (open them in Chrome DevTools)`);
  else await rm(dir, { recursive: true, force: true });
}

// --- main ---------------------------------------------------------------------------------------

async function main() {
  const runs = Math.max(1, Number(flag('--runs') ?? 3));
  const n = Math.max(1, Number(flag('--n') ?? 2_000));
  const only = args.flatMap((a, i) => (args[i - 1] === '--only' ? [a] : []));
  const kinds = only.length > 0 ? KINDS.filter((k) => only.includes(k)) : KINDS;

  const limit = openFileLimit();
  const needed = n + WARMUP_CONNECTIONS + 100;
  const raiseLimit = limit !== undefined && limit < needed;
  console.log(
    `idle-memory: N=${n}, ${runs} runs per kind, open-file limit ${limit ?? '?'}` +
      `${raiseLimit ? ' (raised to 65536 in the children)' : ''}, ` +
      `${HAS_TASKSET ? 'server on CPU 0, clients on CPU 1' : 'no taskset: processes not pinned'}, ` +
      `node ${process.version}`,
  );

  const snapshotKind = flag('--snapshot');
  if (snapshotKind !== undefined) {
    if (!KINDS.includes(snapshotKind)) throw new Error(`--snapshot takes one of ${KINDS.join(', ')}`);
    await snapshotReport(snapshotKind, n, raiseLimit);
    return;
  }

  const results = Object.fromEntries(kinds.map((k) => [k, []]));
  // Round-robin, so drift on the machine spreads over every kind instead of biasing one.
  for (let run = 1; run <= runs; run++) {
    for (const kind of kinds) {
      const r = await runOnce(kind, n, raiseLimit);
      results[kind].push(r);
      console.log(
        `  run ${run}/${runs} ${kind.padEnd(12)} ${r.connections} open` +
          `${r.failed ? ` (${r.failed} failed: ${r.firstError})` : ''}, server sees ${r.serverConnections}, ` +
          `opened in ${r.openMs} ms, RSS ${kb(r.rssBefore / KB)} -> ${kb(r.rssAfter / KB)} MB: ` +
          `${kb(r.bytesPerConnection)} KB/conn (heap ${kb(r.heapBytesPerConnection)}, ` +
          `external ${kb(r.externalBytesPerConnection)})`,
      );
    }
  }

  const summary = {};
  for (const kind of kinds) {
    const per = results[kind].map((r) => r.bytesPerConnection);
    summary[kind] = {
      median: median(per),
      min: Math.min(...per),
      max: Math.max(...per),
      heapMedian: median(results[kind].map((r) => r.heapBytesPerConnection)),
      externalMedian: median(results[kind].map((r) => r.externalBytesPerConnection)),
    };
  }

  console.log(`\nServer RSS per idle connection (N=${n}, ${runs} runs, KB = 1000 bytes)\n`);
  console.log(
    '| kind | KB/conn (median) | spread (min–max) | target | ratio to raw baseline | JS heap KB/conn | external KB/conn |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const kind of kinds) {
    const s = summary[kind];
    const { target, baseline } = INFO[kind];
    const base = baseline && summary[baseline];
    const ratio = base ? `${(s.median / base.median).toFixed(2)}× ${baseline}` : '—';
    const targetCell = target === undefined ? 'baseline' : `≤ ${target} KB`;
    console.log(
      `| ${kind} | ${kb(s.median)} | ${kb(s.min)}–${kb(s.max)} | ${targetCell} | ${ratio} | ` +
        `${kb(s.heapMedian)} | ${kb(s.externalMedian)} |`,
    );
  }

  const out = new URL('./results/idle-memory.json', import.meta.url);
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        connections: n,
        runs,
        idleMs: IDLE_MS,
        pinned: HAS_TASKSET,
        openFileLimit: limit ?? null,
        unit: 'bytes per connection (RSS delta after GC)',
        targets: { 'sockline-tcp': 10 * KB, 'sockline-ws': 12 * KB },
        summary,
        runsByKind: results,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${fileURLToPath(out)}`);
}

const mode = args[0];
if (mode === '--serve') {
  await serve(args[1]);
} else if (mode === '--clients') {
  const kind = args[1];
  process.once('message', (m) => void clients(kind, m.port));
} else {
  await main();
}
