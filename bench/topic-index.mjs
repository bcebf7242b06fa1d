// Publish cost against the number of subscription patterns the server holds: the topic index
// (src/core/protocol/topic-index.ts) makes a publish cost the subscribers it reaches, not the
// patterns held. Not a test: nothing here gates a build on wall-clock time (STYLE habit 14).
//
//   node --expose-gc bench/topic-index.mjs                   10 and 1,000,000 unrelated patterns
//   node --expose-gc bench/topic-index.mjs --patterns 200000 10 and that many
//
// Two measures, each with 10 and with N patterns that match nothing published:
//
// - index: `forEachMatch('chat/lobby')` on a TopicIndex holding the patterns plus the two of
//   one subscriber, and, for scale, the linear scan it replaced (topicMatches against every
//   pattern, what the server did before);
// - server: `server.publish('chat/lobby', …)` on a real server (TCP) whose store holds the
//   patterns in 10 sessions, delivered to one connected subscriber, and a publish to a topic
//   nobody subscribed to (matching alone).
//
// The unrelated patterns take the shapes that make a trie work: literal prefixes
// (`u123/x`), wildcards first (`+/u123`), trailing `#` (`u123/#`), a `+` in the middle
// (`room/123/+`).
import { mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { buildSource, loadSource } from './load-source.mjs';

const args = process.argv.slice(2);
const patternsArg = args.indexOf('--patterns');
const LARGE = patternsArg === -1 ? 1_000_000 : Number(args[patternsArg + 1]);
const SMALL = 10;
const HOLDERS = 10;

const cache = new URL('../node_modules/.cache/sockline-bench/', import.meta.url);
await mkdir(cache, { recursive: true });
const outfile = new URL('topic-index.mjs', cache);
await buildSource('src/node/index.ts', outfile.pathname);
const sockline = await import(pathToFileURL(outfile.pathname).href);
const { createServer, connect } = sockline;
// The index and the matcher are internals of the server and of `sockline/core`.
const { TopicIndex } = await loadSource('src/core/protocol/topic-index.ts');
const { topicMatches } = await loadSource('src/core/protocol/topics.ts');

const gc = globalThis.gc ?? (() => {});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function unrelated(i) {
  switch (i % 4) {
    case 0:
      return `u${i}/x`;
    case 1:
      return `+/u${i}`;
    case 2:
      return `u${i}/#`;
    default:
      return `room/${i}/+`;
  }
}

/** Median ns per op over `runs` runs of `ops` calls of `fn`. */
function time(fn, ops, runs = 5) {
  for (let i = 0; i < Math.min(ops, 1_000); i++) fn(); // warm-up
  const samples = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) fn();
    samples.push(((performance.now() - t0) * 1e6) / ops);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

let sink = 0;

function indexCase(n) {
  gc();
  const before = process.memoryUsage().heapUsed;
  const index = new TopicIndex();
  const patterns = [];
  for (let i = 0; i < n; i++) {
    const p = unrelated(i);
    patterns.push(p);
    index.add(p, i % HOLDERS);
  }
  index.add('chat/+', 'subscriber');
  index.add('chat/lobby', 'subscriber');
  patterns.push('chat/+', 'chat/lobby');
  gc();
  const bytesPerPattern = n >= 1_000 ? (process.memoryUsage().heapUsed - before) / n : NaN;
  const visit = () => void sink++;
  const indexed = time(() => index.forEachMatch('chat/lobby', visit), 200_000);
  // The scan the server did before: every pattern against the topic.
  const scanOps = Math.max(3, Math.floor(2_000_000 / patterns.length));
  const scanned = time(
    () => {
      for (const p of patterns) if (topicMatches(p, 'chat/lobby')) sink++;
    },
    scanOps,
    3,
  );
  return { patterns: n, indexedNs: indexed, scanNs: scanned, bytesPerPattern };
}

async function serverCase(n) {
  const server = createServer({
    tcp: {},
    admission: false,
    maxSubscriptions: Infinity,
    maxTotalSubscriptions: Infinity,
  });
  const { tcp } = await server.listen();
  const holders = [];
  for (let i = 0; i < HOLDERS; i++) {
    const c = connect(tcp);
    await c.opened;
    holders.push(c);
  }
  const subscriber = connect(tcp);
  let received = 0;
  subscriber.subscribe('chat/lobby', () => received++);
  await subscriber.opened;
  while (server.store.topics.size < 1) await sleep(5);
  // The holders' patterns go straight into their sessions (as their SUBSCRIBEs would).
  const states = [...server.store.all()].filter((s) => !s.subscriptions.has('chat/lobby'));
  for (let i = 0; i < n; i++) states[i % states.length].subscribe(unrelated(i));
  gc();
  const payload = { hello: 'world' };
  const PUBLISHES = 20_000;
  const measure = async (topic) => {
    const samples = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (let i = 0; i < PUBLISHES / 5; i++) server.publish(topic, payload);
      samples.push(((performance.now() - t0) * 1e6) / (PUBLISHES / 5));
      await sleep(20); // lets the subscriber read and acknowledge
    }
    samples.sort((a, b) => a - b);
    return samples[2];
  };
  await measure('chat/lobby'); // warm-up
  const delivered = await measure('chat/lobby');
  const unmatched = await measure('nobody/here');
  const expected = 2 * PUBLISHES;
  for (let i = 0; i < 200 && received < expected; i++) await sleep(10);
  await Promise.all([...holders, subscriber].map((c) => c.close()));
  await server.close();
  return { patterns: n, publishNs: delivered, unmatchedNs: unmatched, received, expected };
}

const fmt = (ns) =>
  ns >= 1e6
    ? `${(ns / 1e6).toFixed(2)} ms`
    : ns >= 1e3
      ? `${(ns / 1e3).toFixed(2)} µs`
      : `${ns.toFixed(0)} ns`;

console.log(`node ${process.version}, ${LARGE.toLocaleString('en')} unrelated patterns for the large case\n`);
console.log('index: one publish to chat/lobby (2 matching patterns, 1 subscriber)');
for (const n of [SMALL, LARGE]) {
  const r = indexCase(n);
  console.log(
    `  ${String(n.toLocaleString('en')).padStart(9)} patterns: ${fmt(r.indexedNs).padStart(10)} per publish (index)` +
      `   ${fmt(r.scanNs).padStart(10)} (linear scan)` +
      (Number.isNaN(r.bytesPerPattern) ? '' : `   ${r.bytesPerPattern.toFixed(0)} B of heap per pattern`),
  );
}
console.log('\nserver: server.publish() over TCP, patterns held by 10 sessions, 1 subscriber of chat/lobby');
for (const n of [SMALL, LARGE]) {
  const r = await serverCase(n);
  console.log(
    `  ${String(n.toLocaleString('en')).padStart(9)} patterns: ${fmt(r.publishNs).padStart(10)} per publish delivered` +
      `   ${fmt(r.unmatchedNs).padStart(10)} per publish to nobody` +
      `   (${r.received}/${r.expected} received)`,
  );
}
if (sink < 0) console.log(sink);
