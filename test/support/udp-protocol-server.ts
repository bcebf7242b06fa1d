import { createConnection, type TransportResolver } from '../../src/core/connect.js';
import type { ProtocolConnectOptions } from '../../src/core/connect-options.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { byteWires } from '../../src/core/link/byte-wires.js';
import {
  localHub,
  MemorySessionStore,
  ServerSession,
  type ServerRequestHandler,
  type ServerSessionOptions,
  type SessionState,
} from '../../src/core/protocol/server-session.js';
import { createUdpListener, type UdpListener, type UdpListenerOptions } from '../../src/node/udp-listener.js';
import { udpSessionTransport, type UdpSessionTransportOptions } from '../../src/node/udp-session.js';

/**
 * The core's server-side session behind the UDP listener, set up the way
 * test/support/protocol-server.ts does it for TCP and WebSocket.
 */
export interface UdpProtocolTestServer {
  readonly url: string;
  readonly port: number;
  readonly listener: UdpListener;
  readonly store: MemorySessionStore;
  readonly handlers: Map<string, ServerRequestHandler>;
  readonly received: Array<{ value: unknown; session: SessionState }>;
  readonly sessions: Set<ServerSession>;
  close(): Promise<void>;
}

export async function startUdpProtocolServer(
  options: {
    listener?: Partial<Omit<UdpListenerOptions, 'onPeer'>>;
    session?: Partial<Omit<ServerSessionOptions, 'store' | 'hub' | 'handlers'>>;
  } = {},
): Promise<UdpProtocolTestServer> {
  const store = new MemorySessionStore();
  const hub = localHub(store);
  const handlers = new Map<string, ServerRequestHandler>();
  const received: Array<{ value: unknown; session: SessionState }> = [];
  const sessions = new Set<ServerSession>();
  const sessionOptions: ServerSessionOptions = {
    ...options.session,
    store,
    hub,
    handlers,
    onMessage: options.session?.onMessage ?? ((value, session) => received.push({ value, session })),
  };
  const listener = await createUdpListener({
    ...options.listener,
    onPeer(peer) {
      const session = new ServerSession(peer, sessionOptions);
      sessions.add(session);
      peer.onFrame = (frame) => session.receive(frame);
      peer.onClose = () => {
        sessions.delete(session);
        session.closed();
      };
    },
  });
  return {
    url: listener.url,
    port: listener.port,
    listener,
    store,
    handlers,
    received,
    sessions,
    async close() {
      await listener.close();
      store.clear();
    },
  };
}

export type UdpDatagramOptions = Partial<Omit<UdpSessionTransportOptions, 'highWaterMark'>>;

/**
 * A protocol-mode client over the datagram layer, built as `createConnection` builds every
 * client, with a resolver whose `open()` returns `udpSessionTransport` (what the lead wires
 * into `connect()` for `udp://`).
 */
export function connectUdp(
  url: string,
  options: ProtocolConnectOptions = {},
  datagram: UdpDatagramOptions = {},
): SocklineClient {
  const resolver: TransportResolver = {
    check() {},
    framing: () => null,
    wire: byteWires,
    open: (u, _scheme, handlers, o) =>
      udpSessionTransport(u, handlers, {
        ...datagram,
        highWaterMark: o.highWaterMark ?? 64 << 10,
        reliable: datagram.reliable ?? false,
      }),
  };
  return createConnection(url, options, resolver) as SocklineClient;
}
