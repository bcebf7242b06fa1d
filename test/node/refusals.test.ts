import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, type SocklineServer } from '../../src/node/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import type { Link } from '../../src/core/link/link.js';
import { CloseCodes } from '../../src/core/protocol/frames.js';
import { CLIENT_KINDS, connectAs } from '../support/clients.js';
import { startPythonWsEcho, startSocatTcpEcho, type PeerHandle } from '../support/peers.js';
import {
  httpStatus,
  scriptedSockline,
  tcpServer,
  upgradeServer,
  welcome,
  type Scripted,
} from '../support/scripted-servers.js';

/**
 * The client's side of real deployments: an upgrade refused with an HTTP status is a typed
 * error carrying it, final for a refusal and retried (never sooner than Retry-After) for an
 * outage; an endpoint that is not a sockline server gets one ERR_NOT_SOCKLINE naming raw mode,
 * and no retry; a server asking to come back later is a deferral, not an error.
 */

const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Everything a connection reports, for assertions. */
function watch(conn: SocklineClient | Link): {
  errors: Array<{ code: string; message: string; status?: number | undefined }>;
  reconnecting: Array<{ delay: number }>;
  deferred: Array<{ delay: number; reason: string }>;
  settled: Promise<unknown>;
} {
  const seen = {
    errors: [] as Array<{ code: string; message: string; status?: number | undefined }>,
    reconnecting: [] as Array<{ delay: number }>,
    deferred: [] as Array<{ delay: number; reason: string }>,
    settled: conn.opened.then(
      () => 'open',
      (err: unknown) => err,
    ),
  };
  const c = conn as SocklineClient;
  c.on('error', (e) => seen.errors.push({ code: e.code, message: e.message, status: e.status }));
  c.on('reconnecting', ({ delay }) => seen.reconnecting.push({ delay }));
  c.on('deferred', (info) => seen.deferred.push(info));
  closers.push(() => c.close());
  return seen;
}

/** Starts a scripted server that the test's cleanup closes. */
async function started<S extends Scripted>(server: Promise<S>): Promise<S> {
  const s = await server;
  closers.push(() => s.close());
  return s;
}

const quick = { reconnect: { initialDelay: 20, maxDelay: 50 }, connectTimeout: 3_000 };

describe('an upgrade refused with an HTTP status', () => {
  it.each([
    [404, 'Not Found'],
    [403, 'Forbidden'],
    [426, 'Upgrade Required'],
    [401, 'Unauthorized'],
  ])(
    'HTTP %i: opened rejects ERR_UPGRADE_REFUSED with the status, state closed, no retry',
    async (status, text) => {
      const server = await started(upgradeServer(httpStatus(status, text)));
      const client = connect(server.url, quick);
      const seen = watch(client);
      const err = (await seen.settled) as { code: string; status: number; message: string };
      expect(err).toMatchObject({ code: 'ERR_UPGRADE_REFUSED', status });
      expect(err.message).toContain(`HTTP ${status} ${text}`);
      expect(client.state).toBe('closed');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(server.count).toBe(1);
      expect(seen.reconnecting).toEqual([]);
      expect(seen.errors).toEqual([expect.objectContaining({ code: 'ERR_UPGRADE_REFUSED', status })]);
    },
  );

  it('a redirect is a refusal that names its target, unless followRedirects is set', async () => {
    const target = await started(upgradeServer(httpStatus(404, 'Not Found')));
    const server = await started(
      upgradeServer(httpStatus(301, 'Moved Permanently', { Location: target.url })),
    );
    const client = connect(server.url, { ...quick, protocol: 'raw' });
    const err = (await watch(client).settled) as { code: string; status: number; message: string };
    expect(err).toMatchObject({ code: 'ERR_UPGRADE_REFUSED', status: 301 });
    expect(err.message).toContain(target.url);
    expect(err.message).toContain('followRedirects');
    // Followed, the redirect leads to the target's own answer.
    const followed = connect(server.url, { ...quick, protocol: 'raw', followRedirects: true });
    expect(await watch(followed).settled).toMatchObject({ code: 'ERR_UPGRADE_REFUSED', status: 404 });
    expect(target.count).toBe(1);
  });

  it.each([
    [503, 'Service Unavailable'],
    [429, 'Too Many Requests'],
  ])('HTTP %i is an outage: retried, never sooner than Retry-After', async (status, text) => {
    const server = await started(upgradeServer(httpStatus(status, text, { 'Retry-After': '1' })));
    const client = connect(server.url, quick);
    const seen = watch(client);
    await expect.poll(() => seen.reconnecting.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    expect(seen.reconnecting.every((r) => r.delay >= 1_000)).toBe(true);
    expect(seen.errors[0]).toMatchObject({ code: 'ERR_UPGRADE_REFUSED', status });
    expect(seen.errors[0]!.message).toContain('Retry-After');
    expect(client.state).not.toBe('closed');
    expect(server.count).toBeGreaterThanOrEqual(2);
  });

  it('sends the headers option with the upgrade request', async () => {
    const server = await started(upgradeServer(httpStatus(403, 'Forbidden')));
    const client = connect(server.url, {
      ...quick,
      headers: { Authorization: 'Bearer abc', Cookie: 'session=1' },
    });
    await watch(client).settled;
    expect(server.requests[0]!.headers).toMatchObject({ authorization: 'Bearer abc', cookie: 'session=1' });
  });
});

describe('an endpoint that is not a sockline server', () => {
  const expectNotSockline = async (conn: SocklineClient, count: () => number): Promise<string> => {
    const seen = watch(conn);
    const err = (await seen.settled) as { code: string; message: string };
    expect(err.code).toBe('ERR_NOT_SOCKLINE');
    expect(err.message).toContain("protocol: 'raw'");
    expect(conn.state).toBe('closed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(count()).toBe(1);
    expect(seen.reconnecting).toEqual([]);
    expect(seen.errors.map((e) => e.code)).toEqual(['ERR_NOT_SOCKLINE']);
    return err.message;
  };

  it('an HTTP page answering the WebSocket upgrade (200)', async () => {
    const server = await started(upgradeServer(httpStatus(200, 'OK', { 'Content-Type': 'text/html' })));
    const message = await expectNotSockline(connect(server.url, quick), () => server.count);
    expect(message).toContain('HTTP 200');
  });

  it('an HTTP server on a tcp:// URL', async () => {
    const server = http.createServer((_req, res) => res.end('hello'));
    let connections = 0;
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    closers.push(() => server.closeAllConnections());
    const url = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await expectNotSockline(connect(url, quick), () => connections);
  });

  it('a line service that greets with a banner (not read as a 1 GB length)', async () => {
    const server = await started(tcpServer((socket) => socket.write('ECHO service ready\n')));
    const message = await expectNotSockline(connect(server.url, quick), () => server.count);
    expect(message).not.toContain('1162037327');
  });

  it('a TCP echo server (socat) that sends the HELLO back', async () => {
    const echo: PeerHandle = await startSocatTcpEcho();
    closers.push(() => echo.close());
    const message = await expectNotSockline(connect(echo.url, quick), () => 1);
    expect(message).toContain('HELLO');
  });

  for (const kind of CLIENT_KINDS) {
    const of = kind === 'compact' ? ', to the compact client' : '';
    it(`a plain WebSocket echo server (Python websockets)${of}`, async () => {
      const echo: PeerHandle = await startPythonWsEcho();
      closers.push(() => echo.close());
      const message = await expectNotSockline(connectAs(kind, echo.url, quick), () => 1);
      expect(message).toContain('HELLO');
    });

    it(`a plain WebSocket server (ws) that greets in text${of}`, async () => {
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      let connections = 0;
      wss.on('connection', (ws) => {
        connections++;
        ws.send('welcome to the chat');
      });
      await new Promise<void>((resolve) => wss.once('listening', resolve));
      closers.push(() => new Promise((resolve) => wss.close(resolve)));
      closers.push(() => wss.clients.forEach((c) => c.terminate()));
      const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
      const message = await expectNotSockline(connectAs(kind, url, quick), () => connections);
      expect(message).toContain('text message');
    });
  }

  it('raw mode talks to the same echo server', async () => {
    const echo: PeerHandle = await startSocatTcpEcho();
    closers.push(() => echo.close());
    const link = connect(echo.url, { ...quick, protocol: 'raw', framing: 'lines' });
    watch(link);
    const got = new Promise((resolve) => link.once('message', resolve));
    link.send('hello');
    expect(await got).toBe('hello');
  });
});

describe('a server that asks the client to come back later', () => {
  it('a CLOSE 1013 with reconnectAfter during the handshake: a counted deferral, then the session opens', async () => {
    const server = await started(
      scriptedSockline((frame, write, n) => {
        if (frame.type !== 'hello') return;
        if (n >= 3) return write(welcome());
        write({
          type: 'close',
          code: CloseCodes.TRY_AGAIN_LATER,
          reason: 'too many connections from 127.0.0.1',
          reconnectAfter: 150,
        });
      }),
    );
    const client = connect(server.url, { ...quick, reconnect: { maxRetries: 0 } });
    const seen = watch(client);
    expect(await seen.settled).toBe('open');
    expect(seen.errors).toEqual([]);
    expect(seen.deferred).toEqual([
      { delay: 150, reason: '1013: too many connections from 127.0.0.1' },
      { delay: 150, reason: '1013: too many connections from 127.0.0.1' },
    ]);
    expect(seen.reconnecting.map((r) => r.delay)).toEqual([150, 150]);
    expect(client.deferrals).toBe(2);
    expect(server.count).toBe(3);
  });

  for (const kind of CLIENT_KINDS) {
    it(`admission control's CLOSE 1001 turns ${kind === 'compact' ? 'compact ' : ''}clients away without an 'error' event`, async () => {
      const server: SocklineServer = createServer({ tcp: {}, ws: {}, admission: { rate: 20, burst: 1 } });
      closers.push(() => server.close());
      const { tcp, ws } = await server.listen();
      const clients = Array.from({ length: 6 }, (_, i) =>
        kind === 'full' ? connect(i % 2 ? tcp! : ws!, quick) : connectAs(kind, ws!, quick),
      );
      const seen = clients.map(watch);
      expect(await Promise.all(seen.map((s) => s.settled))).toEqual(clients.map(() => 'open'));
      expect(seen.flatMap((s) => s.errors)).toEqual([]);
      const deferrals = clients.reduce((n, c) => n + c.deferrals, 0);
      expect(deferrals).toBeGreaterThan(0);
      expect(deferrals).toBe(seen.reduce((n, s) => n + s.deferred.length, 0));
      expect(server.metrics().admissionRefused).toBe(deferrals);
    });
  }
});
