import * as http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { Coalescer, type ChunkSink } from '../core/coalesce.js';
import { endingClose, type ConnectionEnd } from '../core/protocol/server/connection-end.js';
import { normalizeAddress } from './addresses.js';
import { plainBytes } from './plain-bytes.js';
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

/** A message declaring more than the HELLO cap before the handshake (docs/protocol.md §6.3). */
const HELLO_TOO_LARGE: ConnectionEnd = { violation: 'HELLO over the size cap' };
/** A text message, at any time (docs/protocol.md §1). */
const TEXT_MESSAGE: ConnectionEnd = { violation: 'text message' };

/** A WebSocket close reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5). */
const MAX_CLOSE_REASON = 123;

/**
 * Whether a WebSocket close frame may carry `code` (RFC 6455 §7.4: 1000–1014 but for the
 * codes reserved to endpoints, and 3000–4999); a CLOSE frame's code outside them (an
 * application's own) closes the WebSocket without one.
 */
function isWebSocketCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** `reason` cut, at a character boundary, to what a WebSocket close frame holds. */
function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON) return reason;
  let out = '';
  for (const ch of reason) {
    if (Buffer.byteLength(out + ch) > MAX_CLOSE_REASON) break;
    out += ch;
  }
  return out;
}

/** The {@link WsWire} of a WebSocket (or of its socket), for listeners all connections share. */
const WIRE = Symbol('sockline.wire');
type WiredWebSocket = WebSocket & { [WIRE]: WsWire };
/**
 * The wire of a socket, for its frame headers read ahead of `ws` (until the handshake
 * completes) and its drains: kept here rather than in a property of the socket, which would
 * change its shape (and grow it) for the life of the connection.
 */
const SOCKET_WIRE = new WeakMap<Socket, WsWire>();

function onWsMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as WiredWebSocket)[WIRE].read(plainBytes(data), isBinary);
}

function onWsClose(this: WebSocket): void {
  (this as WiredWebSocket)[WIRE].sink?.closed();
}

function onGuardData(this: Socket, chunk: Buffer): void {
  SOCKET_WIRE.get(this)?.inspect(chunk);
}

function onSocketDrain(this: Socket): void {
  SOCKET_WIRE.get(this)?.sink?.drained?.();
}

/** A WebSocket as a {@link Wire} (a class, for the reasons given at `StreamWire`). */
class WsWire implements Wire, ChunkSink {
  readonly remoteAddress: string;
  readonly ticket: Ticket;
  /** Where the messages go, once the server accepted the connection. */
  sink: FrameSink | null = null;
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  /**
   * Set once the client takes BATCH messages (the protocol's join of frames): the frames of one
   * tick then go as one message.
   */
  #join: ((frames: readonly Uint8Array[], bytes: number) => Uint8Array) | null = null;
  /** The BATCH of this tick: made by its first write, dropped when it is sent. */
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

  /** On the prototype, not a field: one field less in every connection. */
  get transport(): 'ws' {
    return 'ws';
  }

  get headers(): IncomingHttpHeaders | undefined {
    return this.#headers;
  }

  send(frame: Uint8Array): boolean {
    const ws = this.#ws;
    if (ws.readyState !== ws.OPEN) return false;
    const join = this.#join;
    if (join === null) {
      ws.send(frame);
      return ws.bufferedAmount < WS_HIGH_WATER;
    }
    const out = (this.#out ??= new Coalescer(this, join));
    out.push(frame);
    return ws.bufferedAmount + out.bytes < WS_HIGH_WATER;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount + (this.#out?.bytes ?? 0);
  }

  close(code?: number, reason?: string): void {
    this.#out?.flush();
    const ws = this.#ws;
    // Before the session opened (deadline, refusal, deferral) nothing is owed a close
    // handshake: what was written goes out, the socket ends now.
    if (this.sink?.handshaking !== false) {
      ws.terminate();
      return;
    }
    // The WebSocket closes with the CLOSE frame's code (docs/protocol.md §1): a page reads it
    // in its close event even where the frame itself is lost.
    if (code !== undefined && isWebSocketCloseCode(code)) ws.close(code, closeReason(reason ?? ''));
    else ws.close();
    setTimeout(() => ws.terminate(), CLOSE_GRACE).unref();
  }

  destroy(): void {
    this.#out?.clear();
    this.#out = null;
    this.#ws.terminate();
  }

  batch(join: (frames: readonly Uint8Array[], bytes: number) => Uint8Array): boolean {
    this.#join = join;
    return true;
  }

  /** The frames of one tick, joined into a BATCH by `#out`: it has nothing pending any more. */
  writeChunk(chunk: Uint8Array): void {
    const ws = this.#ws;
    this.#out = null;
    if (ws.readyState === ws.OPEN) ws.send(chunk);
  }

  /** Starts reading frame headers ahead of `ws` (see {@link FrameHeaderGuard}), and drains. */
  guard(): void {
    SOCKET_WIRE.set(this.#socket, this);
    this.#socket.prependListener('data', onGuardData);
    this.#socket.on('drain', onSocketDrain);
  }

  #unguard(): void {
    this.#socket.off('data', onGuardData);
  }

  /** Socket bytes, before `ws` reads them, until the handshake completes. */
  inspect(chunk: Buffer): void {
    const guard = this.#guard;
    if (guard === null) return;
    if (this.sink?.handshaking === false) {
      this.#guard = null;
      this.#headers = undefined;
      this.#unguard();
      return;
    }
    if (guard.push(chunk)) return;
    // A message declaring more than the HELLO cap: refused on its header (docs/protocol.md §6.3).
    this.#guard = null;
    this.#unguard();
    const { frame, code, reason } = endingClose(HELLO_TOO_LARGE);
    this.send(frame);
    this.#ws.close(code, reason);
    this.#ws.terminate();
  }

  /**
   * One WebSocket message for the sink, whole: a frame body or a BATCH of them is the
   * session's to read (docs/protocol.md §1.1).
   */
  read(data: Uint8Array, isBinary: boolean): void {
    const ws = this.#ws;
    const sink = this.sink;
    if (ws.readyState !== ws.OPEN || sink === null) return; // refused or closing: nothing more is read
    // docs/protocol.md §1: a text message is a protocol error, whatever its bytes.
    if (isBinary) sink.receive(data);
    else this.#refuseText();
  }

  /**
   * Ends a WebSocket connection that sent a text message: CLOSE 4000, then a WebSocket close
   * with the same code (docs/protocol.md §1). Its session sees the connection end.
   */
  #refuseText(): void {
    const ws = this.#ws;
    const handshaking = this.sink?.handshaking !== false;
    this.#out?.flush();
    const { frame, code, reason } = endingClose(TEXT_MESSAGE);
    ws.send(frame);
    ws.close(code, reason);
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

/**
 * The sockets between their accept (or upgrade request) and their wire. Here rather than in
 * a property of the socket, which would stay on it (and grow it) for the life of the connection.
 */
const PENDING = new WeakMap<Duplex, Pending>();

/** A socket closed before it became a wire: its place in the limits is free again. */
function onPendingClose(this: Duplex): void {
  const pending = PENDING.get(this);
  if (pending === undefined) return;
  PENDING.delete(this);
  clearTimeout(pending.timer);
  if (!isRefusal(pending.reserved)) pending.reserved.release();
}

/** The socket is a wire now (the wire's end releases its ticket): nothing of it is kept here. */
function wired(socket: Duplex): void {
  PENDING.delete(socket);
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
    if (!this.#onPath(req.url ?? '/')) {
      // Attached to someone else's server: other paths may belong to another handler.
      if (this.#own) this.#answer(socket, httpRefusal(404));
      return;
    }
    let pending = PENDING.get(socket);
    if (!this.accepting) return this.#answer(socket, httpRefusal(this.#closing()));
    if (pending !== undefined && isRefusal(pending.reserved))
      return this.#answer(socket, httpRefusal(pending.reserved));
    const origin = req.headers.origin;
    // Browsers always send Origin; other clients (Node, native apps) usually do not.
    const origins = this.#o.origins;
    if (origins !== undefined && origin !== undefined && !origins.includes(origin))
      return this.#answer(socket, httpRefusal(403));
    const peer = normalizeAddress(req.socket.remoteAddress ?? '');
    const address = forwardedClient(peer, req.headers, hooks.trust);
    let ticket: Ticket;
    if (pending === undefined) {
      // The application's server: counted from the upgrade request on.
      const reserved = hooks.reserve(address);
      if (isRefusal(reserved)) return this.#answer(socket, httpRefusal(reserved));
      pending = this.#track(socket, reserved);
      ticket = reserved;
    } else {
      ticket = pending.reserved as Ticket;
      if (ticket.key === null) {
        const refusal = hooks.locate(ticket, address);
        if (refusal !== undefined) return this.#answer(socket, httpRefusal(refusal));
      }
    }
    clearTimeout(pending.timer);
    pending.timer = undefined;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', ignore);
      const wire = new WsWire(ws, socket as Socket, address, ticket, req.headers);
      wired(socket);
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

  /**
   * Whether a request target names the listener's path. The common target (the path itself, or
   * with a query) is compared as it is; any other is parsed as a URL, which normalizes it
   * (dot segments, percent-encoding), at the cost of a URL object per upgrade.
   */
  #onPath(target: string): boolean {
    const path = this.#path;
    if (target.startsWith(path)) {
      const next = target.length === path.length ? -1 : target.charCodeAt(path.length);
      if (next === -1 || next === 0x3f /* ? */ || next === 0x23 /* # */) return true;
    }
    return new URL(target, 'http://localhost').pathname === path;
  }

  #track(socket: Duplex, reserved: Ticket | Refusal): Pending {
    const pending: Pending = { reserved, timer: undefined };
    PENDING.set(socket, pending);
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

  #answer(socket: Duplex, response: string): void {
    const pending = PENDING.get(socket);
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
