// Recovery from a server process's death behind the proxies of docs/deploy.md: three server
// processes sharing one Redis (`appendonly yes`, `appendfsync always`) behind Debian's nginx
// (WebSocket) and HAProxy (TCP, PROXY v2), configured as that document says. Clients stream
// publishes through both proxies; a process is SIGKILLed mid-stream, then started again on its
// ports (as a supervisor would), and this is repeated. For every client of a killed process it
// measures, from the SIGKILL:
//   resumed  until its session resumed on another process (the client's `session` event);
//   flowing  until a message it published after the kill came back to it through the bus.
// Not a test: it measures and reports, it never asserts.
//
//   node bench/deploy-recovery.mjs                  5 kills, 12 clients (client defaults)
//   node bench/deploy-recovery.mjs --kills 10 --clients 30
//
// It starts its own redis-server, server processes (test/support/cluster-node.ts compiled from
// src with esbuild), nginx and haproxy on free loopback ports, and stops them all.
import { readdir, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { buildSource } from './load-source.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const KILLS = option('--kills', 5);
const CLIENTS = option('--clients', 12);
/** Pause between two publishes of one client (ms). */
const PACE = 10;
const log = (line) => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

const cache = (name) =>
  new URL(`../node_modules/.cache/sockline-bench/${name}-${process.pid}.mjs`, import.meta.url);
const files = { deployment: cache('deployment'), redis: cache('redis-support'), node: cache('node') };
await buildSource('test/deploy/support/deployment.ts', files.deployment.pathname);
await buildSource('test/support/redis.ts', files.redis.pathname);
await buildSource('src/node/index.ts', files.node.pathname);
const { startDeployment } = await import(pathToFileURL(files.deployment.pathname).href);
const { startRedis } = await import(pathToFileURL(files.redis.pathname).href);
const { connect } = await import(pathToFileURL(files.node.pathname).href);

/** The server process script test/support/cluster.ts compiled for this run (named by our pid). */
async function removeNodeScripts() {
  const dir = new URL('../node_modules/.cache/sockline-cluster/', import.meta.url);
  const names = await readdir(dir).catch(() => []);
  const ours = names.filter((n) => n.startsWith(`cluster-node-${process.pid}-`));
  await Promise.all(ours.map((n) => rm(new URL(n, dir), { force: true })));
}

/** One round: fresh clients spread by the proxies, the busiest process killed, then restarted. */
async function round(deployment, k) {
  const fronts = [deployment.nginx.url, deployment.haproxy.url];
  const clients = Array.from({ length: CLIENTS }, (_, i) => {
    const c = connect(fronts[i % 2]);
    c.on('error', () => {});
    return c;
  });
  let streaming = true;
  try {
    const homes = await Promise.all(clients.map((c) => c.request('whoami')));
    const count = (name) => homes.filter((h) => h === name).length;
    const doomed = deployment.nodes.reduce((a, b) => (count(b.name) > count(a.name) ? b : a));
    const watched = clients.filter((_, i) => homes[i] === doomed.name);
    let killedAt = Infinity;
    const resumed = new Map();
    const flowing = new Map();
    watched.forEach((c) => {
      c.on('session', ({ resumed: r }) => {
        if (r && performance.now() > killedAt && !resumed.has(c))
          resumed.set(c, performance.now() - killedAt);
      });
    });
    const streams = clients.map(async (c, i) => {
      const topic = `recovery/${k}/${i}`;
      c.subscribe(topic, ({ at }) => {
        if (at > killedAt && !flowing.has(c)) flowing.set(c, performance.now() - killedAt);
      });
      while (streaming) {
        c.publish(topic, { at: performance.now() });
        await sleep(PACE);
      }
    });
    await sleep(500); // streaming before the kill
    killedAt = performance.now();
    await doomed.kill();
    const until = performance.now() + 30_000;
    while (watched.some((c) => !flowing.has(c) || !resumed.has(c)) && performance.now() < until)
      await sleep(10);
    streaming = false;
    await Promise.all(streams);
    await deployment.restart(doomed);
    await sleep(2_500); // the proxies' health checks (inter 1s, rise 2) see it up again
    return {
      victim: doomed.name,
      clients: watched.length,
      resumed: watched.map((c) => resumed.get(c)).filter((t) => t !== undefined),
      flowing: watched.map((c) => flowing.get(c)).filter((t) => t !== undefined),
    };
  } finally {
    streaming = false;
    await Promise.all(clients.map((c) => c.close()));
  }
}

const redis = await startRedis('aof');
let deployment;
const rounds = [];
try {
  deployment = await startDeployment({ redisUrl: redis.url, prefix: `recovery${process.pid}` });
  for (let k = 0; k < KILLS; k++) {
    const r = await round(deployment, k);
    rounds.push(r);
    log(
      `kill ${k + 1}/${KILLS}: ${r.victim} with ${r.clients} clients; resumed ${r.resumed.length} in ` +
        `${r.resumed.map((t) => t.toFixed(0)).join(', ')} ms; flowing ${r.flowing.length} in ` +
        `${r.flowing.map((t) => t.toFixed(0)).join(', ')} ms`,
    );
  }
} finally {
  await deployment?.stop();
  await redis.remove();
  await removeNodeScripts();
  await Promise.all(Object.values(files).map((f) => rm(f, { force: true })));
}

const summary = (name, times, of) => {
  const sorted = [...times].sort((a, b) => a - b);
  const missing = of - sorted.length;
  return (
    `${name}: p50 ${percentile(sorted, 50).toFixed(0)} ms, max ${sorted.at(-1).toFixed(0)} ms ` +
    `(${sorted.length} clients${missing > 0 ? `, ${missing} not within 30 s` : ''})`
  );
};
const watchedAll = rounds.reduce((n, r) => n + r.clients, 0);
log(`${KILLS} SIGKILLs behind nginx and HAProxy, ${CLIENTS} clients per round, publishing every ${PACE} ms:`);
log(
  `  ${summary(
    'resumed',
    rounds.flatMap((r) => r.resumed),
    watchedAll,
  )}`,
);
log(
  `  ${summary(
    'flowing',
    rounds.flatMap((r) => r.flowing),
    watchedAll,
  )}`,
);
