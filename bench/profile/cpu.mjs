// CPU time per message, server and clients in one process over loopback: the total cost of a
// message on one thread, so it does not depend on how busy the other core is. A profiling aid,
// not a test (STYLE habit 14): it prints numbers, it asserts nothing.
//
//   node bench/profile/cpu.mjs                                   every kind, 5 runs of 200,000 echoes
//   node bench/profile/cpu.mjs --kinds raw-net,sockline-tcp --runs 9 --count 400000
//   node bench/profile/cpu.mjs --case fanout --kinds raw-net,sockline-tcp,sockline-udp
//
// Kinds: the systems of bench/systems (raw-net, raw-ws, sockline-tcp, sockline-ws,
// sockline-udp…; sockline in protocol mode). Cases: `echo` keeps 100 messages of 64 bytes
// outstanding and counts echoes; `fanout` publishes 64 bytes to 200 subscribers, one publish
// at a time, and counts deliveries. It reports the process's CPU time (user + system) per echo
// or delivery. Kinds take turns within a run; the table gives the median and the spread.
import { performance } from 'node:perf_hooks';
import { loadSystem } from '../systems/index.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const KINDS = opt('kinds', 'raw-net,sockline-tcp,raw-ws,sockline-ws').split(',');
const RUNS = Number(opt('runs', 5));
const CASE = opt('case', 'echo');
const COUNT = Number(opt('count', CASE === 'fanout' ? 100_000 : 200_000));
const OUTSTANDING = 100;
const WARMUP = 20_000;
const SUBSCRIBERS = 200;

/** `count` deliveries of 64-byte publishes to SUBSCRIBERS subscribers, after a warm-up. */
async function runFanout(kind) {
  const system = await loadSystem(kind);
  const server = await system.startServer({ port: 0, mode: 'fanout' });
  let got = 0;
  let target = 0;
  let done;
  const onMessage = () => {
    if (++got === target) done();
  };
  const subscribers = [];
  for (let i = 0; i < SUBSCRIBERS; i++)
    subscribers.push(await system.connectClient({ port: server.port, mode: 'fanout', onMessage }));
  const publisher = await system.connectClient({ port: server.port, mode: 'fanout' });
  await Promise.all(subscribers.map((c) => c.subscribe()));
  const message = new Uint8Array(64).fill(7);
  const rounds = async (n) => {
    for (let r = 0; r < n; r++) {
      target = got + SUBSCRIBERS;
      const reached = new Promise((resolve) => (done = resolve));
      publisher.publish(message);
      await reached;
    }
  };
  // Warm-up, and until every subscription is in place (the first rounds may miss some).
  for (let r = 0; r < 20; r++) {
    target = got + SUBSCRIBERS;
    const reached = new Promise((resolve) => (done = resolve));
    publisher.publish(message);
    await Promise.race([reached, new Promise((resolve) => setTimeout(resolve, 200))]);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  got = 0;
  const n = Math.ceil(COUNT / SUBSCRIBERS);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await rounds(n);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all([...subscribers, publisher].map((c) => c.close()));
  await server.close();
  const deliveries = n * SUBSCRIBERS;
  return { cpuNs: ((cpu.user + cpu.system) * 1e3) / deliveries, wallNs: (wall * 1e6) / deliveries };
}

async function runOnce(kind) {
  if (CASE === 'fanout') return runFanout(kind);
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
const what = CASE === 'fanout' ? 'delivery' : 'echo';
console.log(
  CASE === 'fanout'
    ? `fan-out to ${SUBSCRIBERS} subscribers, 64 B, ${COUNT} deliveries counted, ${RUNS} runs, node ${process.version}`
    : `echo, ${OUTSTANDING} outstanding, 64 B, ${COUNT} counted, ${RUNS} runs, node ${process.version}`,
);
console.log(`| kind | CPU ns/${what} (median) | spread | wall ns/${what} | per CPU second |`);
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
