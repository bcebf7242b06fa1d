// What WebSocket peers that never send a HELLO cost a server: N peers each upgrade, announce
// a 1 MiB first message and send it in 64 KiB pieces (the HELLO cap is 16 KiB). Reports the
// server process's RSS growth (after a full GC) and how many of those connections are still
// open. Not a test: it measures and reports, it never asserts.
//
//   node bench/ws-prehello.mjs               500 peers
//   node bench/ws-prehello.mjs --peers 200
//
// The server runs in a child process (src/node compiled with esbuild, --expose-gc), with
// handshakeTimeout 30 s and maxPendingHandshakesPerIp raised to N (all peers share 127.0.0.1),
// so only the HELLO cap can be what ends the connections.
import { fork } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { buildSource } from './load-source.mjs';
import { announce, upgradedSockets } from './lib/hostile.mjs';

const argv = process.argv.slice(2);
const option = (name) => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
};
const PEERS = Number(option('--peers') ?? 500);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = new URL(`../node_modules/.cache/sockline-bench/`, import.meta.url).pathname;
const nodeFile = `${dir}prehello-node-${process.pid}.mjs`;
const serverFile = `${dir}prehello-server-${process.pid}.mjs`;
await buildSource('src/node/index.ts', nodeFile);
await writeFile(
  serverFile,
  `import { createServer } from ${JSON.stringify(nodeFile)};
const server = createServer({ ws: {}, handshakeTimeout: 30_000, maxPendingHandshakesPerIp: ${PEERS} });
const { ws } = await server.listen();
const rss = () => { globalThis.gc(); return process.memoryUsage().rss; };
process.send({ ws, rss: rss() });
process.on('message', () => process.send({ rss: rss(), open: server.metrics().connections.ws }));
`,
);
const child = fork(serverFile, [], { execArgv: ['--expose-gc'] });
const ask = () =>
  new Promise((resolve) => {
    child.once('message', resolve);
    child.send('measure');
  });
const { ws, rss: before } = await new Promise((resolve) => child.once('message', resolve));
const { port } = new URL(ws);

const sockets = await upgradedSockets(port, PEERS);
for (const s of sockets) s.write(announce(1 << 20));
const piece = Buffer.alloc(64 << 10);
for (let i = 0; i < 16; i++) {
  for (const s of sockets) if (!s.destroyed) s.write(piece);
  await sleep(50);
}
await sleep(1_000);
const after = await ask();
const mb = (b) => (b / 1e6).toFixed(0);
console.log(
  `${PEERS} WebSocket peers announcing 1 MiB before their HELLO: server RSS ${mb(before)} MB -> ` +
    `${mb(after.rss)} MB (+${mb(after.rss - before)} MB), ${after.open} of them still open`,
);
for (const s of sockets) s.destroy();
child.kill();
await rm(nodeFile, { force: true });
await rm(serverFile, { force: true });
