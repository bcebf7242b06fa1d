// A file of hundreds of MB from a client to a server that writes it to disk, then back again,
// SHA-256 checked at every end, through a connection that is cut once in the middle.
// Run: node examples/file-transfer.mjs [file]   (after npm run build)
// Without a file it makes one of 300 MB in the temp dir ($SIZE_MB to choose another size).
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Writable } from 'node:stream';
import { TransformStream } from 'node:stream/web';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { connect, createServer, streams } from 'sockline';

const MB = 1_000_000;
const dir = await mkdtemp(join(tmpdir(), 'sockline-file-transfer-'));
const source =
  process.argv[2] ?? (await makeFile(join(dir, 'sample.bin'), Number(process.env.SIZE_MB ?? 300) * MB));
const size = (await stat(source)).size;

// --- the server: uploads go to disk, downloads come from it ----------------------------------
const server = createServer({ tcp: { port: 0 } });
const uploads = new Map(); // name -> Promise of { path, size, sha256 } once on disk

server.on('stream', (upload, peer) => {
  const stored = store(upload, peer);
  stored.catch(() => {}); // said below; a request for it says it again
  uploads.set(upload.meta.name, stored);
});

async function store(upload, peer) {
  const { name, size: declared, type } = upload.meta;
  if (typeof name !== 'string' || basename(name) !== name || !(declared <= 1e9)) {
    // A refusal is a cancel with a reason: the client's write rejects with ERR_STREAM_ABORTED,
    // `remoteCode` this code, and nothing more is sent.
    const reason = Object.assign(new Error('a name and a size of at most 1 GB'), { code: 'ERR_REFUSED' });
    await upload.readable.cancel(reason);
    throw reason;
  }
  const path = join(dir, `stored-${name}`);
  const hash = createHash('sha256');
  const file = createWriteStream(path);
  try {
    // Credit follows reading: while the disk is slow, the client waits instead of this heap growing.
    for await (const chunk of upload.readable) {
      hash.update(chunk);
      if (!file.write(chunk)) await once(file, 'drain');
    }
    file.end();
    await once(file, 'finish');
    console.log(`server: stored ${name} (${type}, ${fmt(declared)}) from peer ${peer.id.slice(0, 8)}`);
    return { path, size: file.bytesWritten, sha256: hash.digest('hex') };
  } catch (err) {
    // The client aborted (ERR_STREAM_ABORTED with its reason) or its session was lost.
    file.destroy();
    await rm(path, { force: true });
    console.log(`server: the upload of ${name} ended early: ${err.code} (${err.remoteCode}: ${err.message})`);
    throw err;
  }
}

/** The digest of what the server wrote, once the upload is on disk. */
server.handle('stored', async (name) => (await uploads.get(name))?.sha256 ?? null);

server.handle('download', async (name, peer) => {
  const entry = await uploads.get(name)?.catch(() => undefined);
  if (entry === undefined) throw Object.assign(new Error(`no file ${name}`), { code: 'ERR_NOT_FOUND' });
  // The server side of a download: a stream to the client, fed from the file at the pace the
  // client reads (pipeline awaits each write: the same backpressure as the upload below).
  const download = peer.openStream({
    name,
    size: entry.size,
    type: 'application/octet-stream',
    sha256: entry.sha256,
  });
  void pipeline(createReadStream(entry.path), Writable.fromWeb(download.writable)).catch(() => {});
  return { size: entry.size };
});

const { tcp } = await server.listen();

// A proxy between client and server that can cut the connection, as a flaky network does.
const proxy = await cuttingProxy(tcp);

// --- the client ------------------------------------------------------------------------------
const client = connect(proxy.url, { streams });
client.on('session', ({ resumed }) => resumed && console.log('client: reconnected, session resumed'));
await client.opened;

// Upload: metadata with the stream, then the bytes, each write awaited.
const name = basename(source);
const upload = client.openStream({ name, size, type: 'application/octet-stream' });
const sent = createHash('sha256');
const up = progress('upload', size, () => upload.bytesAcknowledged);
const writer = upload.writable.getWriter();
let cut = false;
for await (const chunk of createReadStream(source, { highWaterMark: 256 * 1024 })) {
  sent.update(chunk);
  // Waits while the server's credit window is used up: this process holds one window, not the file.
  await writer.write(chunk);
  if (!cut && upload.bytesSent > size * 0.4) {
    cut = true;
    // Nothing to do on a reconnect: the client reconnects, the session resumes, and the stream
    // goes on where it stopped, without losing or repeating a byte.
    proxy.cut();
  }
}
await writer.close(); // resolves once the server has every byte
up.done();
const sha256 = sent.digest('hex');
// The server finishes writing to disk, then answers with the digest of what it wrote.
const serverSha = await client.request('stored', name);

// Download: the server opens a stream to this client; read it like any ReadableStream.
const received = new Promise((resolve) => client.once('stream', resolve));
await client.request('download', name);
const download = await received;
const copy = join(dir, `downloaded-${download.meta.name}`);
const got = createHash('sha256');
const down = progress('download', download.meta.size, () => download.bytesReceived);
await download.readable
  .pipeThrough(tap((chunk) => got.update(chunk)))
  .pipeTo(Writable.toWeb(createWriteStream(copy)));
down.done();
const downloadSha = got.digest('hex');

const agree = sha256 === serverSha && sha256 === downloadSha && download.meta.sha256 === sha256;
console.log(
  `sha256 ${agree ? 'ok' : 'MISMATCH'}: client ${sha256}, server ${serverSha}, download ${downloadSha}`,
);

// Abort with a reason: the server's read fails with ERR_STREAM_ABORTED, the reason's code as
// `remoteCode`, and both sides free what they held.
const aborted = client.openStream({ name: 'half.bin', size: 8 * MB, type: 'application/octet-stream' });
const w = aborted.writable.getWriter();
await w.write(randomBytes(MB));
await w.abort(Object.assign(new Error('the user cancelled'), { code: 'ERR_CANCELLED' }));
await uploads.get('half.bin')?.catch(() => {}); // the server's side of it, printed above

// Both ends run in this process, and neither held the file: one credit window each.
console.log(`peak memory of this process: ${fmt(process.resourceUsage().maxRSS * 1024)} (rss)`);
await client.close();
proxy.close();
await server.close();
await rm(dir, { recursive: true, force: true });
process.exitCode = agree ? 0 : 1;

// --- helpers ---------------------------------------------------------------------------------

/** A file of `bytes` random bytes. */
async function makeFile(path, bytes) {
  const out = createWriteStream(path);
  for (let left = bytes; left > 0; left -= MB) {
    if (!out.write(randomBytes(Math.min(MB, left)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return path;
}

/** Prints `what` progress once a second: bytes, share and speed; `done()` prints the total. */
function progress(what, total, bytes) {
  const start = performance.now();
  const line = () => {
    const s = (performance.now() - start) / 1000;
    const n = bytes();
    return `${what}: ${fmt(n)} of ${fmt(total)} (${Math.floor((n / total) * 100)}%), ${(n / MB / s).toFixed(1)} MB/s`;
  };
  const timer = setInterval(() => console.log(line()), 1000);
  return {
    done() {
      clearInterval(timer);
      console.log(`${line()} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    },
  };
}

/** A TransformStream that passes chunks through and shows each to `see`. */
function tap(see) {
  return new TransformStream({
    transform(chunk, controller) {
      see(chunk);
      controller.enqueue(chunk);
    },
  });
}

function fmt(bytes) {
  return `${(bytes / MB).toFixed(1)} MB`;
}

/** A TCP proxy to `target` (tcp://host:port) whose `cut()` destroys the connections it carries. */
async function cuttingProxy(target) {
  const { hostname, port } = new URL(target);
  const pairs = new Set();
  const proxy = net.createServer((inbound) => {
    const outbound = net.connect(Number(port), hostname);
    const pair = [inbound, outbound];
    pairs.add(pair);
    for (const s of pair)
      s.on('error', () => {}).on('close', () => (pairs.delete(pair), pair.forEach((x) => x.destroy())));
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `tcp://127.0.0.1:${proxy.address().port}`,
    cut: () => pairs.forEach((pair) => pair.forEach((s) => s.destroy())),
    close: () => proxy.close(),
  };
}
