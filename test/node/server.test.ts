import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, type ProtocolConnectOptions } from '../../src/node/index.js';
import { ErrorCodes, RemoteError } from '../../src/core/errors.js';
import { publicIdOf } from '../../src/core/protocol/session-id.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { MemorySessionStore } from '../../src/core/protocol/server-session.js';
import { createServer, type Peer, type ServerOptions, type SocklineServer } from '../../src/node/server.js';
import { peerDriver } from '../../src/node/peer.js';
import { runChild } from '../support/child.js';
import { testCert } from '../support/tls-cert.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const servers: SocklineServer[] = [];
const clients: SocklineClient[] = [];
const rawSockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of rawSockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: ServerOptions): Promise<SocklineServer> {
  const server = createServer(options);
  servers.push(server);
  await server.listen();
  return server;
}

function client(url: string, options: ProtocolConnectOptions = {}): SocklineClient {
  const c = connect(url, { reconnect: { initialDelay: 20, maxDelay: 200 }, ...options });
  clients.push(c);
  return c;
}

const allTransports = (): ServerOptions => {
  const { cert, key } = testCert();
  return { tcp: {}, tls: { cert, key }, ws: {}, udp: { reliable: true } };
};

async function connectAll(
  server: SocklineServer,
): Promise<Record<'tcp' | 'tls' | 'ws' | 'udp', SocklineClient>> {
  const a = server.addresses;
  const out = {
    tcp: client(a.tcp!),
    tls: client(a.tls!, { tls: { ca: testCert().cert } }),
    ws: client(a.ws!),
    udp: client(a.udp!, { reliable: true }),
  };
  await Promise.all(Object.values(out).map((c) => c.opened));
  return out;
}

describe('createServer: every transport through one server', () => {
  it('binds tcp, tls, ws and udp on port 0 and reports their URLs', async () => {
    const server = await start(allTransports());
    const a = server.addresses;
    expect(a.tcp).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(a.tls).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    expect(a.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    expect(a.udp).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);
    for (const url of Object.values(a)) expect(url).not.toMatch(/:0\b/);
  });

  it('hands the UDP socket buffer sizes to the datagram listener', async () => {
    // An invalid size is refused by the listener itself: proof that the option reaches it.
    const refused = createServer({ udp: { port: 0, recvBufferSize: -1 } });
    servers.push(refused);
    await expect(refused.listen()).rejects.toThrow(/recvBufferSize/);
    const sized = await start({ udp: { port: 0, recvBufferSize: 64 << 10, sendBufferSize: 64 << 10 } });
    sized.handle('echo', (value) => value);
    const c = client(sized.addresses.udp!);
    await expect(c.request('echo', 41)).resolves.toBe(41);
  });

  it('carries pub/sub across transports: each of tcp, tls, ws, udp hears what the others publish', async () => {
    const server = await start(allTransports());
    const connected: Peer[] = [];
    server.on('connection', (peer) => connected.push(peer));
    const c = await connectAll(server);
    const heard: Record<string, string[]> = { tcp: [], tls: [], ws: [], udp: [] };
    for (const [name, cl] of Object.entries(c)) {
      cl.subscribe('chat/#', (m) => heard[name]!.push((m as { from: string }).from));
    }
    await expect.poll(() => connected.filter((p) => p.subscriptions.has('chat/#')).length).toBe(4);
    expect(new Set(connected.map((p) => p.transport))).toEqual(new Set(['tcp', 'tls', 'ws', 'udp']));
    for (const [name, cl] of Object.entries(c)) cl.publish('chat/lobby', { from: name });
    server.publish('chat/server', { from: 'server' });
    for (const name of Object.keys(c)) {
      await expect.poll(() => [...heard[name]!].sort()).toEqual(['server', 'tcp', 'tls', 'udp', 'ws']);
    }
    const m = server.metrics();
    expect(m.connections).toEqual({ tcp: 1, tls: 1, ws: 1, udp: 1 });
    expect(m.sessions).toBe(4);
    expect(m.messagesIn).toBeGreaterThan(0);
    expect(m.bytesOut).toBeGreaterThan(0);
  });

  it('broadcasts to a room only its members, and to everyone without a room', async () => {
    const server = await start(allTransports());
    server.on('connection', (peer) => {
      if (peer.transport === 'ws' || peer.transport === 'udp') peer.join('game');
    });
    const c = await connectAll(server);
    const got: Record<string, unknown[]> = { tcp: [], tls: [], ws: [], udp: [] };
    for (const [name, cl] of Object.entries(c)) cl.on('message', (v) => got[name]!.push(v));
    await expect.poll(() => server.peers.size).toBe(4);
    expect(server.broadcast('to-game', { room: 'game' })).toBe(2);
    expect(server.broadcast('to-all')).toBe(4);
    for (const name of ['ws', 'udp']) await expect.poll(() => got[name]).toEqual(['to-game', 'to-all']);
    for (const name of ['tcp', 'tls']) await expect.poll(() => got[name]).toEqual(['to-all']);
    const wsPeer = [...server.peers.values()].find((p) => p.transport === 'ws')!;
    wsPeer.leave('game');
    expect(wsPeer.rooms.size).toBe(0);
    expect(server.broadcast('again', { room: 'game' })).toBe(1);
  });

  it('answers requests through server.handle on every transport, with the Peer, and error codes', async () => {
    const server = await start(allTransports());
    server.handle('sum', async (params, peer) => {
      await sleep(1);
      const [a, b] = params as [number, number];
      return { sum: a + b, transport: peer.transport };
    });
    server.handle('fail', () => {
      throw new RemoteError('E_CUSTOM', 'nope', { data: { retry: false } });
    });
    server.handle('crash', () => {
      throw Object.assign(new Error('db password=hunter2 failed'), { code: 'E_DB' });
    });
    const errors: Array<{ message: string; peer: string | undefined }> = [];
    server.on('error', (error, peer) => errors.push({ message: error.message, peer: peer?.transport }));
    const c = await connectAll(server);
    for (const [name, cl] of Object.entries(c)) {
      await expect(cl.request('sum', [2, 3])).resolves.toEqual({ sum: 5, transport: name });
      await expect(cl.request('fail', null)).rejects.toMatchObject({
        code: ErrorCodes.REMOTE,
        remoteCode: 'E_CUSTOM',
        message: expect.stringContaining('nope'),
      });
      // An unexpected exception: a generic answer, the message stays on the server.
      const crash = await cl.request('crash', null).catch((e: { remoteCode?: string; message: string }) => e);
      expect(crash).toMatchObject({ remoteCode: ErrorCodes.INTERNAL });
      expect((crash as Error).message).not.toContain('hunter2');
    }
    expect(errors).toEqual(
      ['tcp', 'tls', 'ws', 'udp'].map((t) => ({ message: 'db password=hunter2 failed', peer: t })),
    );
  });

  it("delivers a Peer's send() to its client and the client's send() to peer.on('message')", async () => {
    const server = await start({ tcp: {}, ws: {} });
    server.on('connection', (peer) => peer.on('message', (v) => peer.send({ echo: v, via: peer.transport })));
    const tcp = client(server.addresses.tcp!);
    const ws = client(server.addresses.ws!);
    const got: unknown[] = [];
    tcp.on('message', (v) => got.push(v));
    ws.on('message', (v) => got.push(v));
    tcp.send('a');
    ws.send('b');
    await expect.poll(() => got).toHaveLength(2);
    expect(got).toEqual(
      expect.arrayContaining([
        { echo: 'a', via: 'tcp' },
        { echo: 'b', via: 'ws' },
      ]),
    );
  });

  it('makes server → client requests on every transport, settled once, answered across a reconnect', async () => {
    const server = await start(allTransports());
    const peers: Peer[] = [];
    server.on('connection', (peer) => peers.push(peer));
    const all = await connectAll(server);
    for (const [name, c] of Object.entries(all)) {
      c.handle('whoami', (params) => ({ name, params }));
      c.handle('fail', () => {
        throw new RemoteError('E_CLIENT', 'no', { data: [name] });
      });
    }
    await expect.poll(() => peers.length).toBe(4);
    for (const peer of peers) {
      await expect(peer.request('whoami', 1)).resolves.toEqual({ name: peer.transport, params: 1 });
      await expect(peer.request('fail')).rejects.toMatchObject({
        code: 'ERR_REMOTE',
        remoteCode: 'E_CLIENT',
        message: 'no',
        data: [peer.transport],
      });
      await expect(peer.request('nothing')).rejects.toMatchObject({ remoteCode: 'ERR_UNKNOWN_METHOD' });
    }
    const tcpPeer = peers.find((p) => p.transport === 'tcp')!;
    let finish!: (v: unknown) => void;
    all.tcp.handle('slow', () => new Promise((resolve) => (finish = resolve)));
    const slow = tcpPeer.request('slow');
    await sleep(20);
    all.tcp.reconnect();
    finish('after the reconnect');
    await expect(slow).resolves.toBe('after the reconnect');
    // After the resume the same Peer reaches the client again.
    await all.tcp.opened;
    await expect.poll(() => tcpPeer.connected).toBe(true);
    await expect(tcpPeer.request('whoami', 2)).resolves.toEqual({ name: 'tcp', params: 2 });
  });

  it('emits disconnect with reason close when a client closes, and connection only once across a resume', async () => {
    const server = await start({ tcp: {} });
    const events: string[] = [];
    server.on('connection', (p, info) => events.push(`connection ${p.id} ${info.resumed}`));
    server.on('disconnect', (p, info) => events.push(`disconnect ${p.id} ${info.reason}`));
    const c = client(server.addresses.tcp!);
    await c.opened;
    await expect.poll(() => events.length).toBe(1);
    // Kill the transport under the session: the client resumes, no new `connection`.
    const before = server.metrics().resumes;
    for (const p of server.peers.values()) peerDriver().session(p).close(1001, 'bounce', 0);
    await expect.poll(() => server.metrics().resumes).toBe(before + 1);
    expect(events).toHaveLength(1);
    // peer.id is the session's public id: not the client's resume secret.
    const id = publicIdOf(c.sessionId!);
    expect(id).not.toBe(c.sessionId);
    expect([...server.peers.keys()]).toEqual([id]);
    await c.close();
    await expect.poll(() => events).toEqual([`connection ${id} false`, `disconnect ${id} close`]);
    expect(server.peers.size).toBe(0);
  });
});

describe('createServer: TLS, authentication, origins', () => {
  it('refuses a TLS client that does not trust the self-signed certificate, accepts one given the ca', async () => {
    const server = await start(allTransports());
    const errors: Error[] = [];
    const untrusting = client(server.addresses.tls!, { reconnect: false });
    untrusting.on('error', (e) => errors.push(e));
    await expect(untrusting.opened).rejects.toBeDefined();
    expect(server.peers.size).toBe(0);
    await expect.poll(() => server.metrics().handshakeFailures).toBeGreaterThanOrEqual(1);
    const trusting = client(server.addresses.tls!, { tls: { ca: testCert().cert } });
    await trusting.opened;
    expect(server.peers.size).toBe(1);
  });

  it('passes the HELLO and the connection to authenticate, keeps its result as peer.user, refuses on throw', async () => {
    const seen: Array<{ transport: string; remoteAddress: string }> = [];
    const server = await start({
      ...allTransports(),
      authenticate(hello, info) {
        seen.push(info);
        if (hello.token !== 'good') throw new Error('bad token');
        return { name: 'alice' };
      },
    });
    const users: unknown[] = [];
    server.on('connection', (peer) => users.push(peer.user));
    const a = server.addresses;
    const ok = [
      client(a.tcp!, { token: 'good' }),
      client(a.ws!, { token: 'good' }),
      client(a.udp!, { token: 'good', reliable: true }),
    ];
    await Promise.all(ok.map((c) => c.opened));
    expect(users).toEqual([{ name: 'alice' }, { name: 'alice' }, { name: 'alice' }]);
    expect(new Set(seen.map((s) => s.transport))).toEqual(new Set(['tcp', 'ws', 'udp']));
    expect(seen.every((s) => s.remoteAddress === '127.0.0.1')).toBe(true);

    const bad = client(a.tcp!, { token: 'evil', reconnect: false });
    const errors: Array<{ code?: string }> = [];
    bad.on('error', (e) => errors.push(e));
    await expect(bad.opened).rejects.toBeDefined();
    expect(errors.some((e) => e.code === ErrorCodes.AUTH_FAILED)).toBe(true);
    expect(server.peers.size).toBe(3);
  });

  it('refuses a WebSocket upgrade from an Origin outside the allow-list with 403', async () => {
    const server = await start({ ws: { origins: ['https://good.example'], path: '/live' } });
    const url = server.addresses.ws!;
    expect(url).toMatch(/\/live$/);
    const attempt = (origin: string | undefined): Promise<string> =>
      new Promise((resolve) => {
        const ws = new WebSocket(url, origin === undefined ? {} : { origin });
        ws.on('open', () => {
          ws.terminate();
          resolve('open');
        });
        ws.on('unexpected-response', (_req, res) => {
          resolve(String(res.statusCode));
          ws.terminate();
        });
        ws.on('error', () => {});
      });
    expect(await attempt('https://evil.example')).toBe('403');
    expect(await attempt('https://good.example')).toBe('open');
    expect(await attempt(undefined)).toBe('open'); // non-browser clients send no Origin
    const wrongPath = await new Promise<string>((resolve) => {
      const ws = new WebSocket(url.replace('/live', '/other'));
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.on('error', () => {});
    });
    expect(wrongPath).toBe('404');
  });
});

describe('createServer: limits', () => {
  it('survives a flood over maxConnections: at most 20 connections, no sessions, then serves a real client', async () => {
    const server = await start({ tcp: {}, maxConnections: 20 });
    const port = Number(new URL(server.addresses.tcp!).port);
    let closedByServer = 0;
    for (let i = 0; i < 100; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.resume(); // read (and drop) the CLOSE 1013 of a refusal, so the FIN is seen
      s.on('error', () => {});
      s.on('close', () => closedByServer++);
      rawSockets.push(s);
    }
    await expect.poll(() => closedByServer).toBe(80);
    const m = server.metrics();
    expect(m.connections.tcp).toBe(20);
    expect(m.rejected).toBe(80);
    expect(m.sessions).toBe(0);
    for (const s of rawSockets.splice(0)) s.destroy();
    await expect.poll(() => server.metrics().connections.tcp).toBe(0);
    server.handle('ping', () => 'pong');
    const c = client(server.addresses.tcp!);
    await expect(c.request('ping', null)).resolves.toBe('pong');
  });

  it('enforces maxConnectionsPerIp and maxPendingHandshakes, and closes connections that never send HELLO', async () => {
    const server = await start({
      tcp: {},
      maxConnectionsPerIp: 5,
      maxPendingHandshakes: 3,
      handshakeTimeout: 300,
    });
    const port = Number(new URL(server.addresses.tcp!).port);
    let closed = 0;
    for (let i = 0; i < 6; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.resume(); // read (and drop) the CLOSE frame, so the FIN is seen
      s.on('error', () => {});
      s.on('close', () => closed++);
      rawSockets.push(s);
    }
    // 3 pending at most: 3 refused at once, the other 3 closed by the handshake deadline.
    await expect.poll(() => closed).toBe(3);
    expect(server.metrics().connections.tcp).toBe(3);
    await expect.poll(() => closed, { timeout: 3_000 }).toBe(6);
    // The client may see its socket close before the server has counted the failure.
    await expect.poll(() => server.metrics().handshakeFailures).toBe(3);
  });

  it('holds 2,000 concurrent TCP sessions of real clients', { timeout: 60_000 }, async () => {
    const N = 2_000;
    const server = await start({ tcp: {}, maxConnectionsPerIp: 5_000, maxPendingHandshakes: 5_000 });
    const t0 = Date.now();
    const many = Array.from({ length: N }, () => client(server.addresses.tcp!));
    await Promise.all(many.map((c) => c.opened));
    await expect.poll(() => server.peers.size, { timeout: 20_000 }).toBe(N);
    const opened = Date.now() - t0;
    expect(server.metrics().connections.tcp).toBe(N);
    expect(server.broadcast('hello all')).toBe(N);
    let got = 0;
    for (const c of many) c.on('message', () => got++);
    await expect.poll(() => got, { timeout: 20_000 }).toBe(N);
    console.log(`[server.test] ${N} protocol clients opened in ${opened} ms`);
  });
});

describe('createServer: graceful shutdown', () => {
  it('spreads reconnectAfter over the drain window', async () => {
    const server = await start({ tcp: {}, ws: {} });
    const delays: number[] = [];
    const many = Array.from({ length: 20 }, (_, i) =>
      client(i % 2 ? server.addresses.tcp! : server.addresses.ws!),
    );
    await Promise.all(many.map((c) => c.opened));
    // The first delay each client was given: a client whose delay ends before the server has
    // finished closing tries again at once and reports a second, ordinary backoff delay.
    for (const c of many) c.once('reconnecting', ({ delay }) => delays.push(delay));
    await server.close({ drain: true, window: 2_000 });
    await expect.poll(() => delays, { timeout: 5_000 }).toHaveLength(20);
    expect(delays.every((d) => d >= 0 && d < 2_000)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(10);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(500);
    await Promise.all(many.map((c) => c.close()));
  });

  it('waits for requests in flight before closing', async () => {
    const server = await start({ tcp: {} });
    server.handle('slow', async () => {
      await sleep(200);
      return 'done';
    });
    const c = client(server.addresses.tcp!);
    await c.opened;
    const answer = c.request('slow', null);
    await sleep(20);
    await server.close({ drain: true, window: 100 });
    await expect(answer).resolves.toBe('done');
  });

  it('loses and duplicates nothing while a client streams through a drain and a restart on the same port', async () => {
    const store = new MemorySessionStore();
    const received: number[] = [];
    const onConnection = (peer: Peer): void => {
      peer.on('message', (v) => received.push(v as number));
    };
    const first = await start({ tcp: {}, store });
    first.on('connection', onConnection);
    const port = Number(new URL(first.addresses.tcp!).port);
    const c = client(first.addresses.tcp!, {
      reconnect: { initialDelay: 10, maxDelay: 50 },
      outbox: { maxMessages: 10_000, maxBytes: 8 << 20 },
      replay: { maxMessages: 10_000 },
    });
    let resumed = 0;
    let lost = 0;
    c.on('session', (s) => {
      if (s.resumed) resumed++;
    });
    c.on('sessionlost', () => lost++);
    await c.opened;
    const COUNT = 3_000;
    const stream = (async () => {
      for (let n = 0; n < COUNT; n++) {
        c.send(n);
        if (n % 100 === 99) await sleep(5);
      }
    })();
    await sleep(40);
    await first.close({ drain: true, window: 200 });
    const second = await start({ tcp: { port }, store });
    second.on('connection', onConnection);
    await stream;
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(COUNT);
    expect(received).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    // The session continued on the new server: exactly one resume, never a new session.
    expect(resumed).toBe(1);
    expect(lost).toBe(0);
    store.clear();
  });

  it('leaves nothing behind: a child process with a server and a client exits by itself', async () => {
    const source = `
      import { createServer } from './src/node/server.ts';
      import { connect } from './src/node/index.ts';
      const server = createServer({ tcp: {}, ws: {}, udp: { reliable: true }, metricsInterval: 50 });
      const a = await server.listen();
      server.handle('x', () => 1);
      const clients = [connect(a.tcp), connect(a.ws), connect(a.udp, { reliable: true })];
      await Promise.all(clients.map((c) => c.request('x', null)));
      const drain = process.argv[2] === 'drain';
      await Promise.all([server.close(drain ? { drain: true, window: 50 } : {}), ...clients.map((c) => c.close())]);
      console.log('closed');
    `;
    for (const mode of ['now', 'drain']) {
      const { stdout, stderr } = await runChild(source, { args: [mode], timeout: 8_000 });
      expect(stderr).toBe('');
      expect(stdout.trim()).toBe('closed');
    }
  });
});

describe('createServer: slow consumers', () => {
  it('drops volatile messages to a peer that stops reading, then disconnects it, while others are served', async () => {
    const server = await start({
      tcp: {},
      ws: {},
      maxOutboundBytes: 64 << 10,
      writeDeadline: 300,
      heartbeatInterval: 100,
      heartbeatTimeout: 5_000,
    });
    server.handle('ping', () => 'pong');
    const peers: Peer[] = [];
    server.on('connection', (peer) => peers.push(peer));

    // A client that completes the handshake, then never reads again.
    const { encodeFrame } = await import('../../src/core/protocol/frames-encode.js');
    const { lengthFraming } = await import('../../src/core/framing/index.js');
    const framing = lengthFraming();
    const port = Number(new URL(server.addresses.tcp!).port);
    const slow = net.connect(port, '127.0.0.1');
    rawSockets.push(slow);
    slow.on('error', () => {});
    const slowClosed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.write(framing.encode(encodeFrame({ type: 'hello', versions: [2], capabilities: 7, codec: 'json' })));
    await expect.poll(() => peers.length).toBe(1);
    slow.pause();

    const healthy = client(server.addresses.ws!);
    await healthy.opened;
    const chunk = 'x'.repeat(64 << 10);
    for (let i = 0; i < 300 && server.metrics().slowConsumers === 0; i++) {
      peers[0]!.send(chunk);
      server.broadcast({ tick: i }, { volatile: true });
      if (i % 20 === 0) expect(await healthy.request('ping')).toBe('pong');
      await sleep(5);
    }
    await expect.poll(() => server.metrics().slowConsumers, { timeout: 5_000 }).toBe(1);
    await expect.poll(() => server.metrics().connections.tcp).toBe(0);
    // Once it reads again it finds the connection gone.
    slow.resume();
    await slowClosed;
    expect(server.metrics().drops).toBeGreaterThan(0);
    expect(await healthy.request('ping')).toBe('pong');
  });
});

describe('createServer: WebSocket details, peer.close and metrics', () => {
  it('attaches to an existing http server at a path, leaving other paths and requests to it', async () => {
    const http = await import('node:http');
    const httpServer = http.createServer((_req, res) => res.end('plain http'));
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    try {
      const server = await start({ ws: { server: httpServer, path: '/sockline' } });
      expect(server.addresses.ws).toMatch(/\/sockline$/);
      const c = client(server.addresses.ws!);
      await c.opened;
      const { port } = httpServer.address() as net.AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(await res.text()).toBe('plain http');
    } finally {
      await Promise.all(servers.splice(0).map((s) => s.close()));
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    }
  });

  it('refuses a WebSocket message split into more fragments than the limit', async () => {
    const server = await start({ ws: {} });
    const ws = new WebSocket(server.addresses.ws!);
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('error', () => {});
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    for (let i = 0; i < 2000 && ws.readyState === ws.OPEN; i++) ws.send(new Uint8Array([0]), { fin: false });
    expect(await closed).toBeGreaterThanOrEqual(1002);
    const c = client(server.addresses.ws!);
    await c.opened;
  });

  it('peer.close() ends the session for good and emits disconnect; metrics are emitted periodically', async () => {
    const server = await start({ tcp: {}, metricsInterval: 50 });
    const snapshots: number[] = [];
    server.on('metrics', (m) => snapshots.push(m.sessions));
    const reasons: string[] = [];
    server.on('disconnect', (_peer, info) => reasons.push(info.reason));
    let peer: Peer | undefined;
    server.on('connection', (p) => (peer = p));
    const c = client(server.addresses.tcp!, { reconnect: false });
    await c.opened;
    await expect.poll(() => snapshots.length).toBeGreaterThanOrEqual(2);
    expect(snapshots.at(-1)).toBe(1);
    const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
    peer!.close();
    await closed;
    await expect.poll(() => reasons).toEqual(['kicked']);
    expect(server.metrics().sessions).toBe(0);
  });
});
