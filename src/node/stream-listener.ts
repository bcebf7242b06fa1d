import * as net from 'node:net';
import * as tls from 'node:tls';
import { Coalescer, concat, DIRECT_BYTES, type ChunkSink } from '../core/coalesce.js';
import {
  createLengthDecoder,
  lengthFraming,
  type FrameWriter,
  type LengthDecoder,
} from '../core/framing/index.js';
import { endingClose } from '../core/protocol/server/connection-end.js';
import { normalizeAddress } from './addresses.js';
import { plainBytes } from './plain-bytes.js';
import { isRefusal, type Refusal, type Ticket } from './connection-limits.js';
import { ProxyHeaderReader } from './proxy-protocol.js';
import { refusalFrame, Refusing } from './refusals.js';
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

/** A frame header declaring more than the HELLO cap before the handshake (docs/protocol.md §6.3). */
const HELLO_TOO_LARGE = { violation: 'HELLO over the size cap' } as const;

/** How long a TCP/TLS socket may stay half-closed after our FIN, in ms. */
const END_GRACE = 5_000;

const ignore = (): void => {};

/**
 * A tick's write buffer, cut from Node's `Buffer` pool while it is small (under 4 KiB): a
 * `new Uint8Array` of more than 64 bytes is a native allocation of its own, zeroed, made and
 * freed for every tick of writes (the WELCOME of every connection among them).
 */
function pooledBytes(size: number): Uint8Array {
  return Buffer.allocUnsafe(size);
}

/** What every wire of one listener shares: kept once, not in each wire. */
interface StreamKind {
  readonly transport: 'tcp' | 'tls';
  readonly writer: FrameWriter;
  readonly maxFrameSize: number;
}

/**
 * A TCP/TLS socket as a {@link Wire}. A class rather than an object literal per connection:
 * its methods live on the prototype (an object literal with a getter is also kept in
 * dictionary mode by V8, several hundred bytes per idle connection).
 */
class StreamWire implements Wire, ChunkSink {
  readonly remoteAddress: string;
  readonly ticket: Ticket;
  readonly #socket: net.Socket;
  readonly #kind: StreamKind;
  /**
   * The frames written in one tick leave in one write (one system call, not one per frame).
   * Made by the first write of a tick and dropped when it flushes: an idle connection holds none.
   */
  #out: Coalescer | null = null;
  /** What the last joined write held: the first buffer of the next tick is sized from it. */
  #hint = 256;
  #sink: FrameSink | null = null;
  #decoder: LengthDecoder | null = null;
  /** True until the sink's handshake completes: frames are capped at the HELLO size. */
  #handshaking = true;

  constructor(socket: net.Socket, kind: StreamKind, remoteAddress: string, ticket: Ticket) {
    this.remoteAddress = remoteAddress;
    this.ticket = ticket;
    this.#socket = socket;
    this.#kind = kind;
  }

  get transport(): 'tcp' | 'tls' {
    return this.#kind.transport;
  }

  /** The frames of one tick, joined by `#out`: it has nothing pending any more. */
  writeChunk(chunk: Uint8Array): void {
    const socket = this.#socket;
    const out = this.#out;
    if (out !== null) this.#hint = out.tickHint;
    this.#out = null;
    if (!socket.destroyed) socket.write(chunk);
  }

  send(frame: Uint8Array): boolean {
    const socket = this.#socket;
    if (socket.destroyed) return false;
    const out = (this.#out ??= new Coalescer(this, concat, DIRECT_BYTES, this.#hint, pooledBytes));
    out.pushFrame(frame, this.#kind.writer); // throws ERR_FRAME_TOO_LARGE before anything is written
    return socket.writableLength + out.bytes < socket.writableHighWaterMark;
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength + (this.#out?.bytes ?? 0);
  }

  close(): void {
    const socket = this.#socket;
    this.#out?.flush();
    socket.end();
    // A client that neither reads nor closes must not pin the socket half-open forever.
    socket.setTimeout(END_GRACE, () => socket.destroy());
  }

  destroy(): void {
    this.#out?.clear();
    this.#out = null;
    this.#socket.destroy();
  }

  /** From now on the frames read go to `sink` (the connection was accepted). */
  read(sink: FrameSink): void {
    this.#sink = sink;
    // Before the handshake completes, a frame is a HELLO: a header declaring more than the
    // HELLO cap is refused at once, so an unauthenticated peer cannot make the server hold
    // up to maxFrameSize (docs/protocol.md §6.3). The full limit applies once the session is open.
    const maxFrameSize = this.#kind.maxFrameSize;
    this.#handshaking = sink.handshaking !== false;
    this.#decoder = createLengthDecoder(
      sink,
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
      decoder.maxFrameSize = this.#kind.maxFrameSize;
    }
    try {
      decoder.push(plainBytes(chunk));
    } catch {
      // A frame over the limit, refused on its header. Before the handshake that is a HELLO
      // over the cap: CLOSE 4000 (docs/protocol.md §6.3), then the socket ends.
      const socket = this.#socket;
      if (!this.#handshaking || socket.writableEnded) {
        socket.destroy();
        return;
      }
      this.send(endingClose(HELLO_TOO_LARGE).frame);
      this.close();
    }
  }

  /** The socket closed. */
  ended(): void {
    this.#sink?.closed();
  }

  /** The socket's buffer drained. */
  drained(): void {
    this.#sink?.drained?.();
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

function onStreamDrain(this: net.Socket): void {
  (this as WiredSocket)[STREAM_WIRE].drained();
}

function destroyOnError(this: net.Socket): void {
  this.destroy();
}

/**
 * One TCP or TLS listener. A connection goes, before it is a {@link StreamWire}:
 * reserved in the server's limits (by its address, or, on a `proxyProtocol` listener, by the
 * address its PROXY header names), through its TLS handshake if any; all of it within
 * `handshakeTimeout` of the accept. A refused one is answered CLOSE 1013 (over TLS on a TLS
 * listener) and ends. A plain TCP connection without PROXY protocol takes none of those
 * steps: it is a wire at once, with no timer or closure of its own.
 */
class StreamListener {
  readonly #kind: StreamKind;
  readonly #hooks: ListenerHooks;
  readonly #framing: ReturnType<typeof lengthFraming>;
  readonly #context: tls.SecureContext | undefined;
  readonly #proxy: boolean;
  readonly #refusing = new Refusing();
  /** Sockets in their steps before the wire (PROXY header, TLS handshake). */
  readonly #admitting = new Set<net.Socket>();

  constructor(transport: 'tcp' | 'tls', o: StreamOptions, hooks: ListenerHooks) {
    this.#hooks = hooks;
    this.#framing = lengthFraming({ maxFrameSize: hooks.maxFrameSize });
    this.#kind = Object.freeze({ transport, writer: this.#framing.writer, maxFrameSize: hooks.maxFrameSize });
    this.#proxy = o.proxyProtocol === true;
    this.#context =
      transport === 'tls'
        ? tls.createSecureContext({ cert: o.cert, key: o.key, ...(o.ca !== undefined ? { ca: o.ca } : {}) })
        : undefined;
  }

  readonly connection = (socket: net.Socket): void => {
    socket.on('error', ignore); // the 'close' that follows is what counts
    socket.setNoDelay(true);
    const hooks = this.#hooks;
    const peer = normalizeAddress(socket.remoteAddress ?? '');
    if (this.#proxy) {
      // Only a trusted proxy may say who the client is (spec §2: "only trusted proxies").
      if (!hooks.trust.has(peer)) {
        hooks.failed('proxy');
        socket.destroy();
        return;
      }
      this.#admit(socket, peer, hooks.reserve(null));
      return;
    }
    const ticket = hooks.reserve(peer);
    if (this.#context === undefined && !isRefusal(ticket)) this.#wire(socket, peer, ticket);
    else this.#admit(socket, peer, ticket);
  };

  /** The steps before the wire, under one deadline from the accept. */
  #admit(socket: net.Socket, peer: string, reserved: Ticket | Refusal): void {
    const hooks = this.#hooks;
    let outcome = reserved;
    let address = peer;
    let stage: 'proxy' | 'tls' | 'done' = this.#proxy ? 'proxy' : 'tls';
    let current: net.Socket = socket;
    if (isRefusal(outcome) && !this.#refusing.take(socket)) return;
    const timer = setTimeout(() => {
      current.destroy();
      socket.destroy();
    }, hooks.handshakeTimeout);
    // Closed before it became a wire (the deadline, a bad PROXY header, a failed TLS
    // handshake, or the client left): one failure, counted here only.
    this.#admitting.add(socket);
    const end = (): void => {
      clearTimeout(timer);
      this.#admitting.delete(socket);
      if (isRefusal(outcome)) return;
      outcome.release();
      hooks.failed(stage === 'proxy' ? 'proxy' : this.#context !== undefined ? 'tls' : 'deadline');
    };
    socket.once('close', end);

    const ready = (): void => {
      stage = 'done';
      socket.off('close', end);
      clearTimeout(timer);
      this.#admitting.delete(socket);
      if (isRefusal(outcome)) this.#refuse(current, outcome);
      else this.#wire(current, address, outcome);
    };
    const secure = (): void => {
      stage = 'tls';
      if (this.#context === undefined) return ready();
      const t = new tls.TLSSocket(socket, { isServer: true, secureContext: this.#context });
      current = t;
      t.on('error', destroyOnError);
      t.once('secure', ready);
    };
    if (!this.#proxy) return secure();

    const reader = new ProxyHeaderReader();
    const onData = (chunk: Buffer): void => {
      let parsed;
      try {
        parsed = reader.push(chunk);
      } catch {
        // Not a PROXY header (spec §2.1: "must ... cause the receiver to abort the connection").
        socket.off('data', onData);
        socket.destroy();
        return;
      }
      if (parsed === undefined) return;
      socket.off('data', onData);
      socket.pause();
      if (parsed.rest.length > 0) socket.unshift(parsed.rest);
      const h = parsed.header;
      if (h.command === 'proxy') address = normalizeAddress(h.source.address);
      if (!isRefusal(outcome)) {
        const refusal = hooks.locate(outcome, address);
        if (refusal !== undefined) {
          outcome.release();
          outcome = refusal;
          if (!this.#refusing.take(socket)) return;
        }
      }
      secure();
    };
    socket.on('data', onData);
  }

  /** The connection is accepted: from now on its bytes are frames for the server. */
  #wire(socket: net.Socket, address: string, ticket: Ticket): void {
    const hooks = this.#hooks;
    const wire = new StreamWire(socket, this.#kind, address, ticket);
    // Listeners shared by every connection find their wire on the socket (no closures each).
    (socket as WiredSocket)[STREAM_WIRE] = wire;
    socket.on('close', onStreamClose);
    const sink = hooks.accept(wire);
    if (sink === null) return;
    wire.read(sink);
    socket.on('data', onStreamData);
    socket.on('drain', onStreamDrain);
    socket.resume();
  }

  /** Ends the connections that are not wires yet (the wires are the server's to end). */
  destroyPending(): void {
    for (const socket of this.#admitting) socket.destroy();
    this.#refusing.destroyAll();
  }

  /** CLOSE 1013 with the limit and a `reconnectAfter`, then the end. */
  #refuse(socket: net.Socket, refusal: Refusal): void {
    const frame = this.#framing.encode(refusalFrame(refusal));
    this.#refusing.answer(socket, frame);
  }
}

type StreamOptions = NonNullable<ServerOptions['tcp']> &
  Partial<Pick<NonNullable<ServerOptions['tls']>, 'cert' | 'key' | 'ca'>>;

/** Starts a TCP (`tls` absent) or TLS listener; see {@link StreamListener}. */
export async function listenStream(
  transport: 'tcp' | 'tls',
  o: StreamOptions,
  host: string,
  hooks: ListenerHooks,
): Promise<RunningListener> {
  const listener = new StreamListener(transport, o, hooks);
  const server = net.createServer(listener.connection);
  const port = await listenOn(server, o.port ?? 0, o.host ?? host);
  let closed: Promise<void> | undefined;
  const stop = (): Promise<void> => (closed ??= closeServer(server));
  return {
    url: `${transport}://${hostOf(o.host ?? host)}:${port}`,
    stopAccepting: () => void stop(),
    close: () => {
      listener.destroyPending();
      return stop();
    },
  };
}
