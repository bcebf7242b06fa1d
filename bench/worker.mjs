// One process of a bench: `node bench/worker.mjs server|client`, driven by bench/run.mjs over
// IPC. Every command gets exactly one reply; `{ error }` when it failed.
//
//   server: { cmd: 'serve', system, port, mode } -> { port }
//           { cmd: 'measure' }                   -> memory after a full GC, connection count
//   client: { cmd: 'run', case, phase, system, params } -> what the case's client phase returns
//   both:   { cmd: 'exit' }
import { loadSystem } from './systems/index.mjs';

const role = process.argv[2];
const reply = (message) => process.send?.(message);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function fullGc() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await sleep(100);
  globalThis.gc?.();
}

let server;
/** State a case's client phases share (the reconnect storm opens, then collects). */
const state = {};

const commands = {
  async serve(m) {
    const system = await loadSystem(m.system);
    server = await system.startServer({ port: m.port ?? 0, mode: m.mode ?? 'echo' });
    return { port: server.port };
  },
  async measure() {
    await fullGc();
    const u = process.memoryUsage();
    return {
      rss: u.rss,
      heapUsed: u.heapUsed,
      external: u.external,
      arrayBuffers: u.arrayBuffers,
      connections: server?.connections() ?? 0,
    };
  },
  async run(m) {
    const bench = await import(`./cases/${m.case}.mjs`);
    const phase = bench.client?.[m.phase ?? 'main'];
    if (typeof phase !== 'function') throw new Error(`case ${m.case} has no client phase ${m.phase}`);
    const system = await loadSystem(m.system);
    return phase({ system, state, params: m.params });
  },
  async exit() {
    await Promise.race([Promise.all([server?.close(), state.cleanup?.()]), sleep(2_000)]);
    reply({ exiting: true });
    process.disconnect?.();
    // Libraries with timers of their own may keep the loop alive: the process is done anyway.
    setTimeout(() => process.exit(0), 200).unref();
  },
};

process.on('message', async (m) => {
  try {
    const handler = commands[m?.cmd];
    if (handler === undefined) throw new Error(`unknown command ${JSON.stringify(m)}`);
    const result = await handler(m);
    if (m.cmd !== 'exit') reply(result ?? {});
  } catch (err) {
    reply({ error: String(err?.stack ?? err) });
  }
});
// The parent is gone (killed, crashed): nothing to serve any more.
process.on('disconnect', () => setTimeout(() => process.exit(0), 500).unref());
if (role !== 'server' && role !== 'client') throw new Error('usage: node bench/worker.mjs server|client');
reply({ ready: true, role });
