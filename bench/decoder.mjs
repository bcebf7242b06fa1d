// Decoder throughput of the framing layer (src/core/framing). Not a test: nothing here
// gates a build on wall-clock time (STYLE habit 14).
//
//   node bench/decoder.mjs            bundles src/core/framing/index.ts with esbuild first
//   node bench/decoder.mjs --dist     imports the built ../dist/core.js instead
//   node bench/decoder.mjs --runs 9   more measured runs (the median is reported)
//
// Targets from the benchmark issue: >= 1 GB/s for 1 MiB frames, >= 5 million 64-byte
// frames per second.
import { loadSource } from './load-source.mjs';

const args = process.argv.slice(2);
const useDist = args.includes('--dist');
const runsArg = args.indexOf('--runs');
const RUNS = runsArg === -1 ? 7 : Math.max(5, Number(args[runsArg + 1]));
const WARMUP = 3;
const KiB = 1024;
const MiB = 1024 * KiB;
/** What a Node socket typically hands over per 'data' event. */
const SOCKET_CHUNK = 64 * KiB;

async function loadFraming() {
  if (useDist) return import(new URL('../dist/core.js', import.meta.url).href);
  return loadSource('src/core/framing/index.ts');
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Cuts a wire image into socket-sized chunks, as views (no copy, like a socket's reads). */
function chunked(wire, size) {
  const chunks = [];
  for (let at = 0; at < wire.length; at += size) chunks.push(wire.subarray(at, at + size));
  return chunks;
}

function payload(size, seed) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** A line payload with no '\n' and no trailing '\r'. */
function linePayload(size, seed) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = 0x20 + ((i * 7 + seed) % 90);
  return bytes;
}

// Module-level counters, so the sink is one function allocated once and the JIT cannot
// drop the work.
let frameCount = 0;
let byteCount = 0;
function sink(frame) {
  frameCount++;
  byteCount += frame.length;
}

/** Runs `chunks` through a fresh decoder, checks what came out, and returns elapsed ms. */
function runOnce(framing, chunks, [expectFrames, expectBytes]) {
  const decoder = framing.createDecoder(sink);
  frameCount = 0;
  byteCount = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < chunks.length; i++) decoder.push(chunks[i]);
  decoder.end();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (frameCount !== expectFrames || byteCount !== expectBytes) {
    throw new Error(
      `decoded ${frameCount} frames of ${byteCount} bytes, expected ${expectFrames} of ${expectBytes}`,
    );
  }
  return ms;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(framing, chunks, expected) {
  for (let i = 0; i < WARMUP; i++) runOnce(framing, chunks, expected);
  const times = [];
  for (let i = 0; i < RUNS; i++) times.push(runOnce(framing, chunks, expected));
  return { ms: median(times), min: Math.min(...times), max: Math.max(...times) };
}

const mod = await loadFraming();
if (typeof mod.lengthFraming !== 'function' || typeof mod.linesFraming !== 'function') {
  throw new Error('dist/core.js does not export lengthFraming/linesFraming yet: run without --dist');
}
const length = mod.lengthFraming({ maxFrameSize: 2 * MiB });
const lines = mod.linesFraming();

const rows = [];

function gbPerSecond(name, framing, chunks, frames, payloadBytes) {
  const m = measure(framing, chunks, [frames, payloadBytes]);
  const rate = payloadBytes / (m.ms / 1e3) / 1e9;
  rows.push({ name, m, value: rate, unit: 'GB/s', target: 1 });
}

function framesPerSecond(name, framing, chunks, frames, payloadBytes, target) {
  const m = measure(framing, chunks, [frames, payloadBytes]);
  rows.push({ name, m, value: frames / (m.ms / 1e3) / 1e6, unit: 'M frames/s', target });
}

{
  // (1) 1 MiB frames: 64 MiB of payload per run.
  const count = 64;
  const frames = Array.from({ length: count }, (_, i) => length.encode(payload(MiB, i)));
  const wire = concat(frames);
  gbPerSecond('length, 1 MiB frames, 64 KiB chunks', length, chunked(wire, SOCKET_CHUNK), count, count * MiB);
  // Each frame arrives whole: delivered as a view, so this measures the per-frame overhead
  // (the bytes are never touched), not memory bandwidth.
  gbPerSecond('length, 1 MiB frames, one chunk per frame*', length, frames, count, count * MiB);
}
{
  // (2) 64-byte frames packed into 64 KiB chunks: 16 MiB of wire per run.
  const one = (i) => length.encode(payload(64, i));
  const count = Math.floor((16 * MiB) / 68);
  const wire = concat(Array.from({ length: count }, (_, i) => one(i)));
  framesPerSecond(
    'length, 64-byte frames, 64 KiB chunks',
    length,
    chunked(wire, SOCKET_CHUNK),
    count,
    count * 64,
    5,
  );
}
{
  // (3) 64-byte lines (+ '\n') packed into 64 KiB chunks.
  const count = Math.floor((16 * MiB) / 65);
  const wire = concat(Array.from({ length: count }, (_, i) => lines.encode(linePayload(64, i))));
  // The issue sets no target for lines; 5 M/s is shown for comparison with length frames.
  framesPerSecond(
    'lines, 64-byte lines, 64 KiB chunks',
    lines,
    chunked(wire, SOCKET_CHUNK),
    count,
    count * 64,
    5,
  );
}

const pad = (s, n) => String(s).padEnd(n);
const padL = (s, n) => String(s).padStart(n);
console.log(
  `\nframing decoder — node ${process.version}, ${useDist ? 'dist/core.js' : 'src bundled by esbuild'}, ` +
    `median of ${RUNS} runs after ${WARMUP} warm-ups\n`,
);
console.log(
  `${pad('workload', 44)} ${padL('median', 10)} ${pad('', 11)} ${padL('ms/run', 8)} ${padL('min-max ms', 14)} ` +
    `${padL('target', 7)} ${padL('ratio', 7)}`,
);
for (const r of rows) {
  console.log(
    `${pad(r.name, 44)} ${padL(r.value.toFixed(2), 10)} ${pad(r.unit, 11)} ${padL(r.m.ms.toFixed(2), 8)} ` +
      `${padL(`${r.m.min.toFixed(1)}-${r.m.max.toFixed(1)}`, 14)} ${padL(`>= ${r.target}`, 7)} ` +
      `${padL(`${(r.value / r.target).toFixed(1)}x`, 7)}`,
  );
}
console.log('\n* zero-copy: each frame is a view of its chunk, so no payload byte is read or copied.');
