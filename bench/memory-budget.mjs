// One memory budget for the whole server (`maxBufferedBytes`), at full size: N WebSocket
// sessions subscribe, then stop reading and acknowledging, while the server publishes 1 KB
// every 10 ms. Reports the server's RSS over time against the budget, the sessions shed, the
// memory left once they are gone, and how long a healthy client beside them waited at worst.
// Not a test: it measures and prints (STYLE habit 14).
//
//   node bench/memory-budget.mjs                          1,000 sessions, 40 s, default budget (1 GiB)
//   node bench/memory-budget.mjs --budget 268435456       another budget, in bytes
//   node bench/memory-budget.mjs --budget Infinity        no budget (what the server did before)
//   node bench/memory-budget.mjs --sessions 200 --seconds 10
//
// The server runs in a child process (with --expose-gc) so that its memory is its own; the
// silent sockets and the healthy client live in this process. The silent sockets answer no
// PING either, so after the heartbeat deadline (15 s) the server drops their connections and
// their sessions wait for a resume (resumeWindow, 60 s): both connected and detached sessions
// are measured.
import { fork } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSource, loadSource } from './load-source.mjs';
import { askEcho } from './lib/hostile.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const MiB = 1 << 20;
const cache = new URL('../node_modules/.cache/sockline-bench/', import.meta.url);
const entry = new URL('memory-budget-sockline.mjs', cache);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (args[0] === '--server') await serve();
else await drive();

/** The child: a sockline server that publishes 1 KB every 10 ms on request, and reports. */
async function serve() {
  const { createServer } = await import(pathToFileURL(fileURLToPath(entry)).href);
  const budget = arg('--budget', 'default');
  const server = createServer({
    ws: {},
    // Every socket comes from this machine's one address; no handshake is turned away.
    maxConnectionsPerIp: Infinity,
    maxConnections: Infinity,
    maxPendingHandshakes: Infinity,
    admission: false,
    ...(budget === 'default' ? {} : { maxBufferedBytes: Number(budget) }),
  });
  server.handle('echo', (p) => p);
  let shedBytes = 0;
  server.on('shed', (_peer, info) => (shedBytes += info.bytes));
  const { ws } = await server.listen();
  const memory = (collect) => {
    if (collect) for (let i = 0; i < 3; i++) globalThis.gc();
    const m = process.memoryUsage();
    const s = server.metrics();
    return {
      rss: m.rss,
      heap: m.heapUsed,
      arrayBuffers: m.arrayBuffers,
      buffered: s.bufferedBytes,
      shed: s.shed,
      shedBytes,
      slowConsumers: s.slowConsumers,
      sessions: s.sessions,
      connections: s.connections.ws,
    };
  };
  let timer;
  const payload = 'x'.repeat(1_000);
  let n = 0;
  process.on('message', (m) => {
    if (m.type === 'memory') process.send({ type: 'memory', id: m.id, ...memory(m.collect) });
    if (m.type === 'publish') timer = setInterval(() => server.publish('feed', { n: n++, payload }), 10);
    if (m.type === 'stop') clearInterval(timer);
    if (m.type === 'exit') void server.close().then(() => process.exit(0));
  });
  // The parent is gone (finished or killed): so is this process.
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', ws });
}

/** This process: the silent sessions, the healthy client, the schedule and the printout. */
async function drive() {
  const sessions = Number(arg('--sessions', 1_000));
  const seconds = Number(arg('--seconds', 40));
  const budget = arg('--budget', 'default');
  await mkdir(cache, { recursive: true });
  await buildSource('src/node/index.ts', fileURLToPath(entry));
  const { connect } = await import(pathToFileURL(fileURLToPath(entry)).href);
  // The frame codec is a building block of `sockline/core`, not of the Node entry.
  const { encodeFrame } = await loadSource('src/core/protocol/frames-encode.ts');
  const { SUPPORTED_VERSIONS } = await loadSource('src/core/protocol/frames.ts');
  const { default: WebSocket } = await import('ws');

  const child = fork(fileURLToPath(import.meta.url), ['--server', '--budget', budget], {
    execArgv: ['--expose-gc'],
  });
  const replies = new Map();
  let ids = 0;
  let ready;
  const started = new Promise((r) => (ready = r));
  child.on('message', (m) => {
    if (m.type === 'ready') ready(m.ws);
    if (m.type === 'memory') replies.get(m.id)?.(m);
  });
  const ask = (collect = false) =>
    new Promise((resolve) => {
      const id = ++ids;
      replies.set(id, resolve);
      child.send({ type: 'memory', id, collect });
    });
  const url = await started;

  const before = await ask(true);
  const sockets = [];
  const hello = encodeFrame({ type: 'hello', versions: SUPPORTED_VERSIONS, capabilities: 7, codec: 'json' });
  const subscribe = encodeFrame({ type: 'subscribe', topic: 'feed' });
  for (let i = 0; i < sessions; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, sessions - i) }, async () => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        ws.on('error', () => {});
        sockets.push(ws);
        await new Promise((r) => ws.once('open', r));
        ws.send(hello);
        const [answer] = await new Promise((r) => ws.once('message', (...a) => r(a)));
        // A REFUSE (another protocol version, say) would leave nothing to measure: say so.
        if (answer[0] !== 0x02)
          throw new Error(`the server did not welcome a silent session (frame ${answer[0]})`);
        ws.send(subscribe);
        ws._socket.pause(); // reads nothing more, acknowledges nothing
      }),
    );
  }
  const healthy = connect(url);
  await healthy.opened;
  await sleep(1_000);
  const connected = await ask(true);
  const baseline = (connected.rss - before.rss) / sessions;

  let running = true;
  const asking = askEcho(healthy, () => running, { gap: 50 });

  const mb = (b) => (b / MiB).toFixed(0).padStart(6);
  console.log(
    `node ${process.version}; ${sessions} silent WebSocket sessions, 1 KB published every 10 ms for ${seconds} s; ` +
      `maxBufferedBytes ${budget === 'default' ? 'default (1 GiB)' : budget}`,
  );
  console.log(
    `server RSS before connecting ${mb(before.rss)} MiB, with the sessions connected ${mb(connected.rss)} MiB ` +
      `(${(baseline / 1024).toFixed(1)} KiB per connection)\n`,
  );
  console.log('     t   RSS MiB  growth   counted MiB   shed  slow  sessions  conns');
  child.send({ type: 'publish' });
  const t0 = performance.now();
  let peak = connected.rss;
  let peakCounted = 0;
  for (let t = 1; t <= seconds; t++) {
    await sleep(t * 1_000 - (performance.now() - t0));
    const m = await ask();
    peak = Math.max(peak, m.rss);
    peakCounted = Math.max(peakCounted, m.buffered);
    if (t % 2 === 0 || t === seconds)
      console.log(
        `${String(t).padStart(5)} s ${mb(m.rss)}  ${mb(m.rss - connected.rss)}        ${mb(m.buffered)}  ` +
          `${String(m.shed).padStart(5)} ${String(m.slowConsumers).padStart(5)} ${String(m.sessions).padStart(9)} ${String(m.connections).padStart(6)}`,
      );
  }
  child.send({ type: 'stop' });
  running = false;
  const { answered, failures, maxStall } = await asking;
  const during = await ask(true);
  for (const ws of sockets) ws.terminate();
  await sleep(3_000);
  const after = await ask(true);
  console.log(
    `\npeak RSS ${mb(peak)} MiB: growth ${mb(peak - connected.rss)} MiB over the connected baseline ` +
      `(peak counted ${mb(peakCounted)} MiB); sessions shed ${during.shed} (${mb(during.shedBytes)} MiB freed), slow consumers ${during.slowConsumers}`,
  );
  console.log(
    `after the silent sockets are gone (GC): RSS ${mb(after.rss)} MiB, heap ${mb(after.heap)} MiB, ` +
      `array buffers ${mb(after.arrayBuffers)} MiB; still counted ${mb(after.buffered)} MiB in ${after.sessions} sessions waiting for a resume`,
  );
  // The sessions left wait out their resume window (60 s by default), then everything is free.
  let expired = after;
  for (let i = 0; i < 70 && expired.sessions > 1; i++) {
    await sleep(1_000);
    expired = await ask(i % 10 === 9);
  }
  expired = await ask(true);
  console.log(
    `once their resume window is over (${expired.sessions - 1} left): RSS ${mb(expired.rss)} MiB, ` +
      `heap ${mb(expired.heap)} MiB, array buffers ${mb(expired.arrayBuffers)} MiB, counted ${mb(expired.buffered)} MiB`,
  );
  console.log(
    `healthy client: ${answered} requests answered, ${failures} failed, longest wait ${maxStall.toFixed(0)} ms`,
  );
  await healthy.close();
  child.send({ type: 'exit' });
  await new Promise((r) => child.once('exit', r));
}
