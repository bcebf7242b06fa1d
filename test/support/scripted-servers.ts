import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { lengthFraming } from '../../src/core/framing/index.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import { decodeFrame } from '../../src/core/protocol/frames-decode.js';
import type { Frame } from '../../src/core/protocol/frames.js';

/** Servers a test starts on 127.0.0.1 port 0 and scripts by hand, with how to stop them. */
export interface Scripted {
  readonly url: string;
  /** Connections (TCP) or upgrade requests (HTTP) received so far. */
  readonly count: number;
  close(): Promise<void>;
}

/** A node:net server that runs `onSocket` for each connection. */
export async function tcpServer(onSocket: (socket: net.Socket) => void): Promise<Scripted> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get count() {
      return count;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A node:http server (a page on plain requests) whose WebSocket upgrade requests get
 * `answer`; `requests` keeps them, headers included.
 */
export async function upgradeServer(
  answer: (req: http.IncomingMessage, socket: net.Socket) => void,
): Promise<Scripted & { readonly requests: http.IncomingMessage[] }> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((_req, res) => res.end('<html>a page</html>'));
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    requests.push(req);
    answer(req, socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`,
    requests,
    get count() {
      return requests.length;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** An upgrade answer: the status line, the headers, no body. */
export const httpStatus =
  (status: number, text: string, headers: Record<string, string> = {}) =>
  (_req: http.IncomingMessage, socket: net.Socket): void => {
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.end(`HTTP/1.1 ${status} ${text}\r\n${lines.join('')}Content-Length: 0\r\n\r\n`);
  };

const framing = lengthFraming();

/**
 * A sockline server written by hand over TCP: every frame a client sends goes to `onFrame`
 * with the connection's number (from 1) and a function that writes frames back (a CLOSE
 * also ends the socket).
 */
export function scriptedSockline(
  onFrame: (frame: Frame, write: (...frames: Frame[]) => void, connection: number) => void,
): Promise<Scripted> {
  let n = 0;
  return tcpServer((socket) => {
    const connection = ++n;
    const write = (...frames: Frame[]): void => {
      for (const f of frames) socket.write(framing.encode(encodeFrame(f)));
      if (frames.some((f) => f.type === 'close')) socket.end();
    };
    const decoder = framing.createDecoder((bytes) => onFrame(decodeFrame(bytes), write, connection));
    socket.on('data', (chunk) => decoder.push(chunk));
  });
}

/** A WELCOME that opens session `sessionId` with the usual limits. */
export function welcome(sessionId = 's1'): Frame {
  return {
    type: 'welcome',
    version: 2,
    sessionId,
    resumed: false,
    heartbeatInterval: 10_000,
    heartbeatTimeout: 5_000,
    lastSeq: 0,
    maxFrameSize: 1 << 20,
    maxInFlight: 100,
    resumeWindow: 60_000,
    maxMessageSize: 0,
    maxStreams: 0,
  };
}
