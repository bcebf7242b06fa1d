import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createServer, type Peer, type SocklineServer } from '../../src/node/server.js';
import { decodeFrame } from '../../src/core/protocol/frames-decode.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import type { Frame } from '../../src/core/protocol/frames.js';
import { framed, helloBody, rawPeer, type RawPeer } from '../reliability/support/raw-peer.js';

/** What a connection may make the server hold before its handshake, and what counts as a frame. */

let server: SocklineServer | undefined;
const peers: RawPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await server?.close();
  server = undefined;
});

const HELLO_CAP = 16 << 10;

/** A u32 length prefix alone: what a peer sends to make the server wait for a body. */
const header = (size: number): Uint8Array =>
  new Uint8Array([size >>> 24, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff]);

async function start(): Promise<SocklineServer> {
  // A long handshake deadline: only the size cap can be what closes a connection here.
  server = createServer({ tcp: {}, ws: {}, handshakeTimeout: 30_000 });
  await server.listen();
  return server;
}

async function peer(s: SocklineServer): Promise<RawPeer> {
  const p = await rawPeer(s.addresses.tcp!);
  peers.push(p);
  return p;
}

describe('the HELLO cap on a stream connection', () => {
  it('answers CLOSE 4000 to a first header one byte over the HELLO cap, before any body arrives', async () => {
    const s = await start();
    const p = await peer(s);
    p.write(header(HELLO_CAP + 1));
    await expect.poll(() => p.isClosed, { timeout: 2_000 }).toBe(true);
    expect(p.closeFrame()).toMatchObject({ code: 4000 });
    await expect.poll(() => s.metrics().handshakeFailures).toBe(1);
  });

  it('waits for the body of a header at the HELLO cap', async () => {
    const s = await start();
    const p = await peer(s);
    p.write(header(HELLO_CAP));
    await new Promise((r) => setTimeout(r, 200));
    expect(p.isClosed).toBe(false);
    expect(s.metrics().connections.tcp).toBe(1);
  });

  it('takes frames up to maxFrameSize once the handshake is done', async () => {
    const s = await start();
    const got: unknown[] = [];
    s.on('connection', (peer: Peer) => peer.on('message', (v) => got.push(v)));
    const p = await peer(s);
    await p.hello();
    const body = encodeFrame({ type: 'data', kind: 'binary', payload: new Uint8Array(256 << 10).fill(1) });
    p.write(framed(body));
    await expect.poll(() => got.length).toBe(1);
    expect((got[0] as Uint8Array).byteLength).toBe(256 << 10);
    expect(p.isClosed).toBe(false);
  });
});

describe('WebSocket text messages', () => {
  it('refuses a text message carrying the bytes of a valid HELLO: CLOSE 4000, WebSocket close 4000, no WELCOME', async () => {
    const s = await start();
    const ws = new WebSocket(s.addresses.ws!);
    const got: Frame[] = [];
    ws.on('message', (m: Buffer) => got.push(decodeFrame(new Uint8Array(m))));
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    ws.send(Buffer.from(helloBody), { binary: false });
    const code = await new Promise<number>((r) => ws.once('close', (c: number) => r(c)));
    expect(got).toEqual([expect.objectContaining({ type: 'close', code: 4000 })]);
    expect(code).toBe(4000);
    expect(s.peers.size).toBe(0);
    await expect.poll(() => s.metrics().connections.ws).toBe(0);
  });

  it('refuses a text message after the handshake and keeps the session for a resume', async () => {
    const s = await start();
    const ws = new WebSocket(s.addresses.ws!);
    const got: Frame[] = [];
    ws.on('message', (m: Buffer) => got.push(decodeFrame(new Uint8Array(m))));
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    ws.send(helloBody);
    await expect.poll(() => got.some((f) => f.type === 'welcome')).toBe(true);
    ws.send(Buffer.from(encodeFrame({ type: 'ping', nonce: 1 })), { binary: false });
    const code = await new Promise<number>((r) => ws.once('close', (c: number) => r(c)));
    expect(code).toBe(4000);
    expect(got.map((f) => f.type)).toEqual(['welcome', 'close']);
    expect(s.peers.size).toBe(1);
  });
});
