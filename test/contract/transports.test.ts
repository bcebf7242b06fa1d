import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import { ErrorCodes, isSocklineError, type SocklineError } from '../../src/core/errors.js';
import { MemoryServer, type MemoryServerEnd } from '../../src/core/memory-transport.js';
import { BrowserWsTransport, type WebSocketConstructor } from '../../src/core/websocket-transport.js';
import type { Transport, TransportHandlers } from '../../src/core/transport.js';
import { TcpTransport, type TcpTransportOptions } from '../../src/node/tcp-transport.js';
import { MAX_UDP_PAYLOAD, UdpTransport } from '../../src/node/udp-transport.js';
import { NodeWsTransport } from '../../src/node/ws-transport.js';
import { testCert } from '../support/tls-cert.js';
import {
  startTcpEchoServer,
  startTlsEchoServer,
  startUdpEchoServer,
  startWsEchoServer,
  unusedTcpPort,
  unusedUdpPort,
  type EchoServer,
  type UdpEchoServer,
} from '../support/transport-servers.js';
import {
  describeTransportContract,
  expectSameBytes,
  pattern,
  Recorder,
  settle,
  type ContractTarget,
} from './transport-contract.js';

const MIB = 1 << 20;

/** A contract target for a transport that talks to one of the echo servers. */
function socketTarget(
  kind: ContractTarget['kind'],
  abortIsError: boolean,
  start: () => Promise<EchoServer>,
  scheme: string,
  create: (url: URL, handlers: TransportHandlers, highWaterMark: number) => Transport,
): ContractTarget {
  let server: EchoServer | undefined;
  let unreachable = '';
  return {
    kind,
    abortIsError,
    async start() {
      server = await start();
      unreachable = `${scheme}://127.0.0.1:${await unusedTcpPort()}`;
    },
    open: (handlers, options) => create(new URL(server!.url), handlers, options?.highWaterMark ?? MIB),
    openUnreachable: (handlers) => create(new URL(unreachable), handlers, MIB),
    dropConnections: (how) => server!.dropConnections(how),
    close: async () => server?.close(),
  };
}

const tcpOptions = (highWaterMark: number, tls: TcpTransportOptions['tls']): TcpTransportOptions => ({
  highWaterMark,
  tls,
  keepAlive: false,
});

describeTransportContract('tcp', () =>
  socketTarget(
    'stream',
    true,
    startTcpEchoServer,
    'tcp',
    (url, h, hwm) => new TcpTransport(url, h, tcpOptions(hwm, false)),
  ),
);

describeTransportContract('tls', () =>
  // An RST on the TCP socket under TLS reaches the client as ECONNRESET, as with plain TCP.
  socketTarget(
    'stream',
    true,
    () => startTlsEchoServer(testCert()),
    'tls',
    (url, h, hwm) => new TcpTransport(url, h, tcpOptions(hwm, { ca: testCert().cert })),
  ),
);

describeTransportContract('ws', () =>
  socketTarget(
    'message',
    true,
    startWsEchoServer,
    'ws',
    (url, h, highWaterMark) => new NodeWsTransport(url, h, { highWaterMark }),
  ),
);

describeTransportContract('browser-ws', () =>
  socketTarget(
    'message',
    true,
    startWsEchoServer,
    'ws',
    (url, h, highWaterMark) =>
      new BrowserWsTransport(url, h, {
        highWaterMark,
        WebSocket: WsWebSocket as unknown as WebSocketConstructor,
        drainPollInterval: 5,
      }),
  ),
);

describeTransportContract('udp', () => {
  let server: UdpEchoServer | undefined;
  let unreachable = '';
  const create = (url: string, handlers: TransportHandlers, highWaterMark = MIB): Transport =>
    new UdpTransport(new URL(url), handlers, { highWaterMark, maxMessageSize: 1200 });
  return {
    kind: 'datagram',
    abortIsError: false, // no connection to abort: the suite declares no peer-close cases for datagrams
    async start() {
      server = await startUdpEchoServer();
      unreachable = `udp://127.0.0.1:${await unusedUdpPort()}`;
    },
    open: (handlers, options) => create(server!.url, handlers, options?.highWaterMark),
    openUnreachable: (handlers) => create(unreachable, handlers),
    close: async () => server?.close(),
  };
});

/** A memory server whose server ends echo what they receive. */
function memoryEcho(options?: ConstructorParameters<typeof MemoryServer>[0]): MemoryServer {
  const server = new MemoryServer(options);
  server.onConnection = (end) => {
    end.onData = (data) => end.send(data);
  };
  return server;
}

for (const kind of ['stream', 'message'] as const) {
  describeTransportContract(`memory (${kind})`, () => {
    const server = memoryEcho({ kind });
    const refusing = new MemoryServer({ kind });
    refusing.refusing = true;
    const url = new URL('tcp://memory:1');
    return {
      kind,
      abortIsError: true,
      start: async () => {},
      open: (handlers, options) =>
        server.connect(url, handlers, { highWaterMark: options?.highWaterMark ?? MIB }),
      openUnreachable: (handlers) => refusing.connect(url, handlers, { highWaterMark: MIB }),
      dropConnections: (how) => (how === 'end' ? server.closeAll() : server.resetAll()),
      close: async () => server.resetAll(),
    };
  });
}

describe('tls transport', () => {
  let server: EchoServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('refuses a self-signed certificate by default: ERR_TRANSPORT, wasOpen false', async () => {
    server = await startTlsEchoServer(testCert());
    const rec = new Recorder();
    new TcpTransport(new URL(server.url), rec.handlers, tcpOptions(MIB, {}));
    const info = await rec.closed();
    expect(info.wasOpen).toBe(false);
    expect(isSocklineError(info.error, ErrorCodes.TRANSPORT)).toBe(true);
    expect((info.error?.cause as { code?: string }).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(rec.events.map((e) => e.type)).toEqual(['close']);
  });

  it('checks the name: a certificate for localhost does not pass for another servername', async () => {
    server = await startTlsEchoServer(testCert());
    const rec = new Recorder();
    const tls = { ca: testCert().cert, servername: 'example.com' };
    new TcpTransport(new URL(server.url), rec.handlers, tcpOptions(MIB, tls));
    const info = await rec.closed();
    expect(info.wasOpen).toBe(false);
    expect((info.error?.cause as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });
});

describe('browser-ws transport', () => {
  it('reports a WebSocket constructor that throws (mixed content, blocked port) as a failed attempt', async () => {
    const rec = new Recorder();
    const Throwing = function () {
      throw new DOMException('insecure WebSocket from an https page', 'SecurityError');
    } as unknown as WebSocketConstructor;
    const t = new BrowserWsTransport(new URL('ws://127.0.0.1:1'), rec.handlers, {
      highWaterMark: MIB,
      WebSocket: Throwing,
    });
    expect(rec.events).toEqual([]); // never inside the factory
    expect(t.send('x')).toBe(false);
    const info = await rec.closed();
    expect(info.wasOpen).toBe(false);
    expect(isSocklineError(info.error, ErrorCodes.TRANSPORT)).toBe(true);
    expect((info.error?.cause as DOMException).name).toBe('SecurityError');
    t.close();
    t.destroy();
    expect(rec.count('close')).toBe(1);
  });
});

describe('udp transport', () => {
  let server: UdpEchoServer | undefined;
  let transport: Transport | undefined;
  afterEach(async () => {
    transport?.destroy();
    await server?.close();
    server = transport = undefined;
  });

  async function openUdp(rec: Recorder, maxMessageSize = 1200): Promise<Transport> {
    server = await startUdpEchoServer();
    transport = new UdpTransport(new URL(server.url), rec.handlers, { highWaterMark: MIB, maxMessageSize });
    await rec.opened();
    return transport;
  }

  function tooLarge(send: () => unknown): SocklineError {
    try {
      send();
    } catch (err) {
      return err as SocklineError;
    }
    throw new Error('send() did not throw');
  }

  it('throws ERR_DATAGRAM_TOO_LARGE synchronously for a datagram over maxMessageSize, and sends nothing', async () => {
    const rec = new Recorder();
    const t = await openUdp(rec);
    expect(t.maxMessageSize).toBe(1200);
    const err = tooLarge(() => t.send(pattern(1201)));
    expect(isSocklineError(err, ErrorCodes.DATAGRAM_TOO_LARGE)).toBe(true);
    expect(err.message).toMatch(/1201 bytes.*1200/);
    // Strings count in UTF-8 bytes: 401 characters of 3 bytes each are 1203 bytes.
    const err2 = tooLarge(() => t.send('✓'.repeat(401)));
    expect(isSocklineError(err2, ErrorCodes.DATAGRAM_TOO_LARGE)).toBe(true);
    expect(t.bufferedAmount).toBe(0);
    // The next datagram that fits is the first (and only) one the server sees.
    expect(t.send(pattern(1200))).toBe(true);
    await rec.received('datagram', 1);
    expect(rec.bytes).toEqual(pattern(1200));
    expect(server!.received).toBe(1);
    expect(rec.count('close')).toBe(0);
  });

  it('takes maxMessageSize up to 65507 bytes, and refuses a value outside 1..65507', async () => {
    const rec = new Recorder();
    const t = await openUdp(rec, MAX_UDP_PAYLOAD);
    expect(t.send(pattern(60_000))).toBe(true);
    await rec.received('datagram', 1);
    expectSameBytes(rec.bytes, pattern(60_000));
    for (const bad of [0, 65508, 1.5, Number.NaN]) {
      expect(
        () =>
          new UdpTransport(new URL(server!.url), rec.handlers, { highWaterMark: MIB, maxMessageSize: bad }),
      ).toThrow(RangeError);
    }
  });

  it('stays usable after a soft ECONNREFUSED: it echoes once a server binds the port', async () => {
    const port = await unusedUdpPort();
    const rec = new Recorder();
    transport = new UdpTransport(new URL(`udp://127.0.0.1:${port}`), rec.handlers, {
      highWaterMark: MIB,
      maxMessageSize: 1200,
    });
    await rec.opened();
    transport.send(pattern(8));
    await rec.until(() => rec.count('softError') > 0);
    server = await startUdpEchoServer(port);
    // Datagrams may still meet the error of an earlier one; send until one comes back.
    for (let i = 0; rec.count('data') === 0 && i < 100; i++) {
      transport.send(pattern(8, 1));
      await settle(10);
    }
    expect(rec.bytes.subarray(0, 8)).toEqual(pattern(8, 1));
    expect(rec.count('close')).toBe(0);
  });

  it('close() lets the datagrams already accepted go out, then closes once', async () => {
    const rec = new Recorder();
    const t = await openUdp(rec);
    for (let i = 0; i < 5; i++) t.send(pattern(100, i));
    t.close();
    expect(t.send(pattern(100))).toBe(false);
    expect((await rec.closed()).wasOpen).toBe(true);
    while (server!.received < 5) await settle(5);
    expect(server!.received).toBe(5);
    expect(rec.count('close')).toBe(1);
  });

  it('sends before the socket is connected return false and send nothing', () => {
    const rec = new Recorder();
    transport = new UdpTransport(new URL('udp://127.0.0.1:9'), rec.handlers, {
      highWaterMark: MIB,
      maxMessageSize: 1200,
    });
    expect(transport.send(pattern(8))).toBe(false);
    expect(transport.bufferedAmount).toBe(0);
  });
});

describe('memory transport', () => {
  const url = new URL('tcp://memory:1');
  const transports: Transport[] = [];
  afterEach(() => {
    vi.useRealTimers();
    for (const t of transports.splice(0)) t.destroy();
  });

  /** Connects a recorder to `server`, lets it open, and returns the transport and its server end. */
  async function connected(
    server: MemoryServer,
    highWaterMark = MIB,
  ): Promise<{ rec: Recorder; t: Transport; end: MemoryServerEnd; got: Array<Uint8Array | string> }> {
    const rec = new Recorder();
    const ends: MemoryServerEnd[] = [];
    const got: Array<Uint8Array | string> = [];
    server.onConnection = (end) => {
      ends.push(end);
      end.onData = (d) => got.push(d);
    };
    const t = server.connect(url, rec.handlers, { highWaterMark });
    transports.push(t);
    await rec.opened();
    return { rec, t, end: ends[0]!, got };
  }

  const flush = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  it('opens on a later microtask and adds the server end to connections', async () => {
    const server = new MemoryServer();
    const { end, rec } = await connected(server);
    expect(rec.events.map((e) => e.type)).toEqual(['open']);
    expect([...server.connections]).toEqual([end]);
    end.close();
    await rec.closed();
    await flush();
    expect(server.connections.size).toBe(0);
    expect(end.closed).toBe(true);
  });

  it('passes strings as strings and copies bytes, so the sender may reuse its buffer', async () => {
    const server = new MemoryServer();
    const { t, end, rec, got } = await connected(server);
    const buf = new Uint8Array([1, 2, 3]);
    t.send(buf);
    t.send('text ✓');
    buf[0] = 99;
    end.send('reply');
    await flush();
    expect(got).toEqual([new Uint8Array([1, 2, 3]), 'text ✓']);
    expect(rec.data).toEqual(['reply']);
  });

  it('counts undelivered bytes in bufferedAmount and fires onDrain once they are delivered', async () => {
    const server = new MemoryServer();
    const { t, rec } = await connected(server, 4);
    expect(t.send(pattern(3))).toBe(true);
    expect(t.send('✓✓')).toBe(false); // 3 + 6 UTF-8 bytes > 4
    expect(t.bufferedAmount).toBe(9);
    await rec.until(() => rec.count('drain') > 0);
    expect(t.bufferedAmount).toBe(0);
    expect(rec.count('drain')).toBe(1);
  });

  it('re-chunks stream deliveries into pieces of at most chunkSize bytes, both ways', async () => {
    const server = new MemoryServer();
    const { t, end, rec, got } = await connected(server);
    server.faults.chunkSize = 3;
    t.send(pattern(10));
    end.send(pattern(7));
    await flush();
    expect(got.map((c) => (c as Uint8Array).length)).toEqual([3, 3, 3, 1]);
    expect(rec.data.map((c) => (c as Uint8Array).length)).toEqual([3, 3, 1]);
    expect(rec.bytes).toEqual(pattern(7));
  });

  it('does not re-chunk message kinds, whose boundaries are the point', async () => {
    const server = new MemoryServer({ kind: 'message' });
    server.faults.chunkSize = 3;
    const { end, rec } = await connected(server);
    end.send(pattern(10));
    await rec.received('message', 1);
    expect(rec.data).toEqual([pattern(10)]);
  });

  it('refuses messages over maxMessageSize with ERR_DATAGRAM_TOO_LARGE, both ways', async () => {
    const server = new MemoryServer({ kind: 'datagram', maxMessageSize: 4 });
    const { t, end } = await connected(server);
    expect(t.maxMessageSize).toBe(4);
    expect(t.kind).toBe('datagram');
    expect(() => t.send(pattern(5))).toThrow(expect.objectContaining({ code: 'ERR_DATAGRAM_TOO_LARGE' }));
    expect(() => end.send('12345')).toThrow(expect.objectContaining({ code: 'ERR_DATAGRAM_TOO_LARGE' }));
    expect(t.send(pattern(4))).toBe(true);
  });

  it('delays every delivery through the clock and keeps the order when the delay changes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const server = new MemoryServer();
    const { t, rec, got } = await connected(server);
    server.faults.delay = 100;
    t.send('a');
    server.faults.delay = 0;
    t.send('b'); // due now, but behind 'a'
    await vi.advanceTimersByTimeAsync(99);
    expect(got).toEqual([]);
    expect(t.bufferedAmount).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(got).toEqual(['a', 'b']);
    expect(rec.count('close')).toBe(0);
  });

  it('delivers the data in flight before the close, even with a delay', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const server = new MemoryServer();
    const { t, end, rec, got } = await connected(server);
    let serverClose: unknown;
    end.onClose = (info) => (serverClose = info);
    server.faults.delay = 50;
    t.send('last words');
    t.close();
    end.send('reply in flight');
    await vi.advanceTimersByTimeAsync(49);
    expect(got).toEqual([]);
    expect(rec.count('close')).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(got).toEqual(['last words']);
    expect(serverClose).toEqual({});
    expect(rec.data).toEqual(['reply in flight']); // sent before the server saw the FIN
    await vi.advanceTimersByTimeAsync(50);
    expect(rec.closeInfo).toEqual({ wasOpen: true });
    expect(rec.count('close')).toBe(1);
  });

  it('closes the client after the data in flight when the server end closes', async () => {
    const server = new MemoryServer();
    const { end, rec } = await connected(server);
    end.send('one');
    end.send('two');
    end.close();
    expect(end.send('late')).toBe(false);
    await rec.closed();
    expect(rec.events.map((e) => e.type)).toEqual(['open', 'data', 'data', 'close']);
    expect(rec.closeInfo).toEqual({ wasOpen: true });
  });

  it('drops everything sent both ways while drop is set, and recovers when it is cleared', async () => {
    const server = new MemoryServer();
    const { t, end, rec, got } = await connected(server);
    server.faults.drop = true;
    expect(t.send('lost')).toBe(true);
    end.send('lost too');
    await flush();
    expect(got).toEqual([]);
    expect(rec.count('data')).toBe(0);
    server.faults.drop = false;
    t.send('kept');
    await flush();
    expect(got).toEqual(['kept']);
    expect(rec.count('close')).toBe(0);
  });

  it('is a black hole while halfOpen: nothing arrives and no close is reported, until destroy()', async () => {
    const server = new MemoryServer();
    const { t, end, rec, got } = await connected(server);
    server.faults.halfOpen = true;
    t.send('into the void');
    end.send('out of the void');
    server.closeAll();
    t.close();
    await settle(20);
    expect(got).toEqual([]);
    expect(rec.events.map((e) => e.type)).toEqual(['open']);
    t.destroy();
    expect(rec.closeInfo).toEqual({ wasOpen: true });
    // A new attempt neither opens nor fails while the hole is there.
    const rec2 = new Recorder();
    transports.push(server.connect(url, rec2.handlers, { highWaterMark: MIB }));
    await settle(20);
    expect(rec2.events).toEqual([]);
  });

  it('resetAll() closes both ends with ERR_TRANSPORT "connection reset"', async () => {
    const server = new MemoryServer();
    const { rec, end } = await connected(server);
    let serverClose: { error?: SocklineError } | undefined;
    end.onClose = (info) => (serverClose = info);
    server.resetAll();
    const info = await rec.closed();
    expect(info.wasOpen).toBe(true);
    expect(isSocklineError(info.error, ErrorCodes.TRANSPORT)).toBe(true);
    expect(info.error?.message).toBe('connection reset');
    expect(isSocklineError(serverClose?.error, ErrorCodes.TRANSPORT)).toBe(true);
    expect(server.connections.size).toBe(0);
  });

  it('destroy() on one side resets the other', async () => {
    const server = new MemoryServer();
    const { t, end } = await connected(server);
    let serverClose: { error?: SocklineError } | undefined;
    end.onClose = (info) => (serverClose = info);
    t.destroy();
    await flush();
    expect(serverClose?.error?.message).toBe('connection reset');
  });

  it('fails new connections asynchronously while refusing, and accepts again after', async () => {
    const server = new MemoryServer();
    server.refusing = true;
    const rec = new Recorder();
    transports.push(server.connect(url, rec.handlers, { highWaterMark: MIB }));
    expect(rec.events).toEqual([]);
    const info = await rec.closed();
    expect(info.wasOpen).toBe(false);
    expect(isSocklineError(info.error, ErrorCodes.TRANSPORT)).toBe(true);
    expect(info.error?.message).toContain('tcp://memory:1');
    server.refusing = false;
    await connected(server);
    expect(server.connections.size).toBe(1);
  });

  it('pause() holds deliveries to the client until resume()', async () => {
    const server = new MemoryServer();
    const { t, end, rec } = await connected(server);
    t.pause();
    end.send('held');
    await flush();
    expect(rec.count('data')).toBe(0);
    t.resume();
    await flush();
    expect(rec.data).toEqual(['held']);
  });
});
