import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { decodeFrame } from '../../../src/core/protocol/frames-decode.js';
import type { Frame } from '../../../src/core/protocol/frames.js';

/**
 * Sockets a test drives byte by byte, from any loopback address (Linux routes all of
 * 127/8, so `localAddress: '127.0.0.2'` is another client address on the same machine).
 */

export { rawPeer as streamPeer, type RawPeer as StreamPeer } from '../../reliability/support/raw-peer.js';

/** The answer to a hand-written WebSocket upgrade request. */
export interface Upgrade {
  readonly socket: net.Socket;
  readonly status: number;
  /** Response headers, lower-case names. */
  readonly headers: Record<string, string>;
  /** Bytes that came after the response head. */
  readonly rest: Buffer;
  readonly closed: Promise<void>;
}

/** The upgrade request of `url` with `headers`, as a client writes it. */
export function upgradeRequest(url: string, headers: Record<string, string> = {}): string {
  const { host, pathname, search } = new URL(url);
  const lines = [
    `GET ${pathname}${search} HTTP/1.1`,
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Connects from `localAddress`, writes the upgrade request, resolves with the response head. */
export async function rawUpgrade(
  url: string,
  options: { headers?: Record<string, string>; localAddress?: string } = {},
): Promise<Upgrade> {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ port: Number(port), host: hostname, localAddress: options.localAddress });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(upgradeRequest(url, options.headers));
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      const [statusLine = '', ...lines] = head.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        socket,
        status: Number(statusLine.split(' ')[1]),
        headers,
        rest: head.subarray(end + 4),
        closed,
      });
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before a response: ${head.toString('latin1')}`)));
  });
}

/**
 * A masked client WebSocket frame. `declared` overrides the payload length in the header
 * (a frame that announces more than it carries).
 */
export function wsFrame(
  payload: Uint8Array,
  options: { opcode?: number; fin?: boolean; declared?: number } = {},
): Buffer {
  const { opcode = 2, fin = true, declared = payload.length } = options;
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  if (declared < 126) head.push(0x80 | declared);
  else if (declared < 65536) head.push(0x80 | 126, declared >> 8, declared & 0xff);
  else {
    head.push(0x80 | 127, 0, 0, 0, 0);
    head.push((declared >>> 24) & 0xff, (declared >>> 16) & 0xff, (declared >>> 8) & 0xff, declared & 0xff);
  }
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
  return Buffer.concat([Buffer.from(head), mask, body]);
}

/** Sockline frames in the server's unmasked WebSocket messages (binary, unfragmented). */
export function serverFrames(bytes: Buffer): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at]! & 0x0f;
    let len = bytes[at + 1]! & 0x7f;
    let off = at + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(off));
      off += 8;
    }
    if (off + len > bytes.length) break;
    if (opcode === 2) frames.push(decodeFrame(bytes.subarray(off, off + len)));
    at = off + len;
  }
  return frames;
}
