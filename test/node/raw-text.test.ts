import * as dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/node/index.js';
import type { Link, LinkMessage } from '../../src/core/link/link.js';
import type { RawConnectOptions } from '../../src/core/connect-options.js';
import { findFreePort } from '../support/peers.js';
import { tcpServer, type Scripted } from '../support/scripted-servers.js';
import { waitState } from '../support/wait.js';

/**
 * Raw mode's text and binary rules, the same on every transport: `text: true` gives strings
 * (invalid UTF-8 refused with ERR_BAD_PAYLOAD, never U+FFFD), `text: false` gives bytes, never
 * decoded; and a payload the transport can never carry is refused at send() in every state.
 */

const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const INVALID = Buffer.from([0xff, 0xfe, 0x00, 0x41]);

/** A message as a plain array of bytes (a Buffer and a Uint8Array compare equal), or the string. */
const plain = (m: LinkMessage): string | number[] => (typeof m === 'string' ? m : Array.from(m));

function open(
  url: string,
  options: Omit<RawConnectOptions, 'protocol'> = {},
): {
  link: Link;
  messages: LinkMessage[];
  errors: string[];
  disconnects: () => number;
} {
  const link = connect(url, { reconnect: { initialDelay: 20, maxDelay: 50 }, ...options, protocol: 'raw' });
  closers.push(() => link.close());
  const messages: LinkMessage[] = [];
  const errors: string[] = [];
  let disconnects = 0;
  link.on('message', (m) => messages.push(m));
  link.on('error', (e) => errors.push(e.code));
  link.on('disconnect', () => disconnects++);
  return { link, messages, errors, disconnects: () => disconnects };
}

async function started<S extends Scripted>(server: Promise<S>): Promise<S> {
  const s = await server;
  closers.push(() => s.close());
  return s;
}

describe('lines over tcp://', () => {
  const sending = (chunks: Buffer[]): Promise<Scripted> =>
    started(tcpServer((socket) => socket.write(Buffer.concat(chunks))));

  it('is text by default: an invalid line is refused with ERR_BAD_PAYLOAD, not turned into U+FFFD, and the stream goes on', async () => {
    const server = await sending([Buffer.from('ok\n'), INVALID, Buffer.from('\nnext\r\n')]);
    const c = open(server.url, { framing: 'lines' });
    await expect.poll(() => c.messages).toEqual(['ok', 'next']);
    expect(c.errors).toEqual(['ERR_BAD_PAYLOAD']);
    expect(c.disconnects()).toBe(0);
  });

  it('with text: false, bytes stay bytes', async () => {
    const server = await sending([INVALID, Buffer.from('\n')]);
    const c = open(server.url, { framing: 'lines', text: false });
    await expect.poll(() => c.messages.length).toBe(1);
    expect(c.messages[0]).toBeInstanceOf(Uint8Array);
    expect(plain(c.messages[0]!)).toEqual([...INVALID]);
    expect(c.errors).toEqual([]);
  });

  it("sends '\\n' by default and '\\r\\n' when that is the delimiter", async () => {
    const received: string[] = [];
    const server = await started(
      tcpServer((socket) => socket.on('data', (d) => received.push(d.toString()))),
    );
    const lf = open(server.url, { framing: 'lines' });
    await lf.link.opened;
    lf.link.send('a');
    const crlf = open(server.url, { framing: { type: 'lines', delimiter: '\r\n' } });
    await crlf.link.opened;
    crlf.link.send('b');
    await expect.poll(() => received.sort()).toEqual(['a\n', 'b\r\n']);
  });

  it('refuses a payload holding the delimiter at send() while open, connecting and reconnecting', async () => {
    const server = await started(tcpServer(() => {}));
    const c = open(server.url, { framing: 'lines' });
    c.link.on('drop', () => expect.unreachable('nothing is queued to be dropped later'));
    expect(c.link.state).toBe('connecting');
    expect(() => c.link.send('a\nb')).toThrow(expect.objectContaining({ code: 'ERR_BAD_PAYLOAD' }));
    await c.link.opened;
    expect(() => c.link.send('a\nb')).toThrow(expect.objectContaining({ code: 'ERR_BAD_PAYLOAD' }));
    await server.close();
    await waitState(c.link, 'reconnecting');
    expect(() => c.link.send('a\nb')).toThrow(expect.objectContaining({ code: 'ERR_BAD_PAYLOAD' }));
    expect(c.link.queued).toBe(0);
  });
});

describe('datagrams over udp://', () => {
  async function udpServer(reply: Buffer[]): Promise<string> {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (_m, from) => {
      for (const r of reply) socket.send(r, from.port, from.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    return `udp://127.0.0.1:${(socket.address() as AddressInfo).port}`;
  }

  it('text: true gives strings and refuses invalid UTF-8, as on streams', async () => {
    const url = await udpServer([Buffer.from('hé'), INVALID, Buffer.from('ok')]);
    const c = open(url, { text: true });
    await c.link.opened;
    c.link.send('go');
    await expect.poll(() => c.messages).toEqual(['hé', 'ok']);
    expect(c.errors).toEqual(['ERR_BAD_PAYLOAD']);
  });

  it('by default gives bytes, never decoded', async () => {
    const url = await udpServer([INVALID]);
    const c = open(url);
    await c.link.opened;
    c.link.send('go');
    await expect.poll(() => c.messages.map(plain)).toEqual([[...INVALID]]);
    expect(c.messages[0]).toBeInstanceOf(Uint8Array);
  });

  it('refuses a datagram over maxDatagramSize at send(), before the socket is open too', async () => {
    const port = await findFreePort();
    const c = open(`udp://127.0.0.1:${port}`, { maxDatagramSize: 8 });
    expect(c.link.state).toBe('connecting');
    expect(() => c.link.send('123456789')).toThrow(
      expect.objectContaining({ code: 'ERR_DATAGRAM_TOO_LARGE' }),
    );
    expect(c.link.queued).toBe(0);
  });
});

describe('messages over ws://', () => {
  async function wsServer(): Promise<string> {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => {
      ws.send('text frame');
      ws.send(Buffer.from('binary frame'));
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    closers.push(() => new Promise((resolve) => wss.close(resolve)));
    closers.push(() => wss.clients.forEach((c) => c.terminate()));
    return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  }

  it('by default gives each frame as it is: text as a string, binary as bytes', async () => {
    const c = open(await wsServer());
    await expect.poll(() => c.messages.length).toBe(2);
    expect(c.messages.map(plain)).toEqual(['text frame', [...Buffer.from('binary frame')]]);
    expect(c.messages[1]).toBeInstanceOf(Uint8Array);
  });

  it('text: true gives strings, text: false bytes, whatever the frame', async () => {
    const url = await wsServer();
    const text = open(url, { text: true });
    const bytes = open(url, { text: false });
    await expect.poll(() => text.messages.length + bytes.messages.length).toBe(4);
    expect(text.messages).toEqual(['text frame', 'binary frame']);
    expect(bytes.messages.map((m) => new TextDecoder().decode(m as Uint8Array))).toEqual([
      'text frame',
      'binary frame',
    ]);
    expect(bytes.messages.every((m) => m instanceof Uint8Array)).toBe(true);
  });
});
