import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ProtocolConnectOptions } from '../../src/node/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { createServer } from '../../src/node/server.js';
import { serverPool } from './support/servers.js';
import { framed, helloBody } from '../reliability/support/raw-peer.js';
import { rawUpgrade, serverFrames, streamPeer, wsFrame, type StreamPeer } from './support/sockets.js';

/**
 * The server's limits from a client's side: one address cannot take the handshake slots of
 * everyone, one host may still hold thousands of sessions, and whoever is turned away is
 * told why and when to come back (HTTP 429/503 + Retry-After, CLOSE 1013 + reconnectAfter).
 */

const clients: SocklineClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
const { start, sockets } = serverPool();

function client(url: string, options: ProtocolConnectOptions = {}): SocklineClient {
  const c = connect(url, { reconnect: { initialDelay: 20, maxDelay: 500 }, ...options });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

async function peer(url: string, from = '127.0.0.1'): Promise<StreamPeer> {
  const p = await streamPeer(url, from);
  sockets.push(p.socket);
  return p;
}

/** Opens `count` sockets to `port` from 127.0.0.1 that never send a byte. */
async function silent(port: number, count: number): Promise<net.Socket[]> {
  const opened = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.on('error', () => {});
          s.resume();
          sockets.push(s);
        }),
    ),
  );
  return opened;
}

/**
 * Opens a session over TCP from `from`, through its WELCOME. Fails after 5 s, half the
 * handshake deadline: a flood's sockets cannot have timed out first and freed the way.
 */
async function tcpSession(url: string, from: string): Promise<void> {
  const p = await peer(url, from);
  p.socket.write(framed(helloBody));
  await expect.poll(() => p.frames.some((f) => f.type === 'welcome'), { timeout: 5_000 }).toBe(true);
}

/** Opens a session over WebSocket from `from`, through its WELCOME (fails after 5 s, as above). */
async function wsSession(url: string, from: string): Promise<void> {
  const up = await rawUpgrade(url, { localAddress: from });
  sockets.push(up.socket);
  expect(up.status).toBe(101);
  let got = up.rest;
  up.socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  up.socket.resume();
  up.socket.write(wsFrame(helloBody));
  await expect.poll(() => serverFrames(got).some((f) => f.type === 'welcome'), { timeout: 5_000 }).toBe(true);
}

const port = (url: string): number => Number(new URL(url).port);

describe('one address flooding silent connections', () => {
  it('takes 100 handshake slots over TCP, refuses the other 900 with CLOSE 1013, and a client from another address opens while they are held', async () => {
    const server = await start({ tcp: {} });
    const flood = await Promise.all(Array.from({ length: 1_000 }, () => peer(server.addresses.tcp!)));
    await expect.poll(() => server.metrics().rejected, { timeout: 5_000 }).toBe(900);
    expect(server.metrics().pendingHandshakes).toBe(100);
    await tcpSession(server.addresses.tcp!, '127.0.0.2');
    // Opened while the flood still holds every slot it took (how fast: bench/hostile-stall.mjs).
    expect(server.metrics().pendingHandshakes).toBe(100);
    expect(server.metrics().connections.tcp).toBe(101);
    // Those turned away were told why and when to come back: the server did not just reset them.
    await expect.poll(() => flood.filter((p) => p.isClosed).length, { timeout: 5_000 }).toBe(900);
    const answered = flood.filter((p) => p.isClosed).map((p) => p.closeFrame());
    expect(answered.filter((f) => f === undefined)).toEqual([]);
    for (const f of answered) {
      expect(f).toMatchObject({ code: 1013, reason: expect.stringContaining('maxPendingHandshakesPerIp') });
      expect(f!.reconnectAfter).toBeGreaterThanOrEqual(1_000);
    }
    expect(server.metrics().pendingHandshakes).toBe(100);
  });

  it('takes 100 handshake slots over WebSocket (sockets that never send their request count), and a client from another address opens while they are held', async () => {
    const server = await start({ ws: {} });
    await silent(port(server.addresses.ws!), 1_000);
    await expect.poll(() => server.metrics().rejected, { timeout: 5_000 }).toBe(900);
    expect(server.metrics().pendingHandshakes).toBe(100);
    await wsSession(server.addresses.ws!, '127.0.0.2');
    // Opened while the flood still holds every slot it took (how fast: bench/hostile-stall.mjs).
    expect(server.metrics().pendingHandshakes).toBe(100);
  });

  it('tells a TCP client over its address share CLOSE 1013 naming maxPendingHandshakesPerIp, with reconnectAfter', async () => {
    const server = await start({ tcp: {}, maxPendingHandshakesPerIp: 2 });
    await silent(port(server.addresses.tcp!), 2);
    const p = await peer(server.addresses.tcp!);
    await p.closed;
    const close = p.closeFrame();
    expect(close).toMatchObject({ code: 1013, reason: expect.stringContaining('maxPendingHandshakesPerIp') });
    expect(close!.reconnectAfter).toBeGreaterThanOrEqual(1_000);
    expect(close!.reconnectAfter).toBeLessThanOrEqual(2_000);
  });
});

describe('refusals name their limit', () => {
  it('answers TCP connections over maxConnectionsPerIp and maxConnections with CLOSE 1013 and reconnectAfter', async () => {
    const server = await start({ tcp: {}, maxConnectionsPerIp: 2, maxConnections: 3 });
    const url = server.addresses.tcp!;
    await tcpSession(url, '127.0.0.1');
    await tcpSession(url, '127.0.0.1');
    const third = await peer(url, '127.0.0.1');
    await third.closed;
    expect(third.closeFrame()).toMatchObject({
      code: 1013,
      reason: expect.stringContaining('maxConnectionsPerIp'),
      reconnectAfter: expect.any(Number),
    });
    expect(third.closeFrame()!.reconnectAfter).toBeGreaterThanOrEqual(5_000);
    await tcpSession(url, '127.0.0.2'); // another address still gets in
    const full = await peer(url, '127.0.0.3');
    await full.closed;
    expect(full.closeFrame()).toMatchObject({
      code: 1013,
      reason: expect.stringContaining('maxConnections)'),
    });
    expect(server.metrics().rejected).toBe(2);
  });

  it('answers WebSocket upgrades over the address share 429 and over the server limit 503, both with Retry-After', async () => {
    const server = await start({ ws: {}, maxConnectionsPerIp: 2, maxConnections: 3 });
    const url = server.addresses.ws!;
    await wsSession(url, '127.0.0.1');
    await wsSession(url, '127.0.0.1');
    const third = await rawUpgrade(url, { localAddress: '127.0.0.1' });
    sockets.push(third.socket);
    expect(third.status).toBe(429);
    expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(5);
    expect(third.rest.toString()).toContain('maxConnectionsPerIp');
    await wsSession(url, '127.0.0.2');
    const full = await rawUpgrade(url, { localAddress: '127.0.0.3' });
    sockets.push(full.socket);
    expect(full.status).toBe(503);
    expect(Number(full.headers['retry-after'])).toBeGreaterThanOrEqual(5);
    await third.closed;
    await full.closed;
  });

  it('answers an upgrade on an application server 503 with Retry-After while sockline drains', async () => {
    const http = await import('node:http');
    const app = http.createServer((_req, res) => res.end('app'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const server = createServer({ ws: { server: app, path: '/live' } });
    await server.listen();
    const c = client(server.addresses.ws!);
    await c.opened;
    server.handle('slow', () => new Promise((r) => setTimeout(r, 500)));
    const pending = c.request('slow').catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    const closing = server.close({ drain: true, window: 100, timeout: 2_000 });
    const late = await rawUpgrade(server.addresses.ws!);
    expect(late.status).toBe(503);
    expect(Number(late.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(late.rest.toString()).toContain('closing');
    late.socket.destroy();
    await pending;
    await closing;
    await new Promise<void>((r) => app.close(() => r()));
  });

  it('tells a UDP client over its address share CLOSE 1013 once the cookie exchange proved its address', async () => {
    const server = await start({ udp: { reliable: true }, maxConnectionsPerIp: 1 });
    const first = client(server.addresses.udp!, { reliable: true });
    await first.opened;
    // A refusal for a limit is a deferral ("come back later"), not an error of the client.
    const deferrals: string[] = [];
    const second = client(server.addresses.udp!, { reliable: true, reconnect: false });
    second.on('deferred', (info) => deferrals.push(info.reason));
    await expect(second.opened).rejects.toBeDefined();
    expect(deferrals.join('\n')).toMatch(/1013.*maxConnectionsPerIp/);
    expect(server.metrics().rejected).toBe(1);
  });
});

describe('one host, thousands of sessions', () => {
  it('lets 3,000 clients from one address open with the default limits (the burst is deferred, not refused for good)', async () => {
    const N = 3_000;
    const server = await start({ tcp: {} });
    const many = Array.from({ length: N }, () => client(server.addresses.tcp!));
    await Promise.all(many.map((c) => c.opened));
    expect(server.peers.size).toBe(N);
    const m = server.metrics();
    expect(m.connections.tcp).toBe(N);
    expect(m.pendingHandshakes).toBe(0);
    console.log(
      `[edge-limits] ${N} clients from one address: ${m.rejected} attempts deferred by maxPendingHandshakesPerIp, ${m.admissionRefused} by admission`,
    );
  }, 120_000);
});
