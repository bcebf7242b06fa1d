/**
 * Echo servers for the transport contract suite, all on 127.0.0.1 with an ephemeral port.
 * Each can drop its side of every open connection, so tests can see a peer go away:
 * - `'end'`: a graceful close (TCP FIN, TLS close_notify, a WebSocket close frame 1000);
 * - `'reset'`: an abort (TCP RST where the socket allows it, otherwise a bare FIN).
 */
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { startTcpEcho, startWsEcho } from './servers.js';
import type { TestCert } from './tls-cert.js';

export type DropMode = 'end' | 'reset';

export interface EchoServer {
  /** e.g. `tcp://127.0.0.1:40123` */
  readonly url: string;
  readonly port: number;
  /** Ends ('end') or aborts ('reset') the server's side of every open connection. */
  dropConnections(how: DropMode): void;
  close(): Promise<void>;
}

export interface UdpEchoServer {
  readonly url: string;
  readonly port: number;
  /** Datagrams received so far. */
  readonly received: number;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/** Sends an RST: the peer sees ECONNRESET rather than a clean end of stream. */
function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy(); // not a plain TCP handle (e.g. wrapped by TLS)
  }
}

/** The TCP echo of `servers.ts`, plus `dropConnections`. */
export async function startTcpEchoServer(): Promise<EchoServer> {
  const server = await startTcpEcho();
  return {
    url: server.url,
    port: server.port,
    close: server.close,
    dropConnections: (how) => {
      for (const s of server.sockets) {
        if (how === 'end') s.end();
        else reset(s);
      }
    },
  };
}

/** A TLS echo with the given certificate. `'reset'` sends an RST on the raw TCP socket. */
export async function startTlsEchoServer(cert: TestCert): Promise<EchoServer> {
  const secure = new Set<tls.TLSSocket>();
  const raw = new Set<net.Socket>();
  const server = tls.createServer({ cert: cert.cert, key: cert.key }, (socket) => {
    secure.add(socket);
    socket.on('close', () => secure.delete(socket));
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  // 'connection' carries the plain TCP socket, before the TLS layer wraps it.
  server.on('connection', (socket: net.Socket) => {
    raw.add(socket);
    socket.on('close', () => raw.delete(socket));
  });
  // A client that refuses our certificate aborts the handshake; that is expected here.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `tls://${HOST}:${port}`,
    port,
    dropConnections: (how) => {
      if (how === 'end') for (const s of secure) s.end();
      else for (const s of raw) reset(s);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of raw) s.destroy();
        for (const s of secure) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The WebSocket echo of `servers.ts` (text stays text, binary stays binary), on an HTTP server
 * of ours so the raw sockets are reachable: `'end'` starts the closing handshake (1000) of
 * each connection, `'reset'` sends an RST on its socket.
 */
export async function startWsEchoServer(): Promise<EchoServer> {
  const sockets = new Set<net.Socket>();
  const httpServer = http.createServer((_req, res) => res.writeHead(404).end());
  httpServer.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const server = await startWsEcho(httpServer);
  return {
    url: server.url,
    port: server.port,
    close: server.close,
    dropConnections: (how) => {
      if (how === 'end') for (const ws of server.clients) ws.close(1000);
      else for (const s of sockets) reset(s);
    },
  };
}

/** A UDP echo: every datagram goes back to its sender as it came. */
export async function startUdpEchoServer(port = 0): Promise<UdpEchoServer> {
  const socket = dgram.createSocket('udp4');
  let received = 0;
  socket.on('error', () => {});
  socket.on('message', (msg, rinfo) => {
    received++;
    socket.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(port, HOST, resolve));
  const bound = socket.address().port;
  return {
    url: `udp://${HOST}:${bound}`,
    port: bound,
    get received() {
      return received;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A TCP port on 127.0.0.1 where nothing listens (it was free a moment ago). */
export async function unusedTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A UDP port on 127.0.0.1 where nothing is bound (it was free a moment ago). */
export async function unusedUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
