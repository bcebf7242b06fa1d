import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { Coalescer } from '../core/coalesce.js';
import {
  createLengthDecoder,
  lengthFraming,
  type Framing,
  type LengthDecoder,
} from '../core/framing/index.js';
import { BATCH_TYPE, encodeBatch, splitBatch } from '../core/protocol/batch.js';
import { CloseCodes } from '../core/protocol/frames.js';
import { encodeFrame } from '../core/protocol/frames-encode.js';
import { serverSessionDefaults } from '../core/protocol/server-session.js';
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
  /**
   * Joins the frames written in one tick into BATCH messages from now on (the client said it
   * takes them); returns whether this wire can. Absent where it cannot (streams already
   * join their writes; datagrams have a size limit).
   */
  batch?(): boolean;
}

/** Where a wire's frames go; `null` from `accept` means refused (the wire is destroyed). */
export interface FrameSink {
  receive(frame: Uint8Array): void;
  closed(): void;
  /**
   * True until the connection's handshake completes: a stream wire then refuses a frame
   * header over the HELLO cap at once, before buffering its body (docs/protocol.md §6.3).
   * Absent: the full `maxFrameSize` applies from the first byte.
   */
  readonly handshaking?: boolean;
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

/** The largest frame a connection may send before its handshake completes (its HELLO). */
const HELLO_CAP = serverSessionDefaults.maxHandshakeSize;

/** How long a TCP/TLS socket may stay half-closed after our FIN, in ms. */
const END_GRACE = 5_000;

const hostOf = (host: string): string => (host.includes(':') ? `[${host}]` : host);

const ignore = (): void => {};

/**
 * A TCP/TLS socket as a {@link Wire}. A class rather than an object literal per connection:
 * its methods live on the prototype (an object literal with a getter is also kept in
 * dictionary mode by V8, several hundred bytes per idle connection).
 */
class StreamWire implements Wire {
  readonly transport: 'tcp' | 'tls';
  readonly remoteAddress: string;
  readonly #socket: net.Socket;
  readonly #framing: Framing;
  readonly #maxFrameSize: number;
  /** The frames written in one tick leave in one write (one system call, not one per frame). */
  readonly #out: Coalescer;
  #sink: FrameSink | null = null;
  #decoder: LengthDecoder | null = null;
  /** True until the sink's handshake completes: frames are capped at the HELLO size. */
  #handshaking = true;

  constructor(socket: net.Socket, transport: 'tcp' | 'tls', framing: Framing, maxFrameSize: number) {
    this.transport = transport;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.#socket = socket;
    this.#framing = framing;
    this.#maxFrameSize = maxFrameSize;
    this.#out = new Coalescer((chunk) => void (socket.destroyed || socket.write(chunk)));
  }

  send(frame: Uint8Array): boolean {
    const socket = this.#socket;
    const out = this.#out;
    if (socket.destroyed) return false;
    if (frame.byteLength > this.#maxFrameSize) this.#framing.encode(frame); // throws ERR_FRAME_TOO_LARGE
    out.pushFramed(frame);
    return socket.writableLength + out.bytes < socket.writableHighWaterMark;
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength + this.#out.bytes;
  }

  close(): void {
    const socket = this.#socket;
    this.#out.flush();
    socket.end();
    // A client that neither reads nor closes must not pin the socket half-open forever.
    socket.setTimeout(END_GRACE, () => socket.destroy());
  }

  destroy(): void {
    this.#out.clear();
    this.#socket.destroy();
  }

  /** From now on the frames read go to `sink` (the connection was accepted). */
  read(sink: FrameSink): void {
    this.#sink = sink;
    // Before the handshake completes, a frame is a HELLO: a header declaring more than the
    // HELLO cap is refused at once, so an unauthenticated peer cannot make the server hold
    // up to maxFrameSize (docs/protocol.md §6.3). The full limit applies once the session is open.
    const maxFrameSize = this.#maxFrameSize;
    this.#handshaking = sink.handshaking !== false;
    this.#decoder = createLengthDecoder(
      (frame) => sink.receive(frame),
      this.#handshaking ? Math.min(maxFrameSize, HELLO_CAP) : maxFrameSize,
    );
  }

  /** Bytes from the socket. */
  data(chunk: Buffer): void {
    const sink = this.#sink;
    const decoder = this.#decoder;
    if (sink === null || decoder === null) return;
    if (this.#handshaking && sink.handshaking !== true) {
      this.#handshaking = false;
      decoder.maxFrameSize = this.#maxFrameSize;
    }
    try {
      decoder.push(chunk);
    } catch {
      // A frame over the limit, refused on its header. Before the handshake that is a HELLO
      // over the cap: CLOSE 4000 (docs/protocol.md §6.3), then the socket ends.
      const socket = this.#socket;
      if (!this.#handshaking || socket.writableEnded) {
        socket.destroy();
        return;
      }
      this.send(
        encodeFrame({ type: 'close', code: CloseCodes.PROTOCOL_ERROR, reason: 'HELLO over the size cap' }),
      );
      this.close();
    }
  }

  /** The socket closed. */
  ended(): void {
    this.#sink?.closed();
  }
}

/** The {@link StreamWire} of a socket, for the listeners all connections share. */
const STREAM_WIRE = Symbol('sockline.wire');
type WiredSocket = net.Socket & { [STREAM_WIRE]: StreamWire };

function onStreamData(this: net.Socket, chunk: Buffer): void {
  (this as WiredSocket)[STREAM_WIRE].data(chunk);
}

function onStreamClose(this: net.Socket): void {
  (this as WiredSocket)[STREAM_WIRE].ended();
}

function streamConnection(
  transport: 'tcp' | 'tls',
  maxFrameSize: number,
  hooks: ListenerHooks,
): (socket: net.Socket) => void {
  const framing = lengthFraming({ maxFrameSize });
  return (socket) => {
    socket.on('error', ignore); // the 'close' that follows is what counts
    socket.setNoDelay(true);
    const wire = new StreamWire(socket, transport, framing, maxFrameSize);
    const sink = hooks.accept(wire);
    if (sink === null) return;
    wire.read(sink);
    // Listeners shared by every connection find their wire on the socket (no closures each).
    (socket as WiredSocket)[STREAM_WIRE] = wire;
    socket.on('data', onStreamData);
    socket.on('close', onStreamClose);
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

/** The {@link WsWire} of a WebSocket, for the listeners all connections share. */
const WIRE = Symbol('sockline.wire');
type WiredWebSocket = WebSocket & { [WIRE]: WsWire };

function onWsMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as WiredWebSocket)[WIRE].read(data, isBinary);
}

function onWsClose(this: WebSocket): void {
  (this as WiredWebSocket)[WIRE].sink?.closed();
}

/** A WebSocket as a {@link Wire} (a class, for the reasons given at {@link StreamWire}). */
class WsWire implements Wire {
  readonly transport = 'ws' as const;
  readonly remoteAddress: string;
  /** Where the messages go, once the server accepted the connection. */
  sink: FrameSink | null = null;
  readonly #ws: WebSocket;
  /** Set once the client takes BATCH messages: the frames of one tick then go as one message. */
  #out: Coalescer | null = null;

  constructor(ws: WebSocket, remoteAddress: string) {
    this.#ws = ws;
    this.remoteAddress = remoteAddress;
  }

  send(frame: Uint8Array): boolean {
    const ws = this.#ws;
    const out = this.#out;
    if (ws.readyState !== ws.OPEN) return false;
    if (out === null) ws.send(frame);
    else out.push(frame);
    return ws.bufferedAmount + (out?.bytes ?? 0) < WS_HIGH_WATER;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount + (this.#out?.bytes ?? 0);
  }

  close(): void {
    this.#out?.flush();
    this.#ws.close();
  }

  destroy(): void {
    this.#out?.clear();
    this.#ws.terminate();
  }

  batch(): boolean {
    const ws = this.#ws;
    this.#out ??= new Coalescer((chunk) => void (ws.readyState === ws.OPEN && ws.send(chunk)), encodeBatch);
    return true;
  }

  /** One WebSocket message: a frame body, or a BATCH of them, for the sink. */
  read(data: Buffer, isBinary: boolean): void {
    const ws = this.#ws;
    const sink = this.sink;
    if (ws.readyState !== ws.OPEN || sink === null) return; // refused or closing: nothing more is read
    if (!isBinary) {
      // docs/protocol.md §1: a text message is a protocol error, whatever its bytes.
      this.#refuseText();
      return;
    }
    if (data[0] !== BATCH_TYPE) {
      sink.receive(data);
      return;
    }
    let bodies: Uint8Array[];
    try {
      bodies = splitBatch(data);
    } catch {
      sink.receive(data); // not a frame either: the session refuses it with CLOSE 4000
      return;
    }
    for (const body of bodies) sink.receive(body);
  }

  /**
   * Ends a WebSocket connection that sent a text message: CLOSE 4000, then a WebSocket close
   * with the same code (docs/protocol.md §1). Its session sees the connection end.
   */
  #refuseText(): void {
    const ws = this.#ws;
    this.#out?.flush();
    const code = CloseCodes.PROTOCOL_ERROR;
    ws.send(encodeFrame({ type: 'close', code, reason: 'text message' }));
    ws.close(code, 'text message');
  }
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
    // The server tracks its connections itself; ws's own set would add an entry and a
    // 'close' listener per connection.
    clientTracking: false,
  });
  const own = o.server === undefined;
  const server =
    o.server ??
    http.createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain' }).end('WebSocket only\n');
    });

  const onSocket = (ws: WebSocket, remoteAddress: string): void => {
    ws.on('error', ignore);
    const wire = new WsWire(ws, remoteAddress);
    const sink = hooks.accept(wire);
    if (sink === null) return;
    wire.sink = sink;
    // Listeners shared by every connection find their wire on the socket (no closures each).
    (ws as WiredWebSocket)[WIRE] = wire;
    ws.on('message', onWsMessage);
    ws.on('close', onWsClose);
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
    ...(o.recvBufferSize !== undefined ? { recvBufferSize: o.recvBufferSize } : {}),
    ...(o.sendBufferSize !== undefined ? { sendBufferSize: o.sendBufferSize } : {}),
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
