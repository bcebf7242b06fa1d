import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { createLink, createRawConnection, type RawLinkOptions } from '../../src/core/connect-link.js';
import type { ConnectOptions, ConnectTarget } from '../../src/core/connect-options.js';
import type { Link } from '../../src/core/link/api.js';
import type { HandshakeContext, HandshakeReceiver } from '../../src/core/link/types.js';
import { browserTransports } from '../../src/browser/transports.js';
import { createCompactLink, type CompactHandshakeContext } from '../../src/browser/compact/link.js';
import { checkRaw } from '../../src/browser/compact/options.js';

/**
 * One case list, run against both links of the browser build's raw mode: the general `Link`
 * over the WHATWG-WebSocket transport, and the compact link. Both get `ws`'s `WebSocket`
 * injected, against real `ws` servers on 127.0.0.1, with real timers.
 */
export type Handshake = (context: CompactHandshakeContext) => HandshakeReceiver;
export type Factory = (target: ConnectTarget, options?: RawLinkOptions, handshake?: Handshake) => Link;

export const LINK_IMPLEMENTATIONS: ReadonlyArray<[string, Factory]> = [
  [
    'Link',
    (target, options = {}, handshake) => {
      const withWs = { ...options, WebSocket } as RawLinkOptions;
      if (handshake === undefined) return createRawConnection(target, withWs, browserTransports);
      const options_ = { ...withWs, protocol: 'raw' } as ConnectOptions;
      return createLink(
        target,
        options_,
        browserTransports,
        handshake as (c: HandshakeContext) => HandshakeReceiver,
      );
    },
  ],
  [
    'compact link',
    (target, options = {}, handshake) => {
      // What connectRaw() does before the factory: the names and types of raw mode.
      checkRaw(options);
      return createCompactLink(target, { ...options, WebSocket } as RawLinkOptions, handshake);
    },
  ],
];

export interface Peer {
  url: string;
  port: number;
  /** Server side of each connection, in the order they came. */
  sockets: ServerSocket[];
  /** What the server received, per connection. */
  received: string[][];
  close(): Promise<void>;
}

/** A `ws` server on port 0: echoes unless `onConnection` says otherwise. */
export async function startPeer(onConnection?: (socket: ServerSocket, index: number) => void): Promise<Peer> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server });
  const sockets: ServerSocket[] = [];
  const received: string[][] = [];
  wss.on('connection', (socket) => {
    const got: string[] = [];
    sockets.push(socket);
    received.push(got);
    socket.on('error', () => {});
    socket.on('message', (data, isBinary) => got.push(isBinary ? `bin:${String(data)}` : String(data)));
    if (onConnection) onConnection(socket, sockets.length - 1);
    else socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    sockets,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of wss.clients) s.terminate();
        wss.close(() => server.close(() => resolve()));
      }),
  };
}
