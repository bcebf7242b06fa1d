// sockline in protocol mode (the default: handshake, sequence numbers and acks), over tcp://,
// ws:// or udp://, through the public API: `createServer` and `connect` of src/node/index.ts.
// Echo is the README's way: the server's `connection` handler echoes each message with
// `peer.send`. Fan-out uses the server's topics: subscribers `subscribe`, the publisher
// `publish`. The client keeps its default reconnect (backoff with full jitter).
//
// The module is the current source compiled by bench/run.mjs (SOCKLINE_BENCH_MODULE), or
// compiled here when this file is used on its own. A system of another revision
// (`sockline-tcp@<rev>`, npm run bench -- --baseline <rev>) uses that revision's source, compiled
// by bench/run.mjs (SOCKLINE_BENCH_BASELINE_MODULE).
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSource } from '../load-source.mjs';
import { peakMemory } from '../lib/peak.mjs';
import { HOST, MAX_MESSAGE } from './index.mjs';

const TOPIC = 'fan';

let loaded;
async function sockline(revision) {
  if (revision !== undefined) return baseline(revision);
  loaded ??= (async () => {
    let file = process.env.SOCKLINE_BENCH_MODULE;
    if (!file) {
      const own = fileURLToPath(
        new URL(`../../node_modules/.cache/sockline-bench/sockline-node-${process.pid}.mjs`, import.meta.url),
      );
      await buildSource('src/node/index.ts', own);
      process.once('exit', () => rmSync(own, { force: true }));
      file = own;
    }
    return import(pathToFileURL(file).href);
  })();
  return loaded;
}

let loadedBaseline;
async function baseline(revision) {
  const file = process.env.SOCKLINE_BENCH_BASELINE_MODULE;
  if (!file)
    throw new Error(`sockline at ${revision}: run it through npm run bench -- --baseline ${revision}`);
  loadedBaseline ??= import(pathToFileURL(file).href);
  return loadedBaseline;
}

export async function startServer({ port = 0, variant, revision, mode }) {
  const { createServer } = await sockline(revision);
  const sink = mode === 'sink' || mode === 'sink-slow';
  const server = createServer({
    [variant]: { host: HOST, port },
    // Every client of the benches comes from 127.0.0.1: the per-address default (1,000) and
    // the total (10,000) are meant for the internet, not for one loopback load generator.
    maxConnections: 1_000_000,
    maxConnectionsPerIp: 1_000_000,
    // Room for the 1 MiB bulk payload plus its frame header (the default is exactly 1 MiB). The
    // transfer bench keeps the defaults: its messages go as streams of frames.
    ...(sink ? {} : { maxFrameSize: MAX_MESSAGE }),
  });
  server.on('error', () => {});
  if (sink) serveSink(server, mode === 'sink-slow');
  else server.on('connection', (peer) => peer.on('message', (value) => peer.send(value)));
  const addresses = await server.listen();
  return {
    port: Number(new URL(addresses[variant]).port),
    connections: () => server.peers.size,
    close: () => server.close(),
  };
}

/** The rate of a slow reader (the slow-reader bench), in bytes per ms: 80 MB/s. */
const SLOW_RATE = 80_000;

/**
 * The receiving end of the transfer bench: every message is answered 'k' once read, except
 * 'peak', answered with this process's peak memory since the last one; a stream is read to its
 * end (`slow`: at 80 MB/s, far slower than its writer), then answered 'k'.
 */
function serveSink(server, slow) {
  const peak = peakMemory();
  server.on('connection', (peer) =>
    peer.on('message', (value) => {
      if (value !== 'peak') return peer.send('k');
      peer.send(JSON.stringify(peak.read()));
      peak.reset();
    }),
  );
  server.on('stream', async (stream, peer) => {
    const reader = stream.readable.getReader();
    const t0 = performance.now();
    let read = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
      const ahead = read / SLOW_RATE - (performance.now() - t0);
      if (slow && ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead));
    }
    peer.send('k');
  });
}

export async function connectClient({
  port,
  variant,
  revision,
  mode,
  onMessage = () => {},
  onOpen = () => {},
}) {
  const { connect, streams } = await sockline(revision);
  const sink = mode === 'sink' || mode === 'sink-slow';
  const client = connect(
    `${variant}://${HOST}:${port}${variant === 'ws' ? '/' : ''}`,
    sink ? { streams } : { maxFrameSize: MAX_MESSAGE },
  );
  client.on('error', () => {});
  client.on('open', () => onOpen());
  if (mode !== 'fanout') client.on('message', (value) => onMessage(value));
  let subscribed = false;
  const api = {
    send: (bytes) => client.send(bytes),
    subscribe: async () => {
      if (!subscribed) client.subscribe(TOPIC, (value) => onMessage(value));
      subscribed = true;
    },
    publish: (bytes) => client.publish(TOPIC, bytes),
    openStream: (meta) => client.openStream(meta),
    close: () => client.close(),
    client,
  };
  await client.opened;
  return api;
}
