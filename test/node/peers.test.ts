import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  isProcessGroupAlive,
  startNodeLineEcho,
  startNodeUdpEcho,
  startPythonWsEcho,
  startSocatTcpEcho,
  startSocatUdpEcho,
  type PeerHandle,
} from '../support/peers.js';

const HOST = '127.0.0.1';
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const peers: PeerHandle[] = [];
const track = async (started: Promise<PeerHandle>): Promise<PeerHandle> => {
  const peer = await started;
  peers.push(peer);
  return peer;
};
afterEach(async () => {
  await Promise.all(peers.splice(0).map((peer) => peer.close()));
});

// ---------------------------------------------------------------------------------------------
// Plain Node clients

interface TcpClient {
  socket: net.Socket;
  received(): string;
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  closed: Promise<void>;
}

async function tcpClient(port: number): Promise<TcpClient> {
  const socket = net.connect(port, HOST);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  let data = '';
  const listeners = new Set<() => void>();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    data += chunk;
    for (const listener of listeners) listener();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    received: () => data,
    closed,
    waitFor: (text, timeoutMs = 3_000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (data.includes(text)) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(data)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
  };
}

async function tcpEchoes(port: number, line = `hello ${Math.random()}\n`): Promise<void> {
  const client = await tcpClient(port);
  client.socket.write(line);
  await client.waitFor(line);
  expect(client.received()).toBe(line);
  client.socket.destroy();
}

function tcpConnectError(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error(`connected to ${port} although the peer is stopped`));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

interface UdpClient {
  socket: dgram.Socket;
  messages: Buffer[];
  send(data: string | Buffer): void;
  waitForCount(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function udpClient(port: number): Promise<UdpClient> {
  const socket = dgram.createSocket('udp4');
  socket.on('error', () => {}); // ICMP port unreachable while the peer is stopped
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  const messages: Buffer[] = [];
  socket.on('message', (msg) => messages.push(msg));
  return {
    socket,
    messages,
    send: (data) => socket.send(data, port, HOST),
    async waitForCount(count, timeoutMs = 3_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`expected ${count} datagrams, got ${messages.length}`);
        }
        await delay(5);
      }
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Sends probes until one is answered (a restarted peer may need a moment). */
async function udpEchoes(port: number): Promise<void> {
  const client = await udpClient(port);
  const payload = `ping ${Math.random()}`;
  client.send(payload);
  await client.waitForCount(1);
  expect(client.messages.map(String)).toEqual([payload]);
  await client.close();
}

async function udpIsSilent(port: number): Promise<void> {
  const client = await udpClient(port);
  client.send('anyone?');
  await delay(150);
  expect(client.messages).toHaveLength(0);
  await client.close();
}

function wsOpen(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function wsConnectError(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.terminate();
      reject(new Error(`opened ${url} although the peer is stopped`));
    });
    ws.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function wsEchoes(url: string): Promise<void> {
  const ws = await wsOpen(url);
  const received: Array<{ data: Buffer; isBinary: boolean }> = [];
  const two = new Promise<void>((resolve) =>
    ws.on('message', (data, isBinary) => {
      received.push({ data: data as Buffer, isBinary });
      if (received.length === 2) resolve();
    }),
  );
  ws.send('hello text');
  ws.send(new Uint8Array([0, 1, 2, 255]));
  await two;
  expect(received[0]!.isBinary).toBe(false);
  expect(received[0]!.data.toString('utf8')).toBe('hello text');
  expect(received[1]!.isBinary).toBe(true);
  expect([...received[1]!.data]).toEqual([0, 1, 2, 255]);
  await new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.close(1000);
  });
}

function expectGone(pid: number | undefined): void {
  expect(pid).toBeTypeOf('number');
  expect(() => process.kill(pid!, 0)).toThrowError(expect.objectContaining({ code: 'ESRCH' }));
  expect(isProcessGroupAlive(pid!)).toBe(false);
}

// ---------------------------------------------------------------------------------------------

describe.each([
  { name: 'node line echo', start: startNodeLineEcho, child: false },
  { name: 'socat TCP echo', start: startSocatTcpEcho, child: true },
])('$name', ({ start, child }) => {
  it('echoes lines on tcp://127.0.0.1:<port>', async () => {
    const peer = await track(start());
    expect(peer.url).toBe(`tcp://127.0.0.1:${peer.port}`);
    expect(peer.running).toBe(true);
    expect(peer.pid !== undefined).toBe(child);
    await tcpEchoes(peer.port);
  });

  it('stop() drops connections and refuses new ones; restart() serves the same port again', async () => {
    const peer = await track(start());
    const client = await tcpClient(peer.port);
    client.socket.write('before\n');
    await client.waitFor('before\n');
    const firstPid = peer.pid;

    await peer.stop();
    expect(peer.running).toBe(false);
    await client.closed;
    expect(await tcpConnectError(peer.port)).toBe('ECONNREFUSED');
    if (child) expectGone(firstPid);
    await peer.stop(); // stopping twice is harmless

    await peer.restart();
    expect(peer.running).toBe(true);
    if (child) expect(peer.pid).not.toBe(firstPid);
    await tcpEchoes(peer.port, 'after restart\n');

    // and once more, to be sure a restarted peer can be stopped and restarted again
    await peer.stop();
    expect(await tcpConnectError(peer.port)).toBe('ECONNREFUSED');
    await peer.restart();
    await tcpEchoes(peer.port, 'second restart\n');
  });

  it('close() releases everything, is idempotent, and forbids restart()', async () => {
    const peer = await track(start());
    const clients = await Promise.all([tcpClient(peer.port), tcpClient(peer.port), tcpClient(peer.port)]);
    await Promise.all(
      clients.map(async (c, i) => {
        c.socket.write(`client ${i}\n`);
        await c.waitFor(`client ${i}\n`);
      }),
    );
    const pid = peer.pid;
    await peer.close();
    await peer.close();
    await Promise.all(clients.map((c) => c.closed));
    expect(await tcpConnectError(peer.port)).toBe('ECONNREFUSED');
    if (child) expectGone(pid);
    await expect(peer.restart()).rejects.toThrow(/after close/);
  });
});

describe('node line echo specifics', () => {
  it('buffers a partial line and echoes only complete lines', async () => {
    const peer = await track(startNodeLineEcho());
    const client = await tcpClient(peer.port);
    client.socket.write('hel');
    await delay(50);
    expect(client.received()).toBe('');
    client.socket.write('lo\nwor');
    await client.waitFor('hello\n');
    await delay(50);
    expect(client.received()).toBe('hello\n');
    client.socket.write('ld\nthree\nfour\n');
    await client.waitFor('four\n');
    expect(client.received()).toBe('hello\nworld\nthree\nfour\n');
    client.socket.destroy();
  });
});

describe('socat TCP echo specifics', () => {
  it('echoes 4 MiB intact (no pipe deadlock) and serves concurrent connections', async () => {
    const peer = await track(startSocatTcpEcho());
    const big = 'x'.repeat(4 << 20) + '\n';
    const [a, b] = await Promise.all([tcpClient(peer.port), tcpClient(peer.port)]);
    a.socket.write(big);
    b.socket.write('small\n');
    await Promise.all([a.waitFor(big, 5_000), b.waitFor('small\n')]);
    expect(a.received().length).toBe(big.length);
    expect(b.received()).toBe('small\n');
    a.socket.destroy();
    b.socket.destroy();
  });
});

describe.each([
  { name: 'node UDP echo', start: startNodeUdpEcho, child: false },
  { name: 'socat UDP echo', start: startSocatUdpEcho, child: true },
])('$name', ({ start, child }) => {
  it('echoes datagrams on udp://127.0.0.1:<port>, boundaries kept', async () => {
    const peer = await track(start());
    expect(peer.url).toBe(`udp://127.0.0.1:${peer.port}`);
    expect(peer.pid !== undefined).toBe(child);
    const client = await udpClient(peer.port);
    client.send('one');
    await client.waitForCount(1);
    client.send('two');
    await client.waitForCount(2);
    client.send(Buffer.alloc(20_000, 7)); // above socat's default 8192-byte buffer
    await client.waitForCount(3);
    expect(client.messages.slice(0, 2).map(String)).toEqual(['one', 'two']);
    expect(client.messages[2]!.length).toBe(20_000);
    expect(client.messages[2]!.every((b) => b === 7)).toBe(true);
    await client.close();
  });

  it('stop() silences the port; restart() answers again on the same port', async () => {
    const peer = await track(start());
    const client = await udpClient(peer.port);
    client.send('before');
    await client.waitForCount(1);
    const firstPid = peer.pid;

    await peer.stop();
    expect(peer.running).toBe(false);
    if (child) expectGone(firstPid);
    await udpIsSilent(peer.port);

    await peer.restart();
    expect(peer.running).toBe(true);
    // the very same client socket gets answers from the restarted peer
    client.send('after');
    await client.waitForCount(2);
    expect(client.messages.map(String)).toEqual(['before', 'after']);
    await udpEchoes(peer.port);
    await client.close();
  });

  it('close() leaves nothing behind and is idempotent', async () => {
    const peer = await track(start());
    await udpEchoes(peer.port);
    const pid = peer.pid;
    await peer.close();
    await peer.close();
    if (child) expectGone(pid);
    await udpIsSilent(peer.port);
    await expect(peer.restart()).rejects.toThrow(/after close/);
  });
});

describe('socat UDP echo specifics', () => {
  it('answers two different client sockets, each with its own datagrams', async () => {
    const peer = await track(startSocatUdpEcho());
    const [a, b] = await Promise.all([udpClient(peer.port), udpClient(peer.port)]);
    for (let round = 0; round < 3; round++) {
      a.send(`a${round}`);
      b.send(`b${round}`);
    }
    await Promise.all([a.waitForCount(3), b.waitForCount(3)]);
    await delay(50);
    expect(a.messages.map(String).sort()).toEqual(['a0', 'a1', 'a2']);
    expect(b.messages.map(String).sort()).toEqual(['b0', 'b1', 'b2']);
    await Promise.all([a.close(), b.close()]);
  });

  it('answers 50 datagrams sent back to back by one client', async () => {
    const peer = await track(startSocatUdpEcho());
    const client = await udpClient(peer.port);
    const sent = Array.from({ length: 50 }, (_, i) => `msg-${i}`);
    for (const payload of sent) client.send(payload);
    await client.waitForCount(50, 5_000);
    await delay(50);
    // one process per datagram: every datagram comes back exactly once, not necessarily in order
    expect(client.messages.map(String).sort()).toEqual([...sent].sort());
    await client.close();
  });
});

describe('python websockets echo', () => {
  it('echoes text as text and binary as binary on ws://127.0.0.1:<port>', async () => {
    const peer = await track(startPythonWsEcho());
    expect(peer.url).toBe(`ws://127.0.0.1:${peer.port}`);
    expect(peer.pid).toBeTypeOf('number');
    await wsEchoes(peer.url);
  });

  it('stop() closes open sockets and refuses new ones; restart() serves the same port again', async () => {
    const peer = await track(startPythonWsEcho());
    const ws = await wsOpen(peer.url);
    ws.on('error', () => {});
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const firstPid = peer.pid;

    await peer.stop();
    expect([1001, 1006]).toContain(await closed);
    expectGone(firstPid);
    expect(await wsConnectError(peer.url)).toBe('ECONNREFUSED');

    await peer.restart();
    expect(peer.pid).not.toBe(firstPid);
    await wsEchoes(peer.url);
  });

  it('close() leaves no process behind', async () => {
    const peer = await track(startPythonWsEcho());
    const ws = await wsOpen(peer.url);
    ws.on('error', () => {});
    const pid = peer.pid;
    await peer.close();
    await peer.close();
    expectGone(pid);
    expect(await wsConnectError(peer.url)).toBe('ECONNREFUSED');
  });
});
