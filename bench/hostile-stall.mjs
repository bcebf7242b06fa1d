// How long other clients wait while hostile peers work on the server: a healthy client's
// longest wait between two answers (max stall) and the p99 of its request times beside each
// hostile scenario, and how long a client from another address takes to open its session
// during a flood. The reliability and deploy tests check that these clients are served (every
// request answered within its timeout, the open done while the flood still holds its slots);
// this measures how fast, against the targets printed beside each figure (1,000 ms, the bound
// those tests once asserted). Not a test: it measures and reports, it never asserts.
//
//   node bench/hostile-stall.mjs                   every scenario, 8 s of attack each
//   node bench/hostile-stall.mjs --quick           3 s each, fewer hostile peers
//   node bench/hostile-stall.mjs --only flood,slow some scenarios (flood, prehello, budget, slow)
//   node bench/hostile-stall.mjs --json            also prints { title, columns, rows, notes,
//                                                  values } as the LAST stdout line (bench/run.mjs)
//
// Three processes: the server (src/node compiled with esbuild, pinned to CPU 0 when taskset
// exists), the healthy client (a sockline client over ws:// that asks `echo` one request at a
// time, 10 ms apart, and is subscribed to the topic the server publishes; CPU 1), and this one,
// which drives the hostile peers, so their own work is not counted as the server's.
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSource, loadSource } from './load-source.mjs';
import { CPU, exited, spawnNode } from './lib/procs.mjs';
import { percentileSorted } from './lib/stats.mjs';
import { announce, askEcho, upgradedSockets } from './lib/hostile.mjs';

const argv = process.argv.slice(2);
const option = (name) => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
};
const QUICK = argv.includes('--quick');
const JSON_OUT = argv.includes('--json');
const SECONDS = QUICK ? 3 : 8;
/** The most a healthy client may wait, and a client from another address take to open. */
export const TARGET_MS = 1_000;
const MiB = 1 << 20;
const SELF = fileURLToPath(import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The server of each scenario, the same as its test's: all hostile peers come from 127.0.0.1
 * (so per-address limits are raised where the scenario is not about them).
 */
const SERVERS = {
  // The defaults: 100 pending handshakes per address, a 10 s handshake deadline.
  flood: { tcp: {}, ws: {} },
  // The HELLO cap alone ends them (the deadline is 30 s).
  prehello: { ws: {}, handshakeTimeout: 30_000, maxPendingHandshakesPerIp: 5_000 },
  budget: { ws: {}, maxBufferedBytes: 4 * MiB, admission: false },
  slow: { ws: {}, maxOutboundBytes: 64 << 10, writeDeadline: 300, admission: false },
};

const SCENARIOS = {
  flood: {
    title: '1,000 silent sockets from one address on each of the TCP and WebSocket ports',
    attack: flood,
  },
  prehello: {
    title: `WebSocket peers announcing 1 MiB before their HELLO, ${QUICK ? 200 : 500} a wave`,
    attack: preHello,
  },
  budget: {
    title: 'silent subscribers over maxBufferedBytes (4 MiB), 20 more every 500 ms: shedding',
    attack: budget,
  },
  slow: {
    title: 'readers that never acknowledge, dropped as slow consumers and back at once',
    attack: slowConsumers,
  },
};

if (argv[0] === '--server') await serve(argv[1], argv[2]);
else if (argv[0] === '--healthy') await healthy(argv[1], argv[2]);
else await drive();

/** The server process: the scenario's server, publishing 1 KB every 10 ms when asked. */
async function serve(scenario, module) {
  const { createServer } = await import(pathToFileURL(module).href);
  const server = createServer(SERVERS[scenario]);
  server.handle('echo', (p) => p);
  const addresses = await server.listen();
  let timer;
  const payload = 'x'.repeat(1_000);
  let n = 0;
  process.on('message', (m) => {
    if (m.type === 'publish') timer = setInterval(() => server.publish('feed', { n: n++, payload }), 10);
    if (m.type === 'metrics') {
      const s = server.metrics();
      process.send({
        type: 'metrics',
        pending: s.pendingHandshakes,
        rejected: s.rejected,
        shed: s.shed,
        slowConsumers: s.slowConsumers,
        handshakeFailures: s.handshakeFailures,
      });
    }
    if (m.type === 'exit') {
      clearInterval(timer);
      void server.close().then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', addresses });
}

/** The healthy client's process: asks until told to stop, then reports its waits. */
async function healthy(url, module) {
  const { connect } = await import(pathToFileURL(module).href);
  const client = connect(url);
  client.subscribe('feed', () => {});
  await client.opened;
  let running = true;
  process.on('message', (m) => {
    if (m.type === 'stop') running = false;
  });
  process.send({ type: 'ready' });
  const { waits, failures, maxStall } = await askEcho(client, () => running);
  await client.close();
  process.send({
    type: 'report',
    answered: waits.length,
    failures,
    p50: percentileSorted(waits, 50),
    p99: percentileSorted(waits, 99),
    maxStall,
  });
  process.disconnect();
}

/** A child process of this script that talks over IPC: `next(type)` resolves with its next such message. */
function child(args, cpu) {
  const proc = spawnNode(SELF, args, { cpu });
  const waiting = new Map();
  proc.on('message', (m) => {
    waiting.get(m.type)?.(m);
    waiting.delete(m.type);
  });
  return {
    proc,
    next: (type) => new Promise((resolve) => waiting.set(type, resolve)),
    send: (m) => proc.send(m),
  };
}

/** Runs one scenario: server, healthy client, the attack for SECONDS; returns its table rows. */
async function run(name, module, codec) {
  const scenario = SCENARIOS[name];
  const server = child(['--server', name, module], CPU.server);
  const { addresses } = await server.next('ready');
  const client = child(['--healthy', addresses.ws, module], CPU.client);
  await client.next('ready');
  const metrics = () => {
    const reply = server.next('metrics');
    server.send({ type: 'metrics' });
    return reply;
  };
  const until = performance.now() + SECONDS * 1_000;
  // What the server counted while the hostile peers are still there; then they go.
  const { rows: extra = [], cleanup } = (await scenario.attack({ addresses, codec, until, server })) ?? {};
  const counters = await metrics();
  cleanup?.();
  const report = client.next('report');
  client.send({ type: 'stop' });
  const r = await report;
  server.send({ type: 'exit' });
  await Promise.all([exited(server.proc), exited(client.proc)]);
  const served = `${r.answered} answered, ${r.failures} failed`;
  const rows = [
    {
      scenario: name,
      measure: 'healthy client: request time (p50, p99) and longest wait between answers (max)',
      n: r.answered,
      p50: r.p50,
      p99: r.p99,
      max: r.maxStall,
      notes: `${served}; server: ${describe(counters)}`,
    },
  ];
  return [...rows, ...extra];
}

function describe(c) {
  const parts = [];
  if (c.rejected) parts.push(`${c.rejected} refused`);
  if (c.pending) parts.push(`${c.pending} handshakes pending at the end`);
  if (c.handshakeFailures) parts.push(`${c.handshakeFailures} handshakes failed`);
  if (c.shed) parts.push(`${c.shed} sessions shed`);
  if (c.slowConsumers) parts.push(`${c.slowConsumers} slow consumers dropped`);
  return parts.join(', ') || 'nothing refused';
}

/** Silent sockets: connect and never send a byte (they read what they are told). */
async function silentSockets(port, count) {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.on('error', () => {});
          s.resume();
        }),
    ),
  );
}

/** The time (ms) a session from 127.0.0.2 takes from its connect to its WELCOME. */
function openFromElsewhere(url, codec) {
  const { port } = new URL(url);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const done = (socket, result) => {
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    if (url.startsWith('tcp:')) {
      const socket = net.connect({ port: Number(port), host: '127.0.0.1', localAddress: '127.0.0.2' });
      socket.on('error', (e) => done(socket, e));
      const decoder = codec.framing.createDecoder((body) => {
        const f = codec.decodeFrame(body);
        done(socket, f.type === 'welcome' ? performance.now() - t0 : new Error(`got ${f.type}`));
      });
      socket.on('data', (chunk) => decoder.push(chunk));
      socket.write(codec.framing.encode(codec.hello));
      return;
    }
    const ws = new codec.WebSocket(url, { perMessageDeflate: false, localAddress: '127.0.0.2' });
    const socket = { destroy: () => ws.terminate() };
    ws.on('error', (e) => done(socket, e));
    ws.on('open', () => ws.send(codec.hello));
    ws.on('message', (data) => {
      const f = codec.decodeFrame(new Uint8Array(data));
      done(socket, f.type === 'welcome' ? performance.now() - t0 : new Error(`got ${f.type}`));
    });
  });
}

/** Clients from another address open one after another while the flood holds its slots. */
async function flood({ addresses, codec, until }) {
  const sockets = [
    ...(await silentSockets(Number(new URL(addresses.tcp).port), 1_000)),
    ...(await silentSockets(Number(new URL(addresses.ws).port), 1_000)),
  ];
  const opens = { tcp: [], ws: [] };
  while (performance.now() < until) {
    for (const t of ['tcp', 'ws']) opens[t].push(await openFromElsewhere(addresses[t], codec));
    await sleep(200);
  }
  const rows = ['tcp', 'ws'].map((t) => {
    const sorted = opens[t].sort((a, b) => a - b);
    return {
      scenario: `flood-open-${t}`,
      measure: `a ${t === 'tcp' ? 'TCP' : 'WebSocket'} session from 127.0.0.2 opened (connect to WELCOME)`,
      n: sorted.length,
      p50: percentileSorted(sorted, 50),
      p99: percentileSorted(sorted, 99),
      max: sorted.at(-1),
      notes: 'one after another, 200 ms apart, during the flood',
    };
  });
  return { rows, cleanup: () => sockets.forEach((s) => s.destroy()) };
}

/** Waves of peers that upgrade, announce a 1 MiB first message and send it in 64 KiB pieces. */
async function preHello({ addresses, until }) {
  const peers = QUICK ? 200 : 500;
  const { port } = new URL(addresses.ws);
  const piece = Buffer.alloc(64 << 10);
  while (performance.now() < until) {
    const wave = await upgradedSockets(port, peers);
    for (const s of wave) s.write(announce(1 << 20));
    for (let i = 0; i < 16 && performance.now() < until; i++) {
      for (const s of wave) if (!s.destroyed) s.write(piece);
      await sleep(50);
    }
    for (const s of wave) s.destroy();
  }
}

/** A WebSocket session that subscribes to `feed`; `silent` ones then stop reading. */
async function subscriber(url, codec, { silent }) {
  const ws = new codec.WebSocket(url, { perMessageDeflate: false });
  ws.on('error', () => {});
  await new Promise((r) => ws.once('open', r));
  ws.send(codec.hello);
  const answer = await new Promise((r) => ws.once('message', r));
  // A refused HELLO would leave nothing to measure: say so rather than report a calm server.
  const { type } = codec.decodeFrame(new Uint8Array(answer));
  if (type !== 'welcome') throw new Error(`a subscriber was not welcomed: ${type}`);
  ws.send(codec.subscribe);
  if (silent) ws._socket.pause();
  return ws;
}

/** Silent subscribers while the server publishes: held bytes grow past the budget, sessions are shed. */
async function budget({ addresses, codec, until, server }) {
  const all = [];
  for (let i = 0; i < 200; i++) all.push(await subscriber(addresses.ws, codec, { silent: true }));
  server.send({ type: 'publish' });
  while (performance.now() < until) {
    await sleep(500);
    for (let i = 0; i < 20; i++) all.push(await subscriber(addresses.ws, codec, { silent: true }));
  }
  return { cleanup: () => all.forEach((ws) => ws.terminate()) };
}

/** Readers that take everything and acknowledge nothing; each one dropped is replaced at once. */
async function slowConsumers({ addresses, codec, until, server }) {
  const open = new Set();
  const add = async () => {
    if (performance.now() >= until) return;
    const ws = await subscriber(addresses.ws, codec, { silent: false });
    open.add(ws);
    ws.once('close', () => {
      open.delete(ws);
      void add();
    });
  };
  await Promise.all(Array.from({ length: 50 }, add));
  server.send({ type: 'publish' });
  await sleep(until - performance.now());
  for (const ws of open) {
    ws.removeAllListeners('close');
    ws.terminate();
  }
}

async function drive() {
  const only = option('--only')?.split(',') ?? Object.keys(SCENARIOS);
  for (const s of only) if (!(s in SCENARIOS)) throw new Error(`--only: unknown scenario ${s}`);
  const dir = new URL('../node_modules/.cache/sockline-bench/', import.meta.url);
  const module = fileURLToPath(new URL(`hostile-node-${process.pid}.mjs`, dir));
  await buildSource('src/node/index.ts', module);
  const { encodeFrame } = await loadSource('src/core/protocol/frames-encode.ts');
  const { decodeFrame } = await loadSource('src/core/protocol/frames-decode.ts');
  const { SUPPORTED_VERSIONS } = await loadSource('src/core/protocol/frames.ts');
  const { lengthFraming } = await loadSource('src/core/framing/index.ts');
  const { default: WebSocket } = await import('ws');
  const codec = {
    WebSocket,
    decodeFrame,
    framing: lengthFraming(),
    hello: encodeFrame({ type: 'hello', versions: SUPPORTED_VERSIONS, capabilities: 7, codec: 'json' }),
    subscribe: encodeFrame({ type: 'subscribe', topic: 'feed' }),
  };
  const load = loadavg()[0];
  const rows = [];
  try {
    for (const name of only) {
      if (!JSON_OUT) console.log(`${name}: ${SCENARIOS[name].title} (${SECONDS} s)`);
      rows.push(...(await run(name, module, codec)));
    }
  } finally {
    await rm(module, { force: true });
  }
  const ms = (v) => (Number.isFinite(v) ? v.toFixed(0) : '—');
  const table = {
    title: 'Waits beside hostile peers',
    columns: ['scenario', 'measured', 'n', 'p50 ms', 'p99 ms', 'max ms', 'target', 'met', 'notes'],
    rows: rows.map((r) => [
      r.scenario,
      r.measure,
      String(r.n),
      ms(r.p50),
      ms(r.p99),
      ms(r.max),
      `max ≤ ${TARGET_MS.toLocaleString('en-US')} ms`,
      r.max <= TARGET_MS ? 'met' : 'MISSED',
      r.notes,
    ]),
    notes:
      `${SECONDS} s of attack per scenario (${only.map((s) => `${s}: ${SCENARIOS[s].title}`).join('; ')}). ` +
      `1-minute load average ${load.toFixed(2)} before and ${loadavg()[0].toFixed(2)} after.`,
    values: Object.fromEntries(rows.map((r) => [r.scenario, { p50: r.p50, p99: r.p99, max: r.max }])),
  };
  if (!JSON_OUT) {
    console.log();
    for (const row of table.rows) console.log(row.join(' | '));
    console.log(table.notes);
  } else console.log(JSON.stringify(table));
}
