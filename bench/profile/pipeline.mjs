// Echo throughput, round-trip time and bulk echo of one connection, server and client in
// separate processes pinned to separate CPUs. A profiling aid, not a test (STYLE habit 14):
// it prints numbers, it asserts nothing.
//
//   node bench/profile/pipeline.mjs                      every kind, pipelined, 64-byte messages
//   node bench/profile/pipeline.mjs --kinds net,sockline-tcp --outstanding 1   (rtt)
//   node bench/profile/pipeline.mjs --size 1048000 --outstanding 1             (bulk; sockline
//        refuses a payload over maxFrameSize - 18 bytes with ERR_FRAME_TOO_LARGE)
//   node bench/profile/pipeline.mjs --kinds sockline-ws --prof client          (--cpu-prof;
//        then: node bench/profile/summarize.mjs /tmp/sockline-prof/*.cpuprofile)
//
// Kinds: net (node:net, hand-written u32 length prefix, the frames of one tick in one write), ws (the `ws` package, one binary
// message per message), sockline-tcp and sockline-ws (protocol mode: createServer echoing with
// peer.send, connect() sending Uint8Arrays). Each run: `--outstanding` messages in flight, a
// new one sent for every echo; 1 s of warm-up, then `--seconds` measured. The src/ tree is
// compiled with esbuild (bench/profile/load-node.mjs), so no build is needed.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const KINDS = opt('kinds', 'net,ws,sockline-tcp,sockline-ws').split(',');
const OUTSTANDING = Number(opt('outstanding', 100));
const SIZE = Number(opt('size', 64));
const SECONDS = Number(opt('seconds', 3));
const PROF = opt('prof', ''); // '', 'client', 'server' or 'both'
const PROF_DIR = opt('prof-dir', '/tmp/sockline-prof');
const hasTaskset = spawnSync('taskset', ['-V']).status === 0;

// --- roles --------------------------------------------------------------------------------------

async function serve(kind) {
  let url;
  if (kind === 'net') {
    const net = await import('node:net');
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      let pending = null;
      socket.on('data', (chunk) => {
        let buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
        let at = 0;
        while (buf.length - at >= 4) {
          const n = buf.readUInt32BE(at);
          if (buf.length - at - 4 < n) break;
          at += 4 + n;
        }
        // Every complete frame of the chunk echoed in one write.
        if (at > 0) socket.write(buf.subarray(0, at));
        pending = at === buf.length ? null : buf.subarray(at);
      });
      socket.on('error', () => {});
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    url = `127.0.0.1:${server.address().port}`;
  } else if (kind === 'ws') {
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await once(wss, 'listening');
    wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    url = `ws://127.0.0.1:${wss.address().port}`;
  } else {
    const { loadNodeSource } = await import('./load-node.mjs');
    const { createServer } = await loadNodeSource();
    const server = createServer(kind === 'sockline-tcp' ? { tcp: { port: 0 } } : { ws: { port: 0 } });
    server.on('connection', (peer) => peer.on('message', (m) => peer.send(m)));
    const addresses = await server.listen();
    url = kind === 'sockline-tcp' ? addresses.tcp : addresses.ws;
  }
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}

async function client(kind, url) {
  const payload = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) payload[i] = i & 0xff;
  let received = 0;
  let send;
  const samples = [];
  const stamps = [];
  let opened;
  // The echo handler: count, sample the rtt of every 64th message, send a new one.
  const echo = () => {
    received++;
    if (OUTSTANDING === 1) {
      const t = stamps.shift();
      if (t !== undefined) samples.push(Number(process.hrtime.bigint() - t) / 1e3);
      stamps.push(process.hrtime.bigint());
    }
    send();
  };
  if (kind === 'net') {
    const net = await import('node:net');
    const socket = net.connect(Number(url.split(':')[1]), '127.0.0.1');
    socket.setNoDelay(true);
    await once(socket, 'connect');
    // One write per tick: the frames of a tick go out as one buffer (a hand-written cork).
    const frames = Buffer.alloc((4 + SIZE) * OUTSTANDING);
    for (let i = 0; i < OUTSTANDING; i++) {
      frames.writeUInt32BE(SIZE, i * (4 + SIZE));
      frames.set(payload, i * (4 + SIZE) + 4);
    }
    let queued = 0;
    const flush = () => {
      socket.write(frames.subarray(0, queued * (4 + SIZE)));
      queued = 0;
    };
    send = () => {
      if (queued++ === 0) queueMicrotask(flush);
    };
    let pending = null;
    socket.on('data', (chunk) => {
      let buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (buf.length - at >= 4) {
        const n = buf.readUInt32BE(at);
        if (buf.length - at - 4 < n) break;
        at += 4 + n;
        echo();
      }
      pending = at === buf.length ? null : buf.subarray(at);
    });
    opened = Promise.resolve();
  } else if (kind === 'ws') {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await once(ws, 'open');
    send = () => ws.send(payload);
    ws.on('message', () => echo());
    opened = Promise.resolve();
  } else {
    const { loadNodeSource } = await import('./load-node.mjs');
    const { connect } = await loadNodeSource();
    const c = connect(url);
    send = () => c.send(payload);
    c.on('message', () => echo());
    c.on('error', (e) => console.error('client error', e));
    opened = c.opened;
  }
  await opened;
  for (let i = 0; i < OUTSTANDING; i++) {
    if (OUTSTANDING === 1) stamps.push(process.hrtime.bigint());
    send();
  }
  await new Promise((r) => setTimeout(r, 1000));
  const start = process.hrtime.bigint();
  const from = received;
  samples.length = 0;
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const count = received - from;
  samples.sort((a, b) => a - b);
  const p = (q) => (samples.length === 0 ? undefined : samples[Math.floor(samples.length * q)]);
  process.stdout.write(
    `${JSON.stringify({ rate: count / seconds, mbps: (count * SIZE) / seconds / 2 ** 20, p50: p(0.5), p99: p(0.99) })}\n`,
  );
  process.exit(0);
}

// --- driver -------------------------------------------------------------------------------------

function child(role, kind, cpu, extra = []) {
  const profile = PROF === role || PROF === 'both' ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : [];
  const argv = [...profile, SELF, `--${role}`, kind, ...extra, ...args];
  const cmd = hasTaskset ? 'taskset' : process.execPath;
  const full = hasTaskset ? ['-c', String(cpu), process.execPath, ...argv] : argv;
  return spawn(cmd, full, { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function firstLine(proc) {
  let text = '';
  for await (const chunk of proc.stdout) {
    text += chunk;
    const nl = text.indexOf('\n');
    if (nl !== -1) return JSON.parse(text.slice(0, nl));
  }
  throw new Error('child ended without output');
}

async function run(kind) {
  const server = child('server', kind, 1);
  const { url } = await firstLine(server);
  const client = child('client', kind, 0, ['--url', url]);
  const result = await firstLine(client);
  server.kill('SIGTERM');
  await once(server, 'exit');
  return result;
}

if (args.includes('--server')) {
  await serve(args[args.indexOf('--server') + 1]);
} else if (args.includes('--client')) {
  await client(args[args.indexOf('--client') + 1], opt('url'));
} else {
  console.log(
    `echo, ${OUTSTANDING} outstanding, ${SIZE}-byte messages, ${SECONDS} s; node ${process.version}` +
      (hasTaskset ? ', client on cpu 0, server on cpu 1' : ''),
  );
  const results = {};
  for (const kind of KINDS) {
    const r = await run(kind);
    results[kind] = r;
    const rtt = r.p50 === undefined ? '' : `  rtt p50 ${r.p50.toFixed(1)} us p99 ${r.p99.toFixed(1)} us`;
    const base = kind.startsWith('sockline') ? results[kind === 'sockline-tcp' ? 'net' : 'ws'] : undefined;
    const ratio = base ? `  (${(r.rate / base.rate).toFixed(2)}x raw)` : '';
    console.log(
      `${kind.padEnd(14)} ${Math.round(r.rate).toLocaleString('en').padStart(10)} msg/s ${r.mbps.toFixed(1).padStart(8)} MiB/s${ratio}${rtt}`,
    );
  }
}
