import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { streams } from '../../src/core/streams/index.js';
import type { IncomingStream, OutgoingStream } from '../../src/core/streams/types.js';
import { connect, type ProtocolConnectOptions } from '../../src/node/index.js';
import { createServer, type Peer, type ServerOptions, type SocklineServer } from '../../src/node/server.js';
import { peerDriver } from '../../src/node/peer.js';
import { testCert } from '../support/tls-cert.js';
import { lengthFraming } from '../../src/core/framing/index.js';
import { Capabilities } from '../../src/core/protocol/frames.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import { encodeStreamFrame } from '../../src/core/protocol/frames-stream.js';
import { decodeAny, messageOpen, type AnyFrame } from '../core/transfer-helpers.js';
import { sha256 } from '../support/stream-checksum.js';

/**
 * Streams and messages over one frame (docs/protocol.md §13) between a real server and real
 * clients on 127.0.0.1: both directions, every stream transport, checksums, flow control that
 * bounds a slow reader, and abort or cancel from either side freeing both.
 */

const MiB = 1 << 20;
let server: SocklineServer | undefined;
const clients: SocklineClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
});

async function start(options: ServerOptions = {}): Promise<SocklineServer> {
  const { cert, key } = testCert();
  server = createServer({ tcp: {}, tls: { cert, key }, ws: {}, ...options });
  server.handle('echo', (p) => p);
  await server.listen();
  return server;
}

function client(url: string, options: ProtocolConnectOptions = {}): SocklineClient {
  const c = connect(url, { streams, tls: { ca: testCert().cert }, ...options }) as SocklineClient;
  clients.push(c);
  c.on('error', () => {});
  return c;
}

/** `size` bytes made of a counter, in chunks of `chunk`: the same bytes every time. */
function* bytes(size: number, chunk = 100_000): Generator<Uint8Array> {
  for (let at = 0; at < size; at += chunk) {
    const n = Math.min(chunk, size - at);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (at + i) % 251;
    yield out;
  }
}

function digest(size: number): string {
  const hash = createHash('sha256');
  for (const part of bytes(size)) hash.update(part);
  return hash.digest('hex');
}

async function write(stream: OutgoingStream, size: number): Promise<void> {
  const writer = stream.writable.getWriter();
  for (const part of bytes(size)) await writer.write(part);
  await writer.close();
}

function nextStream(s: SocklineServer): Promise<{ stream: IncomingStream; peer: Peer }> {
  return new Promise((resolve) => s.once('stream', (stream, peer) => resolve({ stream, peer })));
}

for (const transport of ['tcp', 'tls', 'ws'] as const) {
  describe(`streams over ${transport}`, () => {
    it('uploads a stream to the server and downloads one from it, metadata and every byte intact', async () => {
      const s = await start();
      const c = client(s.addresses[transport]!);
      await c.opened;
      const size = 12 * MiB + 123;
      const arriving = nextStream(s);
      const upload = c.openStream({ name: 'up.bin', size, type: 'application/octet-stream', owner: 'a' });
      const uploaded = write(upload, size);
      const { stream, peer } = await arriving;
      expect(stream.meta).toEqual({ name: 'up.bin', size, type: 'application/octet-stream', owner: 'a' });
      expect(await sha256(stream.readable)).toEqual({ hash: digest(size), size });
      await uploaded;
      await upload.done;
      expect(upload.bytesAcknowledged).toBe(size);

      const downloading = new Promise<IncomingStream>((resolve) => c.once('stream', resolve));
      const download = peer.openStream({ name: 'down.bin', size });
      const downloaded = write(download, size);
      const incoming = await downloading;
      expect(incoming.meta).toEqual({ name: 'down.bin', size });
      expect(await sha256(incoming.readable)).toEqual({ hash: digest(size), size });
      await downloaded;
      // Both ends hold nothing for streams once they are over.
      await expect.poll(() => peerDriver().state(peer).endpoint.incoming).toBe(0);
    });

    it('sends, publishes, requests and answers messages over one frame, both ways', async () => {
      const s = await start();
      const c = client(s.addresses[transport]!);
      const got: unknown[] = [];
      const peerReady = new Promise<Peer>((resolve) => s.once('connection', resolve));
      c.on('message', (v) => got.push(v));
      c.subscribe('files/#', (v) => got.push(v));
      await c.opened;
      const peer = await peerReady;
      const atServer: unknown[] = [];
      peer.on('message', (v) => atServer.push(v));
      const big = new Uint8Array(5 * MiB).fill(3);
      c.send(big);
      c.send('after the big one');
      await expect.poll(() => atServer.length, { timeout: 10_000 }).toBe(2);
      // Delivered when whole: the small message sent after it is not held back.
      expect(atServer[0]).toBe('after the big one');
      expect((atServer[1] as Uint8Array).byteLength).toBe(5 * MiB);
      const text = 'é'.repeat(2 * MiB);
      await expect(c.request('echo', text)).resolves.toBe(text);
      await expect.poll(() => peer.subscriptions.has('files/#')).toBe(true);
      c.publish('files/a', big);
      peer.send({ list: Array.from({ length: 200_000 }, (_, i) => i) });
      await expect.poll(() => got.length, { timeout: 10_000 }).toBe(2);
      c.handle('twice', (v) => `${v as string}${v as string}`);
      await expect(peer.request('twice', 'x'.repeat(MiB))).resolves.toHaveLength(2 * MiB);
    });
  });
}

describe('streams: flow control and endings', () => {
  it('a reader that closes its client as soon as it has every byte leaves the writer done: CLOSE goes after the acknowledgement', async () => {
    const s = await start();
    const c = client(s.addresses.tcp!);
    await c.opened;
    const peer = [...s.peers.values()][0]!;
    const size = 3 * MiB + 7;
    const downloading = new Promise<IncomingStream>((resolve) => c.once('stream', resolve));
    const download = peer.openStream({ name: 'last.bin', size });
    const written = write(download, size);
    const incoming = await downloading;
    expect(await sha256(incoming.readable)).toEqual({ hash: digest(size), size });
    await c.close();
    await written;
    await expect(download.done).resolves.toBeUndefined();
    expect(download.bytesAcknowledged).toBe(size);
  });

  it('a reader 10x slower than the writer holds at most its window; the writer at most one chunk and what is unacknowledged', async () => {
    const s = await start({ streamWindow: MiB });
    const c = client(s.addresses.tcp!);
    await c.opened;
    const arriving = nextStream(s);
    const size = 24 * MiB;
    const upload = c.openStream({ size });
    const writer = upload.writable.getWriter();
    let writerHeld = 0;
    const writing = (async () => {
      for (const part of bytes(size, 256 << 10)) {
        await writer.ready;
        writerHeld = Math.max(writerHeld, c.bufferedAmount);
        await writer.write(part);
      }
      await writer.close();
    })();
    const { stream } = await arriving;
    const reader = stream.readable.getReader();
    let read = 0;
    let readerHeld = 0;
    const hash = createHash('sha256');
    for (;;) {
      // The held bytes: received by the server's session and not yet read by the application.
      readerHeld = Math.max(readerHeld, stream.bytesReceived - read);
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value!);
      read += value!.byteLength;
      // About 10x slower than the writer on loopback.
      await new Promise((r) => setTimeout(r, 2));
    }
    await writing;
    expect(read).toBe(size);
    expect(hash.digest('hex')).toBe(digest(size));
    expect(readerHeld).toBeLessThanOrEqual(MiB);
    // The client holds what the server has not acknowledged (at most its credit window) and
    // what its socket has not sent (a chunk and the watermark of 256 KiB).
    expect(writerHeld).toBeLessThanOrEqual((MiB + 512) << 10);
  });

  it('the writer aborting errors the reader with its reason; both sides free what they held', async () => {
    const s = await start();
    const c = client(s.addresses.ws!);
    await c.opened;
    const arriving = nextStream(s);
    const upload = c.openStream({ name: 'x' });
    const writer = upload.writable.getWriter();
    void writer.write(new Uint8Array(300_000)).catch(() => {});
    const { stream, peer } = await arriving;
    await expect.poll(() => peerDriver().state(peer).endpoint.incoming).toBeGreaterThan(0);
    await writer.abort(Object.assign(new Error('the user gave up'), { code: 'E_USER' }));
    const reader = stream.readable.getReader();
    const error = await (async () => {
      for (;;) await reader.read();
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_STREAM_ABORTED', remoteCode: 'E_USER' });
    expect((error as Error).message).toMatch(/the user gave up/);
    await expect.poll(() => peerDriver().state(peer).endpoint.incoming).toBe(0);
    await expect.poll(() => c.bufferedAmount).toBe(0);
  });

  it('the reader cancelling errors the writer with its reason; both sides free what they held', async () => {
    const s = await start();
    const peerReady = new Promise<Peer>((resolve) => s.once('connection', resolve));
    const c = client(s.addresses.tcp!);
    const peer = await peerReady;
    const arriving = new Promise<IncomingStream>((resolve) => c.once('stream', resolve));
    const download = peer.openStream({ name: 'y' });
    const writing = write(download, 64 * MiB);
    const stream = await arriving;
    const reader = stream.readable.getReader();
    await reader.read();
    await reader.cancel(Object.assign(new Error('not wanted'), { code: 'E_NO' }));
    await expect(writing).rejects.toMatchObject({ code: 'ERR_STREAM_ABORTED', remoteCode: 'E_NO' });
    await expect(download.done).rejects.toMatchObject({ code: 'ERR_STREAM_ABORTED' });
    expect(download.bytesSent).toBeLessThan(8 * MiB);
    await expect.poll(() => peerDriver().state(peer).delivery.bufferedBytes).toBe(0);
  });

  it('refuses at the sender a message over maxMessageSize, and a stream or large message to a client that takes none', async () => {
    const s = await start({ maxMessageSize: 4 * MiB });
    const connected = (): Promise<Peer> => new Promise((resolve) => s.once('connection', resolve));
    let next = connected();
    const c = client(s.addresses.tcp!, { maxMessageSize: 2 * MiB });
    const toStreams = await next;
    next = connected();
    const plain = connect(s.addresses.tcp!) as SocklineClient;
    clients.push(plain);
    const toPlain = await next;
    // Over the client's own maxMessageSize, and over the server's.
    expect(() => c.send(new Uint8Array(2 * MiB + 1))).toThrow(
      expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }),
    );
    const client8 = client(s.addresses.tcp!, { maxMessageSize: 8 * MiB });
    await client8.opened;
    expect(() => client8.send(new Uint8Array(5 * MiB))).toThrow(
      expect.objectContaining({
        code: 'ERR_MESSAGE_TOO_LARGE',
        message: expect.stringMatching(/peer's maxMessageSize/),
      }),
    );
    // The server knows from each HELLO what the client takes.
    expect(() => toStreams.send(new Uint8Array(3 * MiB))).toThrow(
      expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }),
    );
    expect(() => toPlain.send(new Uint8Array(2 * MiB))).toThrow(
      expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }),
    );
    expect(() => toPlain.openStream({})).toThrow(expect.objectContaining({ code: 'ERR_NOT_SUPPORTED' }));
    expect(() => plain.openStream({})).toThrow(expect.objectContaining({ code: 'ERR_NOT_SUPPORTED' }));
    // Nothing of it reached the wire: both sessions go on.
    await expect(c.request('echo', 1)).resolves.toBe(1);
    await expect(plain.request('echo', 2)).resolves.toBe(2);
  });

  it('refuses a stream nobody listens for, and one over maxStreams, with a typed error at the writer', async () => {
    const s = await start({ maxStreams: 1 });
    const c = client(s.addresses.tcp!);
    await c.opened;
    const unheard = c.openStream({});
    await expect(unheard.done).rejects.toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
    const held: IncomingStream[] = [];
    s.on('stream', (stream) => held.push(stream));
    c.openStream({});
    expect(() => c.openStream({})).toThrow(expect.objectContaining({ code: 'ERR_TOO_MANY_STREAMS' }));
    await expect.poll(() => held.length).toBe(1);
  });
});

describe('streams over UDP with the reliable channel', () => {
  it('uploads and downloads a stream, and carries a message over one frame, intact', async () => {
    server = createServer({ udp: { reliable: true } });
    await server.listen();
    const s = server;
    const peerReady = new Promise<Peer>((resolve) => s.once('connection', resolve));
    const c = client(s.addresses.udp!, { reliable: true });
    const peer = await peerReady;
    const size = 3 * MiB + 7;
    const arriving = nextStream(s);
    const upload = c.openStream({ name: 'udp.bin', size });
    const uploaded = write(upload, size);
    const { stream } = await arriving;
    expect(await sha256(stream.readable)).toEqual({ hash: digest(size), size });
    await uploaded;
    const downloading = new Promise<IncomingStream>((resolve) => c.once('stream', resolve));
    const download = peer.openStream({ name: 'back.bin' });
    const downloaded = write(download, size);
    expect(await sha256((await downloading).readable)).toEqual({ hash: digest(size), size });
    await downloaded;
    const got: unknown[] = [];
    peer.on('message', (v) => got.push(v));
    c.send(new Uint8Array(2 * MiB).fill(9));
    await expect.poll(() => got.length, { timeout: 10_000 }).toBe(1);
    expect((got[0] as Uint8Array).byteLength).toBe(2 * MiB);
  }, 60_000);
});

/** A bare TCP client speaking frames by hand, stream frames included. */
async function rawClient(url: string): Promise<{
  frames: AnyFrame[];
  closed: Promise<void>;
  send(body: Uint8Array): void;
  destroy(): void;
}> {
  const { port } = new URL(url);
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.on('error', () => {});
  const framing = lengthFraming({ maxFrameSize: 1 << 30 });
  const frames: AnyFrame[] = [];
  const decoder = framing.createDecoder((body) => frames.push(decodeAny(body)));
  socket.on('data', (chunk) => decoder.push(chunk));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const send = (body: Uint8Array): void => void socket.write(framing.encode(body));
  send(
    encodeFrame({
      type: 'hello',
      versions: [2],
      capabilities: 7 | Capabilities.LARGE | Capabilities.STREAMS,
      codec: 'json',
      limits: { maxFrameSize: MiB, maxMessageSize: 64 * MiB, maxStreams: 16 },
    }),
  );
  await expect.poll(() => frames.some((f) => f.type === 'welcome')).toBe(true);
  return { frames, closed, send, destroy: () => socket.destroy() };
}

describe('streams: hostile peers', () => {
  const open = messageOpen;

  it('closes a connection announcing a message over maxMessageSize at its first frame, holding nothing', async () => {
    const s = await start({ maxMessageSize: 8 * MiB });
    const before = s.metrics().bufferedBytes;
    const p = await rawClient(s.addresses.tcp!);
    p.send(open(1, 1, 2 ** 50));
    await p.closed;
    expect(p.frames.at(-1)).toMatchObject({ type: 'close', code: 4000 });
    expect(s.metrics().bufferedBytes).toBe(before);
  });

  it('holds no more than the budget for peers that never finish their messages, and frees it when they go', async () => {
    const s = await start({ maxBufferedBytes: 48 * MiB, maxMessageSize: 32 * MiB, resumeWindow: 200 });
    const peers = await Promise.all([rawClient(s.addresses.tcp!), rawClient(s.addresses.tcp!)]);
    // Each announces a 32 MiB message, sends a little of it, and never finishes it.
    for (const p of peers) {
      p.send(open(1, 1, 32 * MiB));
      p.send(encodeStreamFrame({ type: 'chunk', seq: 2, id: 1, payload: new Uint8Array(1000) }));
    }
    await expect.poll(() => peers.flatMap((p) => p.frames).filter((f) => f.type === 'cancel').length).toBe(1);
    expect(peers.flatMap((p) => p.frames).find((f) => f.type === 'cancel')).toMatchObject({
      code: 'ERR_MEMORY_BUDGET',
    });
    // One was taken (32 MiB held), the other refused: the total stays within the budget.
    expect(s.metrics().bufferedBytes).toBeLessThanOrEqual(48 * MiB);
    expect(s.metrics().bufferedBytes).toBeGreaterThanOrEqual(32 * MiB);
    // A healthy client is served meanwhile.
    const c = client(s.addresses.tcp!);
    await expect(c.request('echo', 'ok')).resolves.toBe('ok');
    // When their sessions end, what they held is freed.
    for (const p of peers) p.destroy();
    await expect.poll(() => s.metrics().bufferedBytes, { timeout: 5_000 }).toBeLessThan(MiB);
  });
});
