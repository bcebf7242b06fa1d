import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { lengthFraming } from '../core/framing/index.js';
import { createUdpListener } from './udp-listener.js';
import type { ServerOptions, ServerTransport } from './server-options.js';

/** One accepted transport connection, before any protocol. */
export interface Wire {
  readonly transport: ServerTransport;
  readonly remoteAddress: string;
  /** Writes one frame body; false over the high-water mark. */
  send(frame: Uint8Array): boolean;
  /** Bytes written but not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** Ends after what was written. */
  close(): void;
  /** Ends now. */
  destroy(): void;
}

/** Where a wire's frames go; `null` from `accept` means refused (the wire is destroyed). */
export interface FrameSink {
  receive(frame: Uint8Array): void;
  closed(): void;
}

export interface ListenerHooks {
  accept(wire: Wire): FrameSink | null;
  /** A TLS handshake failed (a client that does not trust the certificate, garbage...). */
  tlsFailure(): void;
}

export interface RunningListener {
  readonly url: string;
  /** Stops taking new connections; existing ones live on. */
  stopAccepting(): void;
  /** Resolves once the listener's handles are released (connections must be gone by then). */
  close(): Promise<void>;
}

/** WebSocket buffered bytes above which `send` reports backpressure. */
const WS_HIGH_WATER = 1 << 20;

/** Fragments of one WebSocket message, at most. */
const WS_MAX_FRAGMENTS = 1024;
/** Network chunks buffered for one WebSocket message, at most. */
const WS_MAX_BUFFERED_CHUNKS = 8192;

/** How long a TCP/TLS socket may stay half-closed after our FIN, in ms. */
const END_GRACE = 5_000;

const hostOf = (host: string): string => (host.includes(':') ? `[${host}]` : host);

function streamConnection(
  transport: 'tcp' | 'tls',
  maxFrameSize: number,
  hooks: ListenerHooks,
): (socket: net.Socket) => void {
  const framing = lengthFraming({ maxFrameSize });
  return (socket) => {
    socket.on('error', () => {}); // the 'close' that follows is what counts
    socket.setNoDelay(true);
    const sink = hooks.accept({
      transport,
      remoteAddress: socket.remoteAddress ?? '',
      send: (frame) => !socket.destroyed && socket.write(framing.encode(frame)),
      get bufferedAmount() {
        return socket.writableLength;
      },
      close() {
        socket.end();
        // A client that neither reads nor closes must not pin the socket half-open forever.
        socket.setTimeout(END_GRACE, () => socket.destroy());
      },
      destroy: () => socket.destroy(),
    });
    if (sink === null) return;
    const decoder = framing.createDecoder((frame) => sink.receive(frame));
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch {
        socket.destroy(); // a frame over maxFrameSize, refused on its header
      }
    });
    socket.on('close', () => sink.closed());
  };
}

async function listenOn(server: net.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
}

export async function listenTcp(
  o: NonNullable<ServerOptions['tcp']>,
  host: string,
  maxFrameSize: number,
  hooks: ListenerHooks,
): Promise<RunningListener> {
  const server = net.createServer(streamConnection('tcp', maxFrameSize, hooks));
  const port = await listenOn(server, o.port ?? 0, o.host ?? host);
  let closed: Promise<void> | undefined;
  const stop = (): Promise<void> => (closed ??= closeServer(server));
  return { url: `tcp://${hostOf(o.host ?? host)}:${port}`, stopAccepting: () => void stop(), close: stop };
}

export async function listenTls(
  o: NonNullable<ServerOptions['tls']>,
  host: string,
  maxFrameSize: number,
  hooks: ListenerHooks,
): Promise<RunningListener> {
  const server = tls.createServer(
    { cert: o.cert, key: o.key, ...(o.ca !== undefined ? { ca: o.ca } : {}) },
    streamConnection('tls', maxFrameSize, hooks),
  );
  server.on('tlsClientError', () => hooks.tlsFailure());
  const port = await listenOn(server, o.port ?? 0, o.host ?? host);
  let closed: Promise<void> | undefined;
  const stop = (): Promise<void> => (closed ??= closeServer(server));
  return { url: `tls://${hostOf(o.host ?? host)}:${port}`, stopAccepting: () => void stop(), close: stop };
}

function refuseUpgrade(socket: Duplex, status: number): void {
  socket.on('error', () => {});
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
  );
  socket.destroy();
}

export async function listenWs(
  o: NonNullable<ServerOptions['ws']>,
  host: string,
  wsPath: string,
  maxFrameSize: number,
  hooks: ListenerHooks,
): Promise<RunningListener> {
  const path = o.path ?? wsPath;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameSize,
    // ws's own defaults (16 Ki fragments, 256 Ki buffered chunks) let one peer make the server
    // hold a frame assembled from a huge number of tiny pieces; sockline clients never
    // fragment, and a 1 MiB message arrives in far fewer than 8 Ki chunks even on a slow path.
    maxFragments: WS_MAX_FRAGMENTS,
    maxBufferedChunks: WS_MAX_BUFFERED_CHUNKS,
    perMessageDeflate: false,
  });
  const own = o.server === undefined;
  const server =
    o.server ??
    http.createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain' }).end('WebSocket only\n');
    });

  const onSocket = (ws: WebSocket, remoteAddress: string): void => {
    ws.on('error', () => {});
    const sink = hooks.accept({
      transport: 'ws',
      remoteAddress,
      send: (frame) => {
        if (ws.readyState !== ws.OPEN) return false;
        ws.send(frame);
        return ws.bufferedAmount < WS_HIGH_WATER;
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      close: () => ws.close(),
      destroy: () => ws.terminate(),
    });
    if (sink === null) return;
    ws.on('message', (data: Buffer) => sink.receive(data));
    ws.on('close', () => sink.closed());
  };

  let accepting = true;
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname !== path) {
      // Attached to someone else's server: other paths may belong to another handler.
      if (own) refuseUpgrade(socket, 404);
      return;
    }
    if (!accepting) return refuseUpgrade(socket, 503);
    const origin = req.headers.origin;
    // Browsers always send Origin; other clients (Node, native apps) usually do not.
    if (o.origins !== undefined && origin !== undefined && !o.origins.includes(origin))
      return refuseUpgrade(socket, 403);
    const remoteAddress = req.socket.remoteAddress ?? '';
    wss.handleUpgrade(req, socket, head, (ws) => onSocket(ws, remoteAddress));
  };
  server.on('upgrade', onUpgrade);

  let port: number;
  let bound: string;
  if (own) {
    port = await listenOn(server, o.port ?? 0, o.host ?? host);
    bound = o.host ?? host;
  } else {
    const address = server.address() as AddressInfo | null;
    port = address?.port ?? 0;
    bound = address?.address ?? host;
  }
  let closed: Promise<void> | undefined;
  const stopAccepting = (): void => {
    accepting = false;
    server.off('upgrade', onUpgrade);
    if (own) closed ??= closeServer(server);
  };
  return {
    url: `ws://${hostOf(bound)}:${port}${path}`,
    stopAccepting,
    async close() {
      stopAccepting();
      if (own) (server as http.Server).closeAllConnections();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closed;
    },
  };
}

export async function listenUdp(
  o: NonNullable<ServerOptions['udp']>,
  host: string,
  hooks: ListenerHooks,
): Promise<RunningListener> {
  const listener = await createUdpListener({
    port: o.port ?? 0,
    host: o.host ?? host,
    ...(o.reliable !== undefined ? { reliable: o.reliable } : {}),
    onPeer(peer) {
      const sink = hooks.accept({
        transport: 'udp',
        remoteAddress: peer.remote.address,
        send: (frame) => peer.send(frame),
        // The reliable channel bounds its own window; the kernel holds datagrams only briefly.
        bufferedAmount: 0,
        close: () => peer.close(),
        destroy: () => peer.close(),
      });
      if (sink === null) return;
      peer.onFrame = (frame) => sink.receive(frame);
      peer.onClose = () => sink.closed();
    },
  });
  return {
    url: listener.url,
    // The listener admits on; the server refuses new peers while it is closing.
    stopAccepting: () => {},
    close: () => listener.close(),
  };
}
