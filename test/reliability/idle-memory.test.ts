import { describe, expect, it } from 'vitest';
import { runChild } from '../support/child.js';

/**
 * What the server keeps per idle connection, as a budget that fails when it grows. The server
 * runs in a fresh Node process with `--expose-gc`; the clients (sockline clients in protocol
 * mode) in another one it forks, so that only the server's objects are counted. JS heap after
 * full collections, not RSS: the heap holds exactly the objects each connection keeps, while
 * RSS also moves with V8's young-generation sizing and the allocator (bench/cases/idle-memory.mjs
 * measures it, against raw sockets).
 *
 * The bounds are the heap measured per connection on Node 20 (TCP 2,030–2,300 B: its socket,
 * about 1 KB, then the wire, the connection, the session and its endpoint; WebSocket
 * 4,130–4,500 B, `ws`'s own objects included) with a margin of about 7–8% above the highest
 * for V8's hash-table steps and feedback: one more object of a couple of hundred bytes per
 * connection fails here.
 */

const N = 400;
const TCP_BOUND = 2_500;
const WS_BOUND = 4_800;

describe('idle connections', () => {
  it(`keep at most ${TCP_BOUND} B (TCP) and ${WS_BOUND} B (WebSocket) of server heap each`, async () => {
    const { result } = await runChild(
      `
      import { fork } from 'node:child_process';
      import { createServer, connect } from './src/node/index.ts';

      if (process.argv[2] === '--clients') {
        // The client process: opens and closes what it is told to.
        const open = [];
        process.on('message', async ({ cmd, url, count }) => {
          if (cmd === 'open') {
            const batch = [];
            for (let i = 0; i < count; i++) {
              const c = connect(url, { reconnect: false });
              c.on('error', () => {});
              batch.push(c);
            }
            await Promise.all(batch.map((c) => c.opened));
            open.push(...batch);
            process.send({ opened: batch.length });
          } else if (cmd === 'close') {
            await Promise.allSettled(open.splice(0).map((c) => c.close()));
            process.send({ closed: true });
          } else {
            process.disconnect();
          }
        });
      } else {
        const N = ${N};
        const settle = () => new Promise((r) => setImmediate(r));
        async function heap() {
          for (let i = 0; i < 4; i++) { globalThis.gc(); await settle(); }
          await new Promise((r) => setTimeout(r, 50));
          globalThis.gc();
          return process.memoryUsage().heapUsed;
        }
        const server = createServer({
          tcp: {}, ws: {},
          // One address, one burst of handshakes: nothing is turned away or told to wait.
          admission: false,
          maxConnectionsPerIp: Infinity,
          maxPendingHandshakesPerIp: Infinity,
        });
        server.on('error', () => {});
        const a = await server.listen();
        const clients = fork(process.argv[1], ['--clients'], { stdio: 'inherit' });
        const ask = (m) => new Promise((r) => { clients.once('message', r); clients.send(m); });
        const emptied = async () => { while (server.peers.size > 0) await new Promise((r) => setTimeout(r, 10)); };
        const out = {};
        for (const [name, url] of [['tcp', a.tcp], ['ws', a.ws]]) {
          // A warm-up: code compiled and one-off tables made before the first measure.
          await ask({ cmd: 'open', url, count: 40 });
          await ask({ cmd: 'close' });
          await emptied();
          const before = await heap();
          await ask({ cmd: 'open', url, count: N });
          const peers = server.peers.size;
          const after = await heap();
          out[name] = { perConnection: (after - before) / N, peers };
          await ask({ cmd: 'close' });
          await emptied();
        }
        clients.send({ cmd: 'exit' });
        await server.close();
        console.log(JSON.stringify(out));
      }
      `,
      { flags: ['--expose-gc'], timeout: 60_000 },
    );
    const r = result as Record<'tcp' | 'ws', { perConnection: number; peers: number }>;
    expect(r.tcp.peers).toBe(N);
    expect(r.ws.peers).toBe(N);
    expect(r.tcp.perConnection).toBeLessThanOrEqual(TCP_BOUND);
    expect(r.ws.perConnection).toBeLessThanOrEqual(WS_BOUND);
  });
});
