// Frame codec throughput of the session protocol (src/core/protocol). Not a test: nothing
// here gates a build on wall-clock time (STYLE habit 14).
//
//   node bench/protocol.mjs            bundles src/core/protocol/frames.ts with esbuild first
//   node bench/protocol.mjs --runs 9   more measured runs (the median is reported)
//
// Workloads: encode + decode of a sequenced DATA frame with a 64-byte payload (the hot
// path of every message), the same for a PUBLISH with a topic, and, for scale, the same
// message as a JSON text envelope with a base64 payload (what a text protocol pays), and
// the cost of the result allocation alone.
import { loadSource } from './load-source.mjs';

const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const RUNS = runsArg === -1 ? 7 : Math.max(5, Number(args[runsArg + 1]));
const WARMUP = 3;
const OPS = 1_000_000;

async function loadProtocol() {
  return loadSource('src/core/protocol/frames.ts');
}

const { encodeFrame, decodeFrame } = await loadProtocol();

const payload = new Uint8Array(64);
for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;

// Module-level sink so the JIT cannot drop the work.
let checksum = 0;

function sockline(type) {
  return () => {
    for (let i = 1; i <= OPS; i++) {
      const frame =
        type === 'data'
          ? { type: 'data', seq: i, ack: i >> 1, kind: 'binary', payload }
          : { type: 'publish', seq: i, topic: 'chat/lobby', kind: 'binary', payload };
      const decoded = decodeFrame(encodeFrame(frame));
      checksum += decoded.seq + decoded.payload.length;
    }
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
function jsonEnvelope() {
  const b64 = Buffer.from(payload).toString('base64');
  for (let i = 1; i <= OPS; i++) {
    // The payload is already base64 here: this flatters JSON (no per-message base64 of bytes).
    const bytes = encoder.encode(JSON.stringify({ t: 'data', seq: i, ack: i >> 1, p: b64 }));
    const decoded = JSON.parse(decoder.decode(bytes));
    checksum += decoded.seq + decoded.p.length;
  }
}

/** The floor: allocating the 67-byte result alone (over 64 bytes V8 allocates off-heap). */
function allocationOnly() {
  for (let i = 1; i <= OPS; i++) checksum += new Uint8Array(67).length;
}

function measure(run) {
  for (let i = 0; i < WARMUP; i++) run();
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1] };
}

const rows = [
  ['DATA, seq + ack, 64-byte payload', measure(sockline('data'))],
  ['PUBLISH, seq, topic, 64-byte payload', measure(sockline('publish'))],
  ['JSON envelope, base64 payload (baseline)', measure(jsonEnvelope)],
  ['new Uint8Array(67) alone (allocation floor)', measure(allocationOnly)],
];
const baseline = rows[2][1].ms;

const pad = (s, n) => String(s).padEnd(n);
const padL = (s, n) => String(s).padStart(n);
console.log(
  `\nprotocol frame codec — node ${process.version}, src bundled by esbuild, ` +
    `${OPS.toLocaleString('en')} encode+decode per run, median of ${RUNS} runs after ${WARMUP} warm-ups\n`,
);
console.log(
  `${pad('workload', 44)} ${padL('M ops/s', 9)} ${padL('ns/op', 7)} ${padL('min-max ms', 14)} ${padL('vs JSON', 8)}`,
);
for (const [name, m] of rows) {
  console.log(
    `${pad(name, 44)} ${padL((OPS / m.ms / 1e3).toFixed(2), 9)} ${padL(((m.ms * 1e6) / OPS).toFixed(0), 7)} ` +
      `${padL(`${m.min.toFixed(0)}-${m.max.toFixed(0)}`, 14)} ${padL(`${(baseline / m.ms).toFixed(1)}x`, 8)}`,
  );
}
console.log(
  '\nMost of an encode is the allocation of its exact-size result: compare the last row. A pooled\n' +
    'slab (like Buffer.allocUnsafe) would be cheaper, at the cost of views that pin the slab.',
);
if (checksum === 0) console.log('(checksum 0)');
