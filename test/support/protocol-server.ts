import * as net from 'node:net';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { lengthFraming } from '../../src/core/framing/index.js';
import {
  localHub,
  MemorySessionStore,
  ServerSession,
  type ServerConnection,
  type ServerRequestHandler,
  type ServerSessionOptions,
  type SessionState,
} from '../../src/core/protocol/server-session.js';

/**
 * A minimal sockline server for protocol tests: the core's server-side session behind a
 * TCP listener (u32 length framing) and a WebSocket listener, sharing one session store
 * and one hub, so resumes and publishes cross transports. Restartable on the same ports.
 */
export interface ProtocolTestServer {
  readonly tcpUrl: string;
  readonly wsUrl: string;
  readonly store: MemorySessionStore;
  readonly handlers: Map<string, ServerRequestHandler>;
  readonly received: Array<{ value: unknown; session: SessionState }>;
  readonly sessions: Set<ServerSession>;
  /** Kills every connection at once (no CLOSE frame), as a crashed process would; session state stays. */
  dropAll(): void;
  /** Stops listening and drops every connection. */
  stop(): Promise<void>;
  /** Listens again on the same ports. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startProtocolServer(
  options: Partial<Omit<ServerSessionOptions, 'store' | 'hub' | 'handlers'>> = {},
): Promise<ProtocolTestServer> {
  const store = new MemorySessionStore();
  const hub = localHub(store);
  const handlers = new Map<string, ServerRequestHandler>();
  const received: Array<{ value: unknown; session: SessionState }> = [];
  const sessions = new Set<ServerSession>();
  const sockets = new Set<{ destroy(): void }>();
  const sessionOptions: ServerSessionOptions = {
    ...options,
    store,
    hub,
    handlers,
    onMessage: options.onMessage ?? ((value, session) => received.push({ value, session })),
  };
  const framing = lengthFraming();

  const accept = (connection: ServerConnection): ServerSession => {
    const session = new ServerSession(connection, sessionOptions);
    sessions.add(session);
    return session;
  };

  let tcp: net.Server;
  let httpServer: http.Server;
  let wss: WebSocketServer;
  let tcpPort = 0;
  let wsPort = 0;

  const listen = async (): Promise<void> => {
    tcp = net.createServer((socket) => {
      socket.setNoDelay(true);
      sockets.add(socket);
      const session = accept({
        send: (frame) => !socket.destroyed && socket.write(framing.encode(frame)),
        close: () => socket.end(),
      });
      const decoder = framing.createDecoder((frame) => session.receive(frame));
      socket.on('data', (chunk) => {
        try {
          decoder.push(chunk);
        } catch {
          socket.destroy();
        }
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        sessions.delete(session);
        session.closed();
      });
    });
    await new Promise<void>((resolve) => tcp.listen(tcpPort, '127.0.0.1', resolve));
    tcpPort = (tcp.address() as AddressInfo).port;

    httpServer = http.createServer();
    wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
    wss.on('connection', (ws) => {
      const raw = { destroy: () => ws.terminate() };
      sockets.add(raw);
      const session = accept({
        send: (frame) => {
          ws.send(frame);
          return true;
        },
        close: () => ws.close(),
      });
      ws.on('message', (data: Buffer) => session.receive(data));
      ws.on('error', () => {});
      ws.on('close', () => {
        sockets.delete(raw);
        sessions.delete(session);
        session.closed();
      });
    });
    await new Promise<void>((resolve) => httpServer.listen(wsPort, '127.0.0.1', resolve));
    wsPort = (httpServer.address() as AddressInfo).port;
  };

  const dropAll = (): void => {
    for (const s of [...sockets]) s.destroy();
  };

  const stop = async (): Promise<void> => {
    dropAll();
    await Promise.all([
      new Promise<void>((resolve) => tcp.close(() => resolve())),
      new Promise<void>((resolve) => wss.close(() => httpServer.close(() => resolve()))),
    ]);
  };

  await listen();
  return {
    get tcpUrl() {
      return `tcp://127.0.0.1:${tcpPort}`;
    },
    get wsUrl() {
      return `ws://127.0.0.1:${wsPort}`;
    },
    store,
    handlers,
    received,
    sessions,
    dropAll,
    stop,
    start: listen,
    async close() {
      await stop();
      store.clear();
    },
  };
}
