import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import type { Peer } from '../../src/node/server.js';
import { serverPool } from './support/servers.js';
import { helloBody } from '../reliability/support/raw-peer.js';
import { rawUpgrade, serverFrames, upgradeRequest, wsFrame, type Upgrade } from './support/sockets.js';

/**
 * A WebSocket connection before its HELLO costs what a TCP one does: no message over the
 * HELLO cap (16 KiB) is buffered, the deadline ends it at once, and the HTTP request before
 * it is bounded and counted too.
 */

const HELLO_CAP = 16 << 10;
const { start, sockets } = serverPool();

/** An upgraded socket whose received bytes are collected (never answering a close frame). */
async function upgraded(url: string): Promise<Upgrade & { received: () => Buffer; isClosed: () => boolean }> {
  const up = await rawUpgrade(url);
  sockets.push(up.socket);
  expect(up.status).toBe(101);
  let got = up.rest;
  let closed = false;
  up.socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  void up.closed.then(() => (closed = true));
  up.socket.resume();
  return { ...up, received: () => got, isClosed: () => closed };
}

describe('WebSocket before the HELLO', () => {
  it('cuts a peer whose first message announces 1 MiB on the frame header, with CLOSE 4000, before buffering the body', async () => {
    const server = await start({ ws: {}, handshakeTimeout: 30_000 });
    const up = await upgraded(server.addresses.ws!);
    up.socket.write(wsFrame(new Uint8Array(1_000), { declared: 1 << 20 }));
    await up.closed;
    expect(serverFrames(up.received())).toEqual([
      expect.objectContaining({ type: 'close', code: 4000, reason: 'HELLO over the size cap' }),
    ]);
    await expect.poll(() => server.metrics().connections.ws).toBe(0);
    expect(server.metrics().handshakeFailures).toBe(1);
  });

  it('cuts a fragmented first message once its fragments add up past the cap', async () => {
    const server = await start({ ws: {}, handshakeTimeout: 30_000 });
    const up = await upgraded(server.addresses.ws!);
    up.socket.write(wsFrame(new Uint8Array(10 << 10), { fin: false }));
    await new Promise((r) => setTimeout(r, 100));
    expect(up.isClosed()).toBe(false);
    up.socket.write(wsFrame(new Uint8Array(0), { opcode: 0, declared: 10 << 10 }));
    await up.closed;
    expect(serverFrames(up.received())).toMatchObject([{ type: 'close', code: 4000 }]);
  });

  it('waits for the body of a first message announced at exactly the cap', async () => {
    const server = await start({ ws: {}, handshakeTimeout: 30_000 });
    const up = await upgraded(server.addresses.ws!);
    up.socket.write(wsFrame(new Uint8Array(100), { declared: HELLO_CAP }));
    await new Promise((r) => setTimeout(r, 300));
    expect(up.isClosed()).toBe(false);
    expect(server.metrics().connections.ws).toBe(1);
  });

  it('takes messages up to maxFrameSize once the session is open', async () => {
    const server = await start({ ws: {}, handshakeTimeout: 30_000 });
    const got: unknown[] = [];
    server.on('connection', (peer: Peer) => peer.on('message', (v) => got.push(v)));
    const up = await upgraded(server.addresses.ws!);
    up.socket.write(wsFrame(helloBody));
    await expect.poll(() => serverFrames(up.received()).some((f) => f.type === 'welcome')).toBe(true);
    const body = encodeFrame({ type: 'data', kind: 'binary', payload: new Uint8Array(256 << 10).fill(7) });
    up.socket.write(wsFrame(body));
    await expect.poll(() => got.length).toBe(1);
    expect((got[0] as Uint8Array).byteLength).toBe(256 << 10);
    expect(up.isClosed()).toBe(false);
  });

  it('ends a silent peer at the handshake deadline at once, without waiting for a close handshake it never answers', async () => {
    const server = await start({ ws: {}, handshakeTimeout: 300 });
    const up = await upgraded(server.addresses.ws!);
    // The peer never answers the CLOSE: a server waiting for the close handshake would hold
    // the socket for 30 s, so a wait of 10 s fails on that.
    await expect.poll(() => up.isClosed(), { timeout: 10_000 }).toBe(true);
    // Ended by the handshake deadline (CLOSE 4003), and nothing else was sent.
    expect(serverFrames(up.received())).toMatchObject([{ type: 'close', code: 4003 }]);
    expect(server.metrics().connections.ws).toBe(0);
  });
});

/**
 * A socket that writes its upgrade request one byte every `every` ms, from `from`; `closed`
 * resolves with the bytes of the request it had written when it was closed, and the whole
 * request's length.
 */
function dribble(
  url: string,
  every: number,
  from = '127.0.0.1',
): { socket: net.Socket; closed: Promise<{ written: number; length: number }> } {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ port: Number(port), host: hostname, localAddress: from });
  sockets.push(socket);
  socket.on('error', () => {});
  const request = Buffer.from(upgradeRequest(url));
  let at = 0;
  const timer = setInterval(() => {
    if (at < request.length && !socket.destroyed) socket.write(request.subarray(at, ++at));
  }, every);
  const closed = new Promise<{ written: number; length: number }>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ written: at, length: request.length });
    }),
  );
  return { socket, closed };
}

describe('slow HTTP upgrades', () => {
  it('counts sockets dribbling their request as pending handshakes and closes them at the handshake deadline', async () => {
    const server = await start({ ws: {}, handshakeTimeout: 500, maxPendingHandshakes: 5 });
    const url = server.addresses.ws!;
    const slow = Array.from({ length: 5 }, () => dribble(url, 50));
    await expect.poll(() => server.metrics().pendingHandshakes).toBe(5);
    // The server is full of them: a complete request now is told to come back.
    const turned = await rawUpgrade(url, { localAddress: '127.0.0.2' });
    sockets.push(turned.socket);
    expect(turned.status).toBe(503);
    expect(Number(turned.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Closed mid-request: the deadline runs from the connect, not from the last byte (a byte
    // every 50 ms would keep a per-byte timer of 500 ms alive until the request is complete).
    const ends = await Promise.all(slow.map((s) => s.closed));
    for (const { written, length } of ends) expect(written).toBeLessThan(length);
    await expect.poll(() => server.metrics().pendingHandshakes).toBe(0);
    expect(server.metrics().handshakeFailures).toBe(5);
    const after = await rawUpgrade(url, { localAddress: '127.0.0.2' });
    sockets.push(after.socket);
    expect(after.status).toBe(101);
  });

  it('counts them per address: a fourth request from the same address gets 429, one from another address gets in', async () => {
    const server = await start({ ws: {}, handshakeTimeout: 5_000, maxPendingHandshakesPerIp: 3 });
    const url = server.addresses.ws!;
    for (let i = 0; i < 3; i++) dribble(url, 200);
    await expect.poll(() => server.metrics().pendingHandshakes).toBe(3);
    const same = await rawUpgrade(url, { localAddress: '127.0.0.1' });
    sockets.push(same.socket);
    expect(same.status).toBe(429);
    expect(same.rest.toString()).toContain('maxPendingHandshakesPerIp');
    const other = await rawUpgrade(url, { localAddress: '127.0.0.2' });
    sockets.push(other.socket);
    expect(other.status).toBe(101);
  });

  it('answers a plain HTTP request 426 and closes the connection rather than keeping it alive', async () => {
    const server = await start({ ws: {} });
    const { hostname, port } = new URL(server.addresses.ws!);
    // A plain request is answered 426 and the connection closed, not kept alive.
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect(Number(port), hostname, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      sockets.push(s);
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 426/);
    expect(answer).toMatch(/connection: close/i);
  });
});
