// CPU time per echoed message, server and client in one process over loopback TCP or WebSocket:
// the total cost of a round trip on one thread, so it does not depend on how busy the other
// core is. A profiling aid, not a test (STYLE habit 14): it prints numbers, it asserts nothing.
//
//   node bench/profile/cpu.mjs                                   every kind, 5 runs of 200,000 echoes
//   node bench/profile/cpu.mjs --kinds raw-net,sockline-tcp --runs 9 --count 400000
//
// Kinds: raw-net and raw-ws (bench/systems/raw-net.mjs and raw-ws.mjs), sockline-tcp and
// sockline-ws (bench/systems/sockline.mjs, protocol mode). Each run keeps 100 messages of 64
// bytes outstanding; it reports the process's CPU time (user + system) per echo, and echoes
// per CPU second. Kinds take turns within a run; the table gives the median and the spread.
import { performance } from 'node:perf_hooks';
import { loadSystem } from '../systems/index.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const KINDS = opt('kinds', 'raw-net,sockline-tcp,raw-ws,sockline-ws').split(',');
const RUNS = Number(opt('runs', 5));
const COUNT = Number(opt('count', 200_000));
const OUTSTANDING = 100;
const WARMUP = 20_000;

async function runOnce(kind) {
  const system = await loadSystem(kind);
  const server = await system.startServer({ port: 0, mode: 'echo' });
  const message = new Uint8Array(64).fill(7);
  let received = 0;
  let limit = 0;
  let sent = 0;
  let done;
  const client = await system.connectClient({
    port: server.port,
    mode: 'echo',
    onMessage() {
      received++;
      if (sent < limit) {
        sent++;
        client.send(message);
      } else if (received === limit) done();
    },
  });
  const round = async (n) => {
    limit = sent + n;
    const finished = new Promise((resolve) => (done = resolve));
    for (let i = 0; i < OUTSTANDING && sent < limit; i++) {
      sent++;
      client.send(message);
    }
    await finished;
  };
  await round(WARMUP);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await round(COUNT);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await client.close();
  await server.close();
  return { cpuNs: ((cpu.user + cpu.system) * 1e3) / COUNT, wallNs: (wall * 1e6) / COUNT };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const results = Object.fromEntries(KINDS.map((k) => [k, []]));
for (let run = 0; run < RUNS; run++) for (const kind of KINDS) results[kind].push(await runOnce(kind));
console.log(
  `echo, ${OUTSTANDING} outstanding, 64 B, ${COUNT} counted, ${RUNS} runs, node ${process.version}`,
);
console.log('| kind | CPU ns/echo (median) | spread | wall ns/echo | echoes per CPU second |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const kind of KINDS) {
  const cpu = results[kind].map((r) => r.cpuNs);
  const wall = results[kind].map((r) => r.wallNs);
  console.log(
    `| ${kind} | ${median(cpu).toFixed(0)} | ${Math.min(...cpu).toFixed(0)}–${Math.max(...cpu).toFixed(0)} | ` +
      `${median(wall).toFixed(0)} | ${Math.round(1e9 / median(cpu)).toLocaleString('en')} |`,
  );
}
process.exit(0);
