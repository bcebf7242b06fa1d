import type { IncomingHttpHeaders } from 'node:http';
import type * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { serverSessionDefaults } from '../core/protocol/server-session.js';
import { normalizeAddress } from './addresses.js';
import { isRefusal, type Refusal, type Ticket } from './connection-limits.js';
import { refusalFrame } from './refusals.js';
import type { TrustedProxies } from './trust-proxy.js';
import { createUdpListener } from './udp-listener.js';
import type { ServerOptions, ServerTransport } from './server-options.js';

/** One accepted transport connection, before any protocol. */
export interface Wire {
  readonly transport: ServerTransport;
  /** The client's address: the socket's, or the one a trusted proxy named (`trustProxy`). */
  readonly remoteAddress: string;
  /** Its place in the server's connection limits, released when the wire is gone. */
  readonly ticket: Ticket;
  /**
   * The headers of the WebSocket upgrade request (lower-case names, as Node gives them), kept
   * until the handshake completes; undefined on other transports.
   */
  readonly headers?: IncomingHttpHeaders | undefined;
  /**
   * Writes one frame body; false over the high-water mark. `volatile`: the session says the
   * frame may be lost (a datagram wire sends it unreliably).
   */
  send(frame: Uint8Array, volatile?: boolean): boolean;
  /** Bytes written but not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /**
   * Ends after what was written (before the handshake completed: at once). `code` and
   * `reason` are the CLOSE frame's, for a transport whose close carries its own (WebSocket).
   */
  close(code?: number, reason?: string): void;
  /** Ends now. */
  destroy(): void;
  /**
   * Joins the frames written in one tick into one message from now on, made by `join` (the
   * session's BATCH: the client said it takes them); returns whether this wire can. Absent
   * where it cannot (streams already join their writes; datagrams have a size limit).
   */
  batch?(join: (frames: readonly Uint8Array[], bytes: number) => Uint8Array): boolean;
}

/** Where a wire's frames go; `null` from `accept` means refused (the wire is destroyed). */
export interface FrameSink {
  receive(frame: Uint8Array): void;
  closed(): void;
  /** The wire's buffer drained after a write over its high-water mark: it takes more. */
  drained?(): void;
  /**
   * True until the connection's handshake completes: a wire then refuses a frame over the
   * HELLO cap at once, before buffering its body (docs/protocol.md §6.3), and ends without
   * waiting for a close handshake. Absent: the full `maxFrameSize` applies from the first byte.
   */
  readonly handshaking?: boolean;
}

/** What a listener needs of its server (one object, shared by every listener). */
export interface ListenerHooks {
  readonly maxFrameSize: number;
  /** A connection's steps before its HELLO (HTTP request, PROXY header, TLS) end by then, in ms. */
  readonly handshakeTimeout: number;
  readonly trust: TrustedProxies;
  /**
   * Counts a new connection from `address` in the server's limits, or refuses it (a limit, or
   * the server is closing). `null`: a trusted proxy will name the client; see `locate`.
   */
  reserve(address: string | null): Ticket | Refusal;
  /** The client's address of a ticket reserved with `null` is known: count it there, or refuse. */
  locate(ticket: Ticket, address: string): Refusal | undefined;
  /** A wire whose steps are done: the server takes it (`null`: it did not; the wire is gone). */
  accept(wire: Wire): FrameSink | null;
  /**
   * A connection ended before it became a wire: its TLS handshake failed, its PROXY header
   * was missing, invalid or from an untrusted address, or the deadline passed.
   */
  failed(stage: 'tls' | 'proxy' | 'deadline'): void;
}

export interface RunningListener {
  readonly url: string;
  /** Stops taking new connections; existing ones live on. */
  stopAccepting(): void;
  /** Resolves once the listener's handles are released (connections must be gone by then). */
  close(): Promise<void>;
}

/** The largest frame a connection may send before its handshake completes (its HELLO). */
export const HELLO_CAP = serverSessionDefaults.maxHandshakeSize;

export const hostOf = (host: string): string => (host.includes(':') ? `[${host}]` : host);

export async function listenOn(server: net.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
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
      // The cookie exchange proved the address: it is the client's (no proxy speaks for UDP).
      const remoteAddress = normalizeAddress(peer.remote.address);
      const ticket = hooks.reserve(remoteAddress);
      if (isRefusal(ticket)) {
        // CLOSE 1013 as the first frame; without the reliable channel it may be lost, and the
        // client then sees the datagram CLOSE that follows and retries with its backoff.
        peer.send(refusalFrame(ticket));
        peer.close();
        return;
      }
      const sink = hooks.accept({
        transport: 'udp',
        remoteAddress,
        ticket,
        send: (frame, volatile) => peer.send(frame, volatile),
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
