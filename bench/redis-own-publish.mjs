// The server's own publishes through Redis: `server.publish()` as fast as one process makes
// them, timed until its reader has read every one back from the bus. Each is one call of the
// adapter's dedup script, so one Redis stored but did not answer lands once when it is sent
// again (docs/scaling.md). Not a test: it measures and reports, it never asserts.
//
//   node bench/redis-own-publish.mjs                 20 000 publishes, median of 3 runs
//   node bench/redis-own-publish.mjs --publishes 5000
//
// It starts its own redis-server (a free loopback port, `appendonly yes`, `appendfsync always`,
// as docs/scaling.md asks) and stops it.
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { buildSource } from './load-source.mjs';

const argv = process.argv.slice(2);
const i = argv.indexOf('--publishes');
const PUBLISHES = Number(i === -1 ? 20_000 : argv[i + 1]);
const REPS = 3;

const cache = (name) =>
  new URL(`../node_modules/.cache/sockline-bench/${name}-${process.pid}.mjs`, import.meta.url);
const files = { redis: cache('redis-support'), node: cache('node'), adapter: cache('redis-adapter') };
await buildSource('test/support/redis.ts', files.redis.pathname);
await buildSource('src/node/index.ts', files.node.pathname);
await buildSource('src/node/redis/index.ts', files.adapter.pathname);
const { startRedis } = await import(pathToFileURL(files.redis.pathname).href);
const { createServer } = await import(pathToFileURL(files.node.pathname).href);
const { redisAdapter } = await import(pathToFileURL(files.adapter.pathname).href);

const redis = await startRedis('aof');
const rates = [];
try {
  for (let rep = 0; rep < REPS; rep++) {
    const server = createServer({
      tcp: {},
      adapter: redisAdapter({ url: redis.url, prefix: `bench${process.pid}x${rep}` }),
    });
    await server.listen();
    const start = performance.now();
    for (let n = 0; n < PUBLISHES; n++) {
      server.publish('bench/own', n);
      // Let the replies in now and then, as a server handling traffic would.
      if (n % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    while (server.metrics().adapter.received < PUBLISHES) await new Promise((r) => setTimeout(r, 5));
    rates.push(Math.round(PUBLISHES / ((performance.now() - start) / 1000)));
    await server.close();
  }
} finally {
  await redis.remove();
  await Promise.all(Object.values(files).map((f) => rm(f, { force: true })));
}
const sorted = [...rates].sort((a, b) => a - b);
process.stdout.write(
  `server.publish through Redis (appendfsync always), ${PUBLISHES} publishes: ` +
    `median ${sorted[Math.floor(REPS / 2)]}/s (runs: ${rates.join(', ')})\n`,
);
