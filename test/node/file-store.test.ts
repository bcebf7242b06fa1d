import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { streams } from '../../src/core/streams/index.js';
import { connect } from '../../src/node/index.js';
import { createServer, type SocklineServer } from '../../src/node/server.js';
import { FileStore, type StoredFile } from '../../src/node/cli/file-store.js';
import { Hub } from '../../src/node/cli/hub.js';
import type { IncomingStream } from '../../src/core/streams/types.js';

/**
 * The files `sockline serve` keeps for the chat and the file drop: bounded per file, in total
 * and in count, whatever the clients announce or send; dropped when a room empties or their
 * time is up. Real server, real clients on 127.0.0.1.
 */

const MiB = 1 << 20;
const closers: Array<() => Promise<unknown> | void> = [];
let tempDir: string;
beforeEach(() => {
  tempDir = mkdtempSync(path.join(os.tmpdir(), 'sockline-file-store-test-'));
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  rmSync(tempDir, { recursive: true, force: true });
});

/** A server whose streams go to `store`; resolves each upload's outcome through `outcomes`. */
async function storeServer(store: FileStore): Promise<{ url: string; outcomes: Array<Promise<StoredFile>> }> {
  const server: SocklineServer = createServer({ tcp: {} });
  const outcomes: Array<Promise<StoredFile>> = [];
  server.on('stream', (stream: IncomingStream) => {
    const outcome = store.receive(stream);
    outcome.catch(() => {});
    outcomes.push(outcome);
  });
  const { tcp } = await server.listen();
  closers.push(
    () => server.close(),
    () => store.close(),
  );
  return { url: tcp!, outcomes };
}

function client(url: string): SocklineClient {
  const c = connect(url, { streams });
  closers.push(() => c.close());
  return c;
}

/** Files in the store's temp dir (under this test's `tempDir`). */
function filesOnDisk(): number {
  return readdirSync(tempDir).reduce((n, d) => n + readdirSync(path.join(tempDir, d)).length, 0);
}

describe('FileStore', () => {
  it('reserves what an upload announces: a second one over maxStoredBytes is refused while the first runs', async () => {
    const store = new FileStore({ maxFileSize: 8 * MiB, maxStoredBytes: 10 * MiB, tempDir });
    const { url, outcomes } = await storeServer(store);
    const c = client(url);
    const first = c.openStream({ name: 'a.bin', size: 6 * MiB });
    const writer = first.writable.getWriter();
    await writer.write(new Uint8Array(MiB));
    const second = c.openStream({ name: 'b.bin', size: 6 * MiB });
    const refused = await second.writable
      .getWriter()
      .write(new Uint8Array(MiB))
      .then(() => second.done)
      .catch((e: unknown) => e as { code: string; remoteCode: string; message: string });
    expect(refused).toMatchObject({ code: 'ERR_STREAM_ABORTED', remoteCode: 'ERR_STORE_FULL' });
    expect(store.bytes).toBe(6 * MiB);
    for (let i = 1; i < 6; i++) await writer.write(new Uint8Array(MiB).fill(i));
    await writer.close();
    const stored = await outcomes[0]!;
    expect(stored).toMatchObject({ name: 'a.bin', size: 6 * MiB, type: 'application/octet-stream' });
    expect(store.count).toBe(1);
    store.delete(stored.id);
    expect([store.bytes, store.count]).toEqual([0, 0]);
  });

  it('cancels a stream that sends more than it announced, and one over maxFileSize, keeping nothing', async () => {
    const store = new FileStore({ maxFileSize: 2 * MiB, tempDir });
    const { url, outcomes } = await storeServer(store);
    const c = client(url);
    const liar = c.openStream({ name: 'small.txt', size: 1000 });
    const w = liar.writable.getWriter();
    const lied = await w
      .write(new Uint8Array(4000))
      .then(() => liar.done)
      .catch((e: unknown) => e);
    expect(lied).toMatchObject({ code: 'ERR_STREAM_ABORTED', remoteCode: 'ERR_FILE_TOO_LARGE' });
    await expect(outcomes[0]!).rejects.toMatchObject({ remoteCode: 'ERR_FILE_TOO_LARGE' });
    const big = c.openStream({ name: 'big.bin', size: 3 * MiB });
    await expect(big.done).rejects.toMatchObject({
      remoteCode: 'ERR_FILE_TOO_LARGE',
      message: "the reader cancelled the stream: a file of 3.0 MiB is over this server's limit of 2.0 MiB",
    });
    const nameless = c.openStream({ size: 10 });
    await expect(nameless.done).rejects.toMatchObject({ remoteCode: 'ERR_BAD_REQUEST' });
    expect([store.bytes, store.count, filesOnDisk()]).toEqual([0, 0, 0]);
  });

  it('drops files whose time is up', async () => {
    const store = new FileStore({ fileTtl: 60_000, tempDir });
    const { url, outcomes } = await storeServer(store);
    const up = client(url).openStream({ name: 'x', size: 3 });
    const w = up.writable.getWriter();
    await w.write(new Uint8Array([1, 2, 3]));
    await w.close();
    const file = await outcomes[0]!;
    store.expire(Date.now());
    expect(store.get(file.id)).toBeDefined();
    store.expire(file.expires);
    expect([store.get(file.id), store.count, store.bytes]).toEqual([undefined, 0, 0]);
  });
});

describe('the chat files of sockline serve', () => {
  it("drops a room's files when its last member leaves", async () => {
    const hub = new Hub({ host: '127.0.0.1', tcp: 0, files: { tempDir } });
    const { tcp } = await hub.start();
    closers.push(() => hub.close());
    const alice = client(tcp!);
    await alice.request('chat.join', { room: 'r1', name: 'alice' });
    const announced = new Promise<{ file: { id: string } }>((resolve) =>
      alice.subscribe('chat/r1/messages', (m) => resolve(m as { file: { id: string } })),
    );
    const up = alice.openStream({ name: 'notes.txt', size: 5, type: 'text/plain', room: 'r1' });
    const w = up.writable.getWriter();
    await w.write(new TextEncoder().encode('hello'));
    await w.close();
    const { file } = await announced;
    const bob = client(tcp!);
    await bob.request('chat.join', { room: 'r1', name: 'bob' });
    const got = new Promise<IncomingStream>((resolve) => bob.once('stream', resolve));
    await bob.request('chat.file', { room: 'r1', id: file.id });
    expect((await got).meta).toEqual({ name: 'notes.txt', size: 5, type: 'text/plain', file: file.id });
    await (await got).readable.cancel();
    await alice.close();
    await bob.close();
    // Both sessions ended on the server: the room is empty.
    while (hub.server!.peers.size > 0) await new Promise((r) => setTimeout(r, 10));
    // The file is unlinked (asynchronously) too.
    for (let i = 0; i < 100 && filesOnDisk() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(filesOnDisk()).toBe(0);
    const carol = client(tcp!);
    await carol.request('chat.join', { room: 'r1', name: 'carol' });
    await expect(carol.request('chat.file', { room: 'r1', id: file.id })).rejects.toMatchObject({
      remoteCode: 'ERR_NOT_FOUND',
    });
  });
});
