import * as http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { Coalescer } from '../core/coalesce.js';
import { BATCH_TYPE, encodeBatch, splitBatch } from '../core/protocol/batch.js';
import { CloseCodes } from '../core/protocol/frames.js';
import { encodeFrame } from '../core/protocol/frames-encode.js';
import { normalizeAddress } from './addresses.js';
import { isRefusal, type Refusal, type Ticket } from './connection-limits.js';
import { httpRefusal, Refusing } from './refusals.js';
import {
  closeServer,
  HELLO_CAP,
  hostOf,
  listenOn,
  type FrameSink,
  type ListenerHooks,
  type RunningListener,
  type Wire,
} from './server-listeners.js';
import type { ServerOptions } from './server-options.js';
import { forwardedClient } from './trust-proxy.js';
import { FrameHeaderGuard } from './ws-frame-guard.js';

/** WebSocket buffered bytes above which `send` reports backpressure. */
const WS_HIGH_WATER = 1 << 20;

/** Fragments of one WebSocket message, at most. */
const WS_MAX_FRAGMENTS = 1024;
/** Network chunks buffered for one WebSocket message, at most. */
const WS_MAX_BUFFERED_CHUNKS = 8192;

/** How long an open session's WebSocket close handshake may take before the socket is cut, in ms. */
const CLOSE_GRACE = 5_000;

const ignore = (): void => {};

/** The {@link WsWire} of a WebSocket (or of its socket), for listeners all connections share. */
const WIRE = Symbol('sockline.wire');
type WiredWebSocket = WebSocket & { [WIRE]: WsWire };
type WiredSocket = Socket & { [WIRE]: WsWire };

function onWsMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as WiredWebSocket)[WIRE].read(data, isBinary);
}

function onWsClose(this: WebSocket): void {
  (this as WiredWebSocket)[WIRE].sink?.closed();
}

function onGuardData(this: Socket, chunk: Buffer): void {
  (this as WiredSocket)[WIRE].inspect(chunk);
}

function onSocketDrain(this: Socket): void {
  (this as WiredSocket)[WIRE].sink?.drained?.();
}

/** A WebSocket as a {@link Wire} (a class, for the reasons given at `StreamWire`). */
class WsWire implements Wire {
  readonly transport = 'ws' as const;
  readonly remoteAddress: string;
  readonly ticket: Ticket;
  /** Where the messages go, once the server accepted the connection. */
  sink: FrameSink | null = null;
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  /** Set once the client takes BATCH messages: the frames of one tick then go as one message. */
  #out: Coalescer | null = null;
  /** Frame headers read before the handshake completes; dropped after it. */
  #guard: FrameHeaderGuard | null = new FrameHeaderGuard(HELLO_CAP);
  #headers: IncomingHttpHeaders | undefined;

  constructor(
    ws: WebSocket,
    socket: Socket,
    remoteAddress: string,
    ticket: Ticket,
    headers: IncomingHttpHeaders,
  ) {
    this.#ws = ws;
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    this.ticket = ticket;
    this.#headers = headers;
  }

  get headers(): IncomingHttpHeaders | undefined {
    return this.#headers;
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
    const ws = this.#ws;
    // Before the session opened (deadline, refusal, deferral) nothing is owed a close
    // handshake: what was written goes out, the socket ends now.
    if (this.sink?.handshaking !== false) {
      ws.terminate();
      return;
    }
    ws.close();
    setTimeout(() => ws.terminate(), CLOSE_GRACE).unref();
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

  /** Starts reading frame headers ahead of `ws` (see {@link FrameHeaderGuard}), and drains. */
  guard(): void {
    (this.#socket as WiredSocket)[WIRE] = this;
    this.#socket.prependListener('data', onGuardData);
    this.#socket.on('drain', onSocketDrain);
  }

  /** Socket bytes, before `ws` reads them, until the handshake completes. */
  inspect(chunk: Buffer): void {
    const guard = this.#guard;
    if (guard === null) return;
    if (this.sink?.handshaking === false) {
      this.#guard = null;
      this.#headers = undefined;
      this.#socket.off('data', onGuardData);
      return;
    }
    if (guard.push(chunk)) return;
    // A message declaring more than the HELLO cap: refused on its header (docs/protocol.md §6.3).
    this.#guard = null;
    this.#socket.off('data', onGuardData);
    const code = CloseCodes.PROTOCOL_ERROR;
    this.send(encodeFrame({ type: 'close', code, reason: 'HELLO over the size cap' }));
    this.#ws.close(code, 'HELLO over the size cap');
    this.#ws.terminate();
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
    const handshaking = this.sink?.handshaking !== false;
    this.#out?.flush();
    const code = CloseCodes.PROTOCOL_ERROR;
    ws.send(encodeFrame({ type: 'close', code, reason: 'text message' }));
    ws.close(code, 'text message');
    if (handshaking) ws.terminate();
    else setTimeout(() => ws.terminate(), CLOSE_GRACE).unref();
  }
}

/** What the listener knows of a socket between its accept (or upgrade request) and its wire. */
interface Pending {
  /** Its place in the limits, or why it is refused (answered once its request is read). */
  readonly reserved: Ticket | Refusal;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const PENDING = Symbol('sockline.pending');
type PendingSocket = Duplex & { [PENDING]?: Pending | undefined };

/** A socket closed before it became a wire: its place in the limits is free again. */
function onPendingClose(this: PendingSocket): void {
  const pending = this[PENDING];
  if (pending === undefined) return;
  this[PENDING] = undefined;
  clearTimeout(pending.timer);
  if (!isRefusal(pending.reserved)) pending.reserved.release();
}

/** The socket is a wire now (the wire's end releases its ticket): nothing of it is kept here. */
function wired(socket: PendingSocket): void {
  socket[PENDING] = undefined;
  socket.off('close', onPendingClose);
}

/**
 * The WebSocket listener, on its own HTTP server or on the application's. Every socket of its
 * own server counts in the limits from its accept: a request that is not complete within
 * `handshakeTimeout` (Node's own `headersTimeout`/`requestTimeout` are set to it too, as a
 * second line) is cut. On an application's server, counting starts at the upgrade request.
 */
class WsListener {
  readonly #o: NonNullable<ServerOptions['ws']>;
  readonly #hooks: ListenerHooks;
  readonly #path: string;
  readonly #own: boolean;
  readonly #wss: WebSocketServer;
  readonly #refusing = new Refusing();
  accepting = true;

  constructor(o: NonNullable<ServerOptions['ws']>, path: string, hooks: ListenerHooks) {
    this.#o = o;
    this.#hooks = hooks;
    this.#path = path;
    this.#own = o.server === undefined;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: hooks.maxFrameSize,
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
  }

  get wss(): WebSocketServer {
    return this.#wss;
  }

  /** Ends the refused connections still being answered. */
  destroyRefused(): void {
    this.#refusing.destroyAll();
  }

  /** A socket of our own HTTP server: counted from now, cut at the deadline unless it upgrades. */
  readonly connection = (socket: Socket): void => {
    const hooks = this.#hooks;
    const peer = normalizeAddress(socket.remoteAddress ?? '');
    // A trusted proxy names its client in the request: the address is counted then.
    const reserved = hooks.reserve(hooks.trust.has(peer) ? null : peer);
    if (isRefusal(reserved) && !this.#refusing.take(socket)) return;
    this.#track(socket, reserved);
  };

  readonly request = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' }).end('WebSocket only\n');
  };

  readonly upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const hooks = this.#hooks;
    const s = socket as PendingSocket;
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname !== this.#path) {
      // Attached to someone else's server: other paths may belong to another handler.
      if (this.#own) this.#answer(s, httpRefusal(404));
      return;
    }
    let pending = s[PENDING];
    if (!this.accepting) return this.#answer(s, httpRefusal(this.#closing()));
    if (pending !== undefined && isRefusal(pending.reserved))
      return this.#answer(s, httpRefusal(pending.reserved));
    const origin = req.headers.origin;
    // Browsers always send Origin; other clients (Node, native apps) usually do not.
    const origins = this.#o.origins;
    if (origins !== undefined && origin !== undefined && !origins.includes(origin))
      return this.#answer(s, httpRefusal(403));
    const peer = normalizeAddress(req.socket.remoteAddress ?? '');
    const address = forwardedClient(peer, req.headers, hooks.trust);
    let ticket: Ticket;
    if (pending === undefined) {
      // The application's server: counted from the upgrade request on.
      const reserved = hooks.reserve(address);
      if (isRefusal(reserved)) return this.#answer(s, httpRefusal(reserved));
      pending = this.#track(s, reserved);
      ticket = reserved;
    } else {
      ticket = pending.reserved as Ticket;
      if (ticket.key === null) {
        const refusal = hooks.locate(ticket, address);
        if (refusal !== undefined) return this.#answer(s, httpRefusal(refusal));
      }
    }
    clearTimeout(pending.timer);
    pending.timer = undefined;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', ignore);
      const wire = new WsWire(ws, socket as Socket, address, ticket, req.headers);
      wired(s);
      (ws as WiredWebSocket)[WIRE] = wire;
      ws.on('close', onWsClose);
      const sink = hooks.accept(wire);
      if (sink === null) return;
      wire.sink = sink;
      wire.guard();
      // Listeners shared by every connection find their wire on the socket (no closures each).
      ws.on('message', onWsMessage);
    });
  };

  #track(socket: PendingSocket, reserved: Ticket | Refusal): Pending {
    const pending: Pending = { reserved, timer: undefined };
    socket[PENDING] = pending;
    if (!isRefusal(reserved)) {
      pending.timer = setTimeout(() => {
        this.#hooks.failed('deadline');
        socket.destroy();
      }, this.#hooks.handshakeTimeout);
    }
    socket.on('close', onPendingClose);
    return pending;
  }

  #closing(): Refusal {
    return { refused: 'closing', perAddress: false, retryAfter: 1_000, reason: 'server closing' };
  }

  #answer(socket: PendingSocket, response: string): void {
    const pending = socket[PENDING];
    // A refused socket was taken into the budget at its accept; others are taken now.
    if ((pending === undefined || !isRefusal(pending.reserved)) && !this.#refusing.take(socket)) return;
    this.#refusing.answer(socket, response);
  }
}

export async function listenWs(
  o: NonNullable<ServerOptions['ws']>,
  host: string,
  wsPath: string,
  hooks: ListenerHooks,
): Promise<RunningListener> {
  const path = o.path ?? wsPath;
  const listener = new WsListener(o, path, hooks);
  const deadline = hooks.handshakeTimeout;
  const own = o.server === undefined;
  const server =
    o.server ??
    http.createServer(
      {
        // A request must be complete by the handshake deadline (our own timer cuts it then;
        // Node's checks are the second line, run every connectionsCheckingInterval).
        headersTimeout: deadline,
        requestTimeout: deadline,
        keepAliveTimeout: Math.min(5_000, deadline),
        connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(deadline / 2))),
      },
      listener.request,
    );
  if (own) server.on('connection', listener.connection);
  server.on('upgrade', listener.upgrade);

  let port: number;
  let bound: string;
  if (own) {
    port = await listenOn(server, o.port ?? 0, o.host ?? host);
    bound = o.host ?? host;
  } else {
    const address = server.address() as { port: number; address: string } | null;
    port = address?.port ?? 0;
    bound = address?.address ?? host;
  }
  let closed: Promise<void> | undefined;
  const stopAccepting = (): void => {
    // Upgrades still coming in are answered 503 until close().
    listener.accepting = false;
    if (own) closed ??= closeServer(server);
  };
  return {
    url: `ws://${hostOf(bound)}:${port}${path}`,
    stopAccepting,
    async close() {
      stopAccepting();
      server.off('upgrade', listener.upgrade);
      listener.destroyRefused();
      if (own) {
        server.off('connection', listener.connection);
        (server as http.Server).closeAllConnections();
      }
      await new Promise<void>((resolve) => listener.wss.close(() => resolve()));
      await closed;
    },
  };
}
