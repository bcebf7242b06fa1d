import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect } from '../../src/node/index.js';
import type { DisconnectInfo } from '../../src/core/link/options.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { decodeFrame } from '../../src/core/protocol/frames-decode.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import { SUPPORTED_VERSIONS } from '../../src/core/protocol/frames.js';
import { createServer, type Peer, type ServerOptions, type SocklineServer } from '../../src/node/server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { type ClientKind, clientLabel, connectAs, TRANSPORT_CLIENTS } from '../support/clients.js';

const servers: SocklineServer[] = [];
const clients: SocklineClient[] = [];
const proxies: TcpProxy[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function start(options: ServerOptions): Promise<SocklineServer> {
  const server = createServer(options);
  servers.push(server);
  await server.listen();
  return server;
}

/** A client that records what the application sees: every disconnect, error and deferral. */
function watched(
  url: string,
  kind: ClientKind = 'full',
): {
  client: SocklineClient;
  disconnects: DisconnectInfo[];
  /** Error codes emitted before the first disconnect. */
  errors: string[];
  deferred: number[];
} {
  const client = connectAs(kind, url, { reconnect: { initialDelay: 20, maxDelay: 100 } });
  clients.push(client);
  const disconnects: DisconnectInfo[] = [];
  const errors: string[] = [];
  const deferred: number[] = [];
  client.on('disconnect', (info) => disconnects.push(info));
  // What failed up to the first disconnect (the attempts after a server closed fail too).
  client.on('error', (error) => void (disconnects.length === 0 && errors.push(error.code)));
  client.on('deferred', ({ delay }) => deferred.push(delay));
  return { client, disconnects, errors, deferred };
}

describe('the close code and reason reach the application', () => {
  for (const [transport, kind] of TRANSPORT_CLIENTS) {
    const name = clientLabel(transport, kind);
    it(`a heartbeat timeout on the server is code 4004 and ERR_HEARTBEAT_TIMEOUT at the client, then a resume (${name})`, async () => {
      const server = await start({ [transport]: {}, heartbeatInterval: 100, heartbeatTimeout: 150 });
      const target = new URL(server.addresses[transport]!);
      const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(target.port) });
      proxies.push(proxy);
      const seen = watched(transport === 'tcp' ? proxy.url : proxy.wsUrl(target.pathname), kind);
      const sessions: boolean[] = [];
      seen.client.on('session', ({ resumed }) => sessions.push(resumed));
      await seen.client.opened;
      // The server hears nothing from the client any more; the client still hears the server.
      proxy.faults.lose = 'up';
      seen.client.once('disconnect', () => (proxy.faults.lose = null));
      await expect.poll(() => seen.disconnects.length, { timeout: 5000 }).toBeGreaterThan(0);
      expect(seen.disconnects[0]).toMatchObject({
        code: 4004,
        reason: expect.stringMatching(/^no frame for \d+ ms$/),
        error: { code: 'ERR_HEARTBEAT_TIMEOUT' },
        wasOpen: true,
      });
      expect(seen.errors).toContain('ERR_HEARTBEAT_TIMEOUT');
      await expect.poll(() => sessions).toEqual([false, true]);
    });

    it(`a draining server's CLOSE 1001 is the disconnect's code and reason, a deferral and no error (${name})`, async () => {
      const server = await start({ [transport]: {} });
      const seen = watched(server.addresses[transport]!, kind);
      await seen.client.opened;
      await server.close({ drain: true, window: 50 });
      await expect.poll(() => seen.disconnects.length).toBeGreaterThan(0);
      expect(seen.disconnects[0]).toEqual({
        code: 1001,
        reason: 'server shutting down',
        error: undefined,
        wasOpen: true,
      });
      expect(seen.deferred).toHaveLength(1);
      expect(seen.errors).toEqual([]);
    });

    it(`peer.close() ends the client: code 1000 and its reason, no reconnect (${name})`, async () => {
      const server = await start({ [transport]: {} });
      let peer: Peer | undefined;
      server.on('connection', (p) => (peer = p));
      const seen = watched(server.addresses[transport]!, kind);
      const closed = new Promise<Error | undefined>((resolve) =>
        seen.client.on('close', ({ error }) => resolve(error)),
      );
      await seen.client.opened;
      const pending = seen.client.request('never', undefined, { timeout: 5000 });
      const failed = pending.catch((err: { code: string }) => err.code);
      await expect.poll(() => peer).toBeDefined();
      peer!.close(1000, 'banned');
      expect(await closed).toMatchObject({
        code: 'ERR_CONNECTION_CLOSED',
        message: 'the server closed the connection (1000: banned)',
      });
      expect(seen.disconnects).toEqual([{ code: 1000, reason: 'banned', error: undefined, wasOpen: true }]);
      expect(seen.client.state).toBe('closed');
      expect(seen.errors).toEqual([]);
      expect(['ERR_CONNECTION_CLOSED', 'ERR_UNKNOWN_METHOD']).toContain(await failed);
    });
  }

  it("with reconnecting off, the client closes with the server's CLOSE as its error", async () => {
    const server = await start({ tcp: {}, heartbeatInterval: 100, heartbeatTimeout: 150 });
    const proxy = await startTcpProxy({
      host: '127.0.0.1',
      port: Number(new URL(server.addresses.tcp!).port),
    });
    proxies.push(proxy);
    const client = connect(proxy.url, { reconnect: false });
    clients.push(client);
    const closed = new Promise<Error | undefined>((resolve) =>
      client.on('close', ({ error }) => resolve(error)),
    );
    client.on('error', () => {});
    await client.opened;
    proxy.faults.lose = 'up';
    expect(await closed).toMatchObject({
      code: 'ERR_HEARTBEAT_TIMEOUT',
      message: expect.stringMatching(/^the server closed the connection \(4004: no frame for \d+ ms\)$/),
    });
  });

  it('closes the WebSocket with the CLOSE frame code and reason, for any client', async () => {
    const server = await start({ ws: {} });
    const ws = new WebSocket(server.addresses.ws!);
    ws.binaryType = 'nodebuffer';
    const frames: string[] = [];
    const closed = new Promise<[number, string]>((resolve) =>
      ws.on('close', (code, reason) => resolve([code, reason.toString()])),
    );
    ws.on('message', (data: Buffer) => frames.push(decodeFrame(new Uint8Array(data)).type));
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    ws.send(
      encodeFrame({ type: 'hello', versions: [...SUPPORTED_VERSIONS], capabilities: 0, codec: 'json' }),
    );
    await expect.poll(() => frames).toEqual(['welcome']);
    const [peer] = [...server.peers.values()];
    peer!.close(4321, 'x'.repeat(300));
    const [code, reason] = await closed;
    expect(frames).toEqual(['welcome', 'close']);
    expect(code).toBe(4321);
    // A WebSocket close reason holds 123 bytes at most (RFC 6455 §5.5).
    expect(reason).toBe('x'.repeat(123));
  });
});
