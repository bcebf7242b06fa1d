import { vi } from 'vitest';
import { createConnection, type TransportResolver } from '../../src/core/connect.js';
import type { ConnectOptions } from '../../src/core/connect-options.js';
import { MemoryServer } from '../../src/core/memory-transport.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import type { ProtocolOptions } from '../../src/core/protocol/options.js';
import {
  localHub,
  MemorySessionStore,
  ServerSession,
  type ServerRequestHandler,
  type ServerSessionOptions,
  type SessionState,
} from '../../src/core/protocol/server-session.js';

/**
 * Both roles over the in-memory transport, on fake time: the client (SocklineClient over a
 * Link) and the server (a ServerSession per connection over the same store), no sockets.
 */
export interface World {
  memory: MemoryServer;
  store: MemorySessionStore;
  handlers: Map<string, ServerRequestHandler>;
  received: unknown[];
  connect(options?: ConnectOptions & ProtocolOptions): SocklineClient;
  session(): SessionState;
}

export function world(
  options: Partial<Omit<ServerSessionOptions, 'store' | 'hub' | 'handlers'>> = {},
): World {
  const memory = new MemoryServer({ kind: 'message' });
  const store = new MemorySessionStore();
  const handlers = new Map<string, ServerRequestHandler>();
  const received: unknown[] = [];
  const sessionOptions: ServerSessionOptions = {
    store,
    hub: localHub(store),
    handlers,
    onMessage: (value) => received.push(value),
    ...options,
  };
  memory.onConnection = (end) => {
    const session = new ServerSession({ send: (f) => end.send(f), close: () => end.close() }, sessionOptions);
    end.onData = (d) => session.receive(d as Uint8Array);
    end.onClose = () => session.closed();
  };
  const resolver: TransportResolver = {
    check() {},
    framing: () => null,
    open: (url, _scheme, handlers) => memory.connect(url, handlers, { highWaterMark: 1 << 20 }),
  };
  return {
    memory,
    store,
    handlers,
    received,
    connect: (o = {}) =>
      createConnection(
        'ws://memory/',
        { reconnect: { initialDelay: 100, jitter: 0 }, ...o },
        resolver,
      ) as SocklineClient,
    session: () => [...store.all()][0]!,
  };
}

export const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(0);
};
