// sockline in protocol mode (the default: handshake, sequence numbers and acks), over tcp://,
// ws:// or udp://, through the public API: `createServer` and `connect` of src/node/index.ts.
// Echo is the README's way: the server's `connection` handler echoes each message with
// `peer.send`. Fan-out uses the server's topics: subscribers `subscribe`, the publisher
// `publish`. The client keeps its default reconnect (backoff with full jitter).
//
// The module is the current source compiled by bench/run.mjs (SOCKLINE_BENCH_MODULE), or
// compiled here when this file is used on its own.
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSource } from '../load-source.mjs';
import { HOST, MAX_MESSAGE } from './index.mjs';

const TOPIC = 'fan';

let loaded;
async function sockline() {
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

export async function startServer({ port = 0, variant }) {
  const { createServer } = await sockline();
  const server = createServer({
    [variant]: { host: HOST, port },
    // Every client of the benches comes from 127.0.0.1: the per-address default (1,000) and
    // the total (10,000) are meant for the internet, not for one loopback load generator.
    maxConnections: 1_000_000,
    maxConnectionsPerIp: 1_000_000,
    // Room for the 1 MiB bulk payload plus its frame header (the default is exactly 1 MiB).
    maxFrameSize: MAX_MESSAGE,
  });
  server.on('error', () => {});
  server.on('connection', (peer) => peer.on('message', (value) => peer.send(value)));
  const addresses = await server.listen();
  return {
    port: Number(new URL(addresses[variant]).port),
    connections: () => server.peers.size,
    close: () => server.close(),
  };
}

export async function connectClient({ port, variant, mode, onMessage = () => {}, onOpen = () => {} }) {
  const { connect } = await sockline();
  const client = connect(`${variant}://${HOST}:${port}${variant === 'ws' ? '/' : ''}`, {
    maxFrameSize: MAX_MESSAGE,
  });
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
    close: () => client.close(),
    client,
  };
  await client.opened;
  return api;
}
