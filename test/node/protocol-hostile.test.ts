import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/node/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { lengthFraming } from '../../src/core/framing/index.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import { decodeFrame } from '../../src/core/protocol/frames-decode.js';
import { SUPPORTED_VERSIONS, type Frame } from '../../src/core/protocol/frames.js';
import { startProtocolServer, type ProtocolTestServer } from '../support/protocol-server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const framing = lengthFraming();
const hello = encodeFrame({
  type: 'hello',
  versions: [...SUPPORTED_VERSIONS],
  capabilities: 7,
  codec: 'json',
});

/** A raw TCP peer that speaks frames by hand and records what the server sends back. */
async function rawPeer(url: string): Promise<{ socket: net.Socket; frames: Frame[]; closed: Promise<void> }> {
  const { port } = new URL(url);
  const socket = net.connect(Number(port), '127.0.0.1');
  const frames: Frame[] = [];
  const decoder = framing.createDecoder((f) => frames.push(decodeFrame(f)));
  socket.on('data', (chunk) => decoder.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, frames, closed };
}

describe('a server session under hostile input', () => {
  let server: ProtocolTestServer | undefined;
  let proxy: TcpProxy | undefined;
  const clients: SocklineClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await proxy?.close();
    await server?.close();
    server = proxy = undefined;
  });

  const bystander = async (s: ProtocolTestServer): Promise<SocklineClient> => {
    s.handlers.set('echo', (p) => p);
    const c = connect(s.wsUrl);
    clients.push(c);
    await c.opened;
    return c;
  };

  const hostile: Array<[string, Uint8Array[]]> = [
    ['an unknown frame type', [framing.encode(new Uint8Array([0x7e, 0]))]],
    ['an endless varint', [framing.encode(new Uint8Array([0x30, 0, ...new Array(20).fill(0xff)]))]],
    ['a frame before HELLO', [framing.encode(encodeFrame({ type: 'ping', nonce: 1 }))]],
    ['a HELLO over the size cap', [framing.encode(new Uint8Array(20_000).fill(1))]],
    ['a length header of 0xFFFFFFFF', [new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2])]],
    [
      'JSON with a __proto__ key',
      [
        framing.encode(hello),
        framing.encode(
          encodeFrame({
            type: 'data',
            kind: 'value',
            payload: new TextEncoder().encode('{"__proto__":{"polluted":1}}'),
          }),
        ),
      ],
    ],
    [
      'JSON nested 100,000 deep',
      [
        framing.encode(hello),
        framing.encode(
          encodeFrame({
            type: 'data',
            kind: 'value',
            payload: new TextEncoder().encode('['.repeat(100_000) + ']'.repeat(100_000)),
          }),
        ),
      ],
    ],
    [
      'a sequence gap',
      [
        framing.encode(hello),
        framing.encode(encodeFrame({ type: 'data', seq: 5, kind: 'text', payload: new Uint8Array([104]) })),
      ],
    ],
  ];

  for (const [name, chunks] of hostile) {
    it(`closes a connection that sends ${name}, and other clients are unaffected`, async () => {
      server = await startProtocolServer();
      const other = await bystander(server);
      const peer = await rawPeer(server.tcpUrl);
      for (const c of chunks) peer.socket.write(c);
      await peer.closed;
      const close = peer.frames.find((f) => f.type === 'close');
      if (close) expect(close).toMatchObject({ type: 'close' });
      expect(server.received).toEqual([]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(await other.request('echo', { still: 'fine' })).toEqual({ still: 'fine' });
    });
  }

  it('closes a connection that never sends HELLO when the handshake deadline passes', async () => {
    server = await startProtocolServer({ handshakeTimeout: 100 });
    const peer = await rawPeer(server.tcpUrl);
    await peer.closed;
    expect(peer.frames.at(-1)).toMatchObject({ type: 'close', code: 4003 });
  });

  it('treats method, topic and event names such as __proto__ and constructor as plain names', async () => {
    server = await startProtocolServer();
    const client = await bystander(server);
    await expect(client.request('__proto__')).rejects.toMatchObject({ remoteCode: 'ERR_UNKNOWN_METHOD' });
    await expect(client.request('constructor')).rejects.toMatchObject({ remoteCode: 'ERR_UNKNOWN_METHOD' });
    const got: unknown[] = [];
    client.subscribe('__proto__', (v) => got.push(v));
    client.subscribe('constructor/+', (v) => got.push(v));
    await new Promise((r) => setTimeout(r, 20));
    client.publish('__proto__', 1);
    client.publish('constructor/error', 2);
    await expect.poll(() => got.length).toBe(2);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});

describe('heartbeats', () => {
  let server: ProtocolTestServer | undefined;
  let proxy: TcpProxy | undefined;
  let client: SocklineClient | undefined;
  afterEach(async () => {
    await client?.close();
    await proxy?.close();
    await server?.close();
  });

  it('both sides notice a black-holed link by the heartbeat, and the client resumes', async () => {
    server = await startProtocolServer({ heartbeatInterval: 150, heartbeatTimeout: 150 });
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(server.tcpUrl).port) });
    // A handshake started inside the black hole never completes: connectTimeout bounds it.
    client = connect(proxy.url, { reconnect: { initialDelay: 10, maxDelay: 50 }, connectTimeout: 500 });
    const got: unknown[] = [];
    client.on('message', (v) => got.push(v));
    await client.opened;
    const sessions: boolean[] = [];
    client.on('session', ({ resumed }) => sessions.push(resumed));
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    const state = [...server.sessions][0]!.session!;
    proxy.faults.blackHole = true;
    client.send('sent into the black hole');
    // Noticed by the heartbeat and nothing else: its own error first, and within 3 s, which
    // the defaults (10 s + 5 s) or TCP (minutes) cannot reach, while interval + timeout is 300 ms.
    await expect.poll(() => errors, { timeout: 3000 }).toContain('ERR_IDLE_TIMEOUT');
    expect(errors[0]).toBe('ERR_IDLE_TIMEOUT');
    await expect.poll(() => state.connection, { timeout: 3000 }).toBe(null);
    proxy.faults.blackHole = false;
    await expect.poll(() => sessions, { timeout: 3000 }).toContain(true);
    await expect.poll(() => server!.received.map((r) => r.value)).toEqual(['sent into the black hole']);
    expect(got).toEqual([]);
  });
});

describe('a client facing a misbehaving server', () => {
  it('ignores responses for unknown ids and duplicates, settles once, rejects an undecodable result, and reconnects after garbage', async () => {
    const sockets = new Set<net.Socket>();
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.on('error', () => {});
      const decoder = framing.createDecoder((bytes) => {
        const frame = decodeFrame(bytes);
        const send = (f: Frame): void => void socket.write(framing.encode(encodeFrame(f)));
        if (frame.type === 'hello') {
          send({
            type: 'welcome',
            version: 2,
            sessionId: `s${connections}`,
            resumed: false,
            heartbeatInterval: 10_000,
            heartbeatTimeout: 5_000,
            lastSeq: 0,
            maxFrameSize: 1 << 20,
            maxInFlight: 10,
            resumeWindow: 1000,
            maxMessageSize: 0,
            maxStreams: 0,
          });
        } else if (frame.type === 'request' && frame.method === 'bad') {
          send({
            type: 'response',
            id: frame.id,
            kind: 'value',
            payload: new TextEncoder().encode('{"__proto__":1}'),
          });
        } else if (frame.type === 'request') {
          const reply = new TextEncoder().encode('"once"');
          send({ type: 'response', id: 999, kind: 'value', payload: reply });
          send({ type: 'response', id: frame.id, kind: 'value', payload: reply });
          send({
            type: 'response',
            id: frame.id,
            kind: 'value',
            payload: new TextEncoder().encode('"twice"'),
          });
          // Then garbage: an unknown frame type.
          socket.write(framing.encode(new Uint8Array([0x7e, 0])));
        }
      });
      socket.on('data', (chunk) => decoder.push(chunk));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const client = connect(`tcp://127.0.0.1:${port}`, { reconnect: { initialDelay: 5 } });
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    try {
      expect(await client.request('anything')).toBe('once');
      await expect.poll(() => errors).toContain('ERR_PROTOCOL');
      await expect.poll(() => connections).toBeGreaterThanOrEqual(2);
      await client.opened;
      // A result that cannot be decoded fails that request only.
      await expect(client.request('bad')).rejects.toMatchObject({ code: 'ERR_BAD_PAYLOAD' });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    } finally {
      await client.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
