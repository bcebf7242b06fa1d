import * as net from 'node:net';
import * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import type { HelloInfo } from '../../src/core/protocol/server-session.js';
import {
  createServer,
  type AuthenticateInfo,
  type Peer,
  type SocklineServer,
} from '../../src/node/server.js';
import { serverPool } from './support/servers.js';
import { forwardedClient, forwardedFor, TrustedProxies } from '../../src/node/trust-proxy.js';
import { addressKey } from '../../src/node/addresses.js';
import { framed, helloBody } from '../reliability/support/raw-peer.js';
import { testCert } from '../support/tls-cert.js';
import { proxyVectors } from '../fixtures/proxy-headers.js';
import { rawUpgrade, serverFrames, streamPeer, wsFrame, type StreamPeer } from './support/sockets.js';

const { start, sockets } = serverPool();

describe('trustProxy: which addresses may speak for a client', () => {
  it('takes addresses and CIDR ranges, IPv4 and IPv6, and IPv4 clients of a dual-stack socket', () => {
    const trust = new TrustedProxies(['10.0.0.0/8', '192.0.2.7', 'fd00::/8', '::1']);
    expect(trust.has('10.255.0.1')).toBe(true);
    expect(trust.has('::ffff:10.1.2.3')).toBe(true);
    expect(trust.has('192.0.2.7')).toBe(true);
    expect(trust.has('192.0.2.8')).toBe(false);
    expect(trust.has('fd12:3456::1')).toBe(true);
    expect(trust.has('::1')).toBe(true);
    expect(trust.has('2001:db8::1')).toBe(false);
    expect(trust.has('not an address')).toBe(false);
    expect(new TrustedProxies().empty).toBe(true);
  });

  it('refuses entries that are not addresses or CIDRs, naming the option', () => {
    for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.1/8/1', '::1/129', '10.0.0.0/x', '']) {
      expect(() => new TrustedProxies([bad])).toThrow(RangeError);
      expect(() => new TrustedProxies([bad])).toThrow(/trustProxy/);
    }
    expect(() => new TrustedProxies('10.0.0.1' as never)).toThrow(TypeError);
    expect(() => createServer({ trustProxy: ['nope'] })).toThrow(/Invalid option trustProxy/);
  });

  it('counts IPv6 clients per /64 and IPv4 clients per address', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:bbbb::9'));
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
  });
});

describe('the client address of a WebSocket upgrade', () => {
  const trust = new TrustedProxies(['127.0.0.1', '10.0.0.0/8']);

  it('ignores Forwarded and X-Forwarded-For from an untrusted peer', () => {
    expect(forwardedClient('192.0.2.9', { 'x-forwarded-for': '203.0.113.1' }, trust)).toBe('192.0.2.9');
    expect(forwardedClient('192.0.2.9', { forwarded: 'for=203.0.113.1' }, trust)).toBe('192.0.2.9');
  });

  it('walks X-Forwarded-For back over trusted hops to the first untrusted one', () => {
    const xff = (value: string): string => forwardedClient('127.0.0.1', { 'x-forwarded-for': value }, trust);
    expect(xff('203.0.113.1')).toBe('203.0.113.1');
    expect(xff('198.51.100.1, 203.0.113.1, 10.0.0.5')).toBe('203.0.113.1'); // a client cannot forge past us
    expect(xff('10.0.0.9, 10.0.0.5')).toBe('10.0.0.9'); // all trusted: the farthest
    expect(xff('203.0.113.1:4711')).toBe('203.0.113.1');
    expect(xff('[2001:db8::1]:4711')).toBe('2001:db8::1');
    expect(xff('2001:db8::2')).toBe('2001:db8::2');
    expect(xff('unknown')).toBe('127.0.0.1'); // a hop that is no address ends the walk at the proxy
    expect(xff('203.0.113.1, garbage')).toBe('127.0.0.1');
    expect(xff('')).toBe('127.0.0.1');
  });

  it('prefers Forwarded (RFC 7239): quoted IPv6 with a port, several elements, other parameters', () => {
    const fwd = (value: string, xff?: string): string =>
      forwardedClient(
        '127.0.0.1',
        { forwarded: value, ...(xff === undefined ? {} : { 'x-forwarded-for': xff }) },
        trust,
      );
    expect(fwd('for=192.0.2.60;proto=http;by=203.0.113.43', '198.51.100.1')).toBe('192.0.2.60');
    expect(fwd('for="[2001:db8:cafe::17]:4711"')).toBe('2001:db8:cafe::17');
    expect(fwd('for=198.51.100.17, For="10.0.0.4";proto=https')).toBe('198.51.100.17');
    expect(fwd('for=_hidden, for=10.0.0.4')).toBe('10.0.0.4');
    expect(fwd('proto=https;by=10.0.0.1')).toBe('127.0.0.1');
    expect(forwardedFor('for=a;by=b, proto=x, for="c\\"d"')).toEqual(['a', '', 'c"d']);
  });
});

describe('trustProxy on a WebSocket listener', () => {
  it('gives peer.remoteAddress, authenticate and the per-address limits the forwarded client; authenticate sees the headers', async () => {
    const seen: Array<{ hello: HelloInfo; info: AuthenticateInfo }> = [];
    const server = await start({
      ws: {},
      trustProxy: ['127.0.0.1'],
      maxConnectionsPerIp: 1,
      authenticate: (hello, info) => {
        seen.push({ hello, info });
        return { user: 'u' };
      },
    });
    const peers: Peer[] = [];
    server.on('connection', (p: Peer) => peers.push(p));
    const open = async (headers: Record<string, string>, from = '127.0.0.1'): Promise<number> => {
      const up = await rawUpgrade(server.addresses.ws!, { headers, localAddress: from });
      sockets.push(up.socket);
      if (up.status !== 101) return up.status;
      let got = up.rest;
      up.socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
      up.socket.resume();
      up.socket.write(wsFrame(helloBody));
      await expect.poll(() => serverFrames(got).some((f) => f.type === 'welcome')).toBe(true);
      return 101;
    };
    expect(
      await open({
        'X-Forwarded-For': '203.0.113.7',
        Cookie: 'sid=abc',
        Authorization: 'Bearer t0k',
        Origin: 'https://app.example',
      }),
    ).toBe(101);
    expect(seen[0]!.info).toMatchObject({ transport: 'ws', remoteAddress: '203.0.113.7' });
    expect(seen[0]!.info.headers).toMatchObject({
      cookie: 'sid=abc',
      authorization: 'Bearer t0k',
      origin: 'https://app.example',
      'x-forwarded-for': '203.0.113.7',
    });
    expect(peers[0]!.remoteAddress).toBe('203.0.113.7');
    // Another client behind the same proxy: its own share of the per-address limit.
    expect(await open({ Forwarded: 'for="[2001:db8::5]:1234"' })).toBe(101);
    expect(peers[1]!.remoteAddress).toBe('2001:db8::5');
    // The first client again: over its share.
    expect(await open({ 'X-Forwarded-For': '203.0.113.7' })).toBe(429);
    // Not a trusted proxy: the header is ignored, the socket's address counts.
    expect(await open({ 'X-Forwarded-For': '198.51.100.1' }, '127.0.0.2')).toBe(101);
    expect(peers[2]!.remoteAddress).toBe('127.0.0.2');
  });

  it('gives authenticate no headers on TCP', async () => {
    const seen: AuthenticateInfo[] = [];
    const server = await start({ tcp: {}, authenticate: (_h, info) => void seen.push(info) });
    const p = await streamPeer(server.addresses.tcp!);
    sockets.push(p.socket);
    p.socket.write(framed(helloBody));
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]).toMatchObject({ transport: 'tcp', remoteAddress: '127.0.0.1', headers: undefined });
  });
});

const hex = (name: string): Buffer => Buffer.from(proxyVectors.find((v) => v.name === name)!.hex, 'hex');
const V1 = (source: string): Buffer => Buffer.from(`PROXY TCP4 ${source} 127.0.0.1 40000 7000\r\n`);

describe('PROXY protocol on TCP and TLS listeners', () => {
  async function proxied(server: SocklineServer, header: Buffer, from = '127.0.0.1'): Promise<StreamPeer> {
    const p = await streamPeer(server.addresses.tcp!, from);
    sockets.push(p.socket);
    p.socket.write(Buffer.concat([header, framed(helloBody)]));
    return p;
  }

  it('takes the client address from a v1 or v2 header sent with the first bytes', async () => {
    const server = await start({ tcp: { proxyProtocol: true }, trustProxy: ['127.0.0.0/8'] });
    const peers: Peer[] = [];
    server.on('connection', (p: Peer) => peers.push(p));
    for (const [header, address] of [
      [V1('198.51.100.20'), '198.51.100.20'],
      [hex('haproxy send-proxy-v2, TCP4'), '127.0.0.2'],
      [hex('haproxy send-proxy-v2, TCP6'), '::1'],
      [hex('v2 LOCAL (a health check), no address block'), '127.0.0.1'],
    ] as const) {
      const p = await proxied(server, header);
      await expect.poll(() => p.frames.some((f) => f.type === 'welcome')).toBe(true);
      expect(peers.at(-1)!.remoteAddress).toBe(address);
    }
    expect(server.metrics().proxyFailures).toBe(0);
  });

  it('takes a header split over many writes', async () => {
    const server = await start({ tcp: { proxyProtocol: true }, trustProxy: ['127.0.0.1'] });
    const peers: Peer[] = [];
    server.on('connection', (p: Peer) => peers.push(p));
    const p = await streamPeer(server.addresses.tcp!);
    sockets.push(p.socket);
    const bytes = Buffer.concat([V1('192.0.2.44'), framed(helloBody)]);
    for (const b of bytes) {
      p.socket.write(Uint8Array.of(b));
      await new Promise((r) => setImmediate(r));
    }
    await expect.poll(() => p.frames.some((f) => f.type === 'welcome')).toBe(true);
    expect(peers[0]!.remoteAddress).toBe('192.0.2.44');
  });

  it('refuses a connection from an address not in trustProxy, one without a header, and one that is late', async () => {
    const server = await start({
      tcp: { proxyProtocol: true },
      trustProxy: ['127.0.0.1'],
      handshakeTimeout: 300,
    });
    const untrusted = await proxied(server, V1('203.0.113.1'), '127.0.0.2');
    await untrusted.closed;
    const direct = await streamPeer(server.addresses.tcp!);
    sockets.push(direct.socket);
    direct.socket.write(framed(helloBody)); // a client that skipped the proxy
    await direct.closed;
    const late = await streamPeer(server.addresses.tcp!);
    sockets.push(late.socket);
    late.socket.write(Buffer.from('PROXY TCP4 '));
    // Half a header, then nothing: only the 300 ms deadline can end it. Waiting at most 5 s,
    // half the default deadline, tells that the configured one was applied.
    await expect.poll(() => late.isClosed, { timeout: 5_000 }).toBe(true);
    for (const p of [untrusted, direct, late]) expect(p.frames).toEqual([]);
    expect(server.peers.size).toBe(0);
    // The client may see its socket close before the server counted it.
    await expect
      .poll(() => server.metrics())
      .toMatchObject({ proxyFailures: 3, handshakeFailures: 3, pendingHandshakes: 0 });
  });

  it('counts the per-address limits by the address the header names, and refuses over them with CLOSE 1013', async () => {
    const server = await start({
      tcp: { proxyProtocol: true },
      trustProxy: ['127.0.0.1'],
      maxConnectionsPerIp: 1,
    });
    const a = await proxied(server, V1('198.51.100.1'));
    const b = await proxied(server, V1('198.51.100.2'));
    for (const p of [a, b]) await expect.poll(() => p.frames.some((f) => f.type === 'welcome')).toBe(true);
    const again = await proxied(server, V1('198.51.100.1'));
    await again.closed;
    expect(again.closeFrame()).toMatchObject({
      code: 1013,
      reason: expect.stringContaining('maxConnectionsPerIp'),
    });
  });

  it('reads the header before the TLS handshake on a TLS listener', async () => {
    const { cert, key } = testCert();
    const server = await start({ tls: { cert, key, proxyProtocol: true }, trustProxy: ['127.0.0.1'] });
    const peers: Peer[] = [];
    server.on('connection', (p: Peer) => peers.push(p));
    const { hostname, port } = new URL(server.addresses.tls!);
    const raw = net.connect(Number(port), hostname);
    sockets.push(raw);
    await new Promise((r) => raw.once('connect', r));
    raw.write(hex('haproxy send-proxy-v2, TCP4'));
    const secure = tls.connect({ socket: raw, ca: cert, servername: 'localhost' });
    secure.on('error', () => {});
    await new Promise((r) => secure.once('secureConnect', r));
    let got = Buffer.alloc(0);
    secure.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    secure.write(framed(helloBody));
    await expect.poll(() => got.length).toBeGreaterThan(4);
    expect(peers[0]!.remoteAddress).toBe('127.0.0.2');
    expect(peers[0]!.transport).toBe('tls');
  });

  it('ends connections still in their PROXY header or TLS handshake when the server closes', async () => {
    const { cert, key } = testCert();
    const server = createServer({
      tcp: { proxyProtocol: true },
      tls: { cert, key },
      trustProxy: ['127.0.0.1'],
      handshakeTimeout: 600_000,
    });
    await server.listen();
    const half = await streamPeer(server.addresses.tcp!);
    half.socket.write(Buffer.from('PROXY TCP4 '));
    const { hostname, port } = new URL(server.addresses.tls!);
    const silentTls = net.connect(Number(port), hostname);
    sockets.push(half.socket, silentTls);
    await new Promise((r) => silentTls.once('connect', r));
    await expect.poll(() => server.metrics().pendingHandshakes).toBe(2);
    // The deadline (10 minutes) is past the test's timeout: only close() can end them.
    await server.close();
    await half.closed;
  });

  it('refuses a PROXY listener without trustProxy, and a proxyProtocol that is not a boolean', () => {
    expect(() => createServer({ tcp: { proxyProtocol: true } })).toThrow(/tcp\.proxyProtocol.*trustProxy/);
    expect(() => createServer({ tls: { cert: '', key: '', proxyProtocol: true } })).toThrow(RangeError);
    expect(() => createServer({ tcp: { proxyProtocol: 'yes' as never }, trustProxy: ['::1'] })).toThrow(
      /Invalid option tcp\.proxyProtocol: yes/,
    );
  });
});
