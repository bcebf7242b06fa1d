import * as net from 'node:net';
import { lengthFraming } from '../../../src/core/framing/index.js';
import { decodeFrame } from '../../../src/core/protocol/frames-decode.js';
import { encodeFrame } from '../../../src/core/protocol/frames-encode.js';
import { SUPPORTED_VERSIONS, type Frame } from '../../../src/core/protocol/frames.js';

const framing = lengthFraming({ maxFrameSize: 0xffffffff });

/** A HELLO frame body any server accepts (JSON codec, every capability, no token). */
export const helloBody = encodeFrame({
  type: 'hello',
  versions: [...SUPPORTED_VERSIONS],
  capabilities: 7,
  codec: 'json',
});

/** Length-prefixes a frame body for TCP. */
export const framed = (body: Uint8Array): Uint8Array => framing.encode(body);

/** A TCP peer that writes whatever bytes a test gives it and records the frames it gets back. */
export interface RawPeer {
  readonly socket: net.Socket;
  readonly frames: Frame[];
  /** Resolves when the socket is closed (by either side). */
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
  write(bytes: Uint8Array): void;
  /** Sends HELLO and resolves once WELCOME is in (a client sends nothing else before it). */
  hello(): Promise<void>;
  /** The CLOSE frame the server sent, if any. */
  closeFrame(): Extract<Frame, { type: 'close' }> | undefined;
  /**
   * Sends a PING and resolves `'pong'` when its PONG comes back, `'closed'` if the connection
   * ends first: the connection is either still served or closed, never stuck.
   */
  probe(nonce: number): Promise<'pong' | 'closed'>;
  destroy(): void;
}

/** Connects to `url`'s port on 127.0.0.1, from `localAddress` (any of 127/8 on Linux). */
export async function rawPeer(url: string, localAddress = '127.0.0.1'): Promise<RawPeer> {
  const { port } = new URL(url);
  const socket = net.connect({ port: Number(port), host: '127.0.0.1', localAddress });
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  let isClosed = false;
  const decoder = framing.createDecoder((body) => {
    frames.push(decodeFrame(body));
    for (const w of waiters) w();
  });
  socket.on('data', (chunk) => decoder.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      isClosed = true;
      for (const w of waiters) w();
      resolve();
    }),
  );
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return {
    socket,
    frames,
    closed,
    get isClosed() {
      return isClosed;
    },
    write(bytes) {
      if (!socket.destroyed) socket.write(bytes);
    },
    hello() {
      socket.write(framed(helloBody));
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (frames.some((f) => f.type === 'welcome')) done();
          else if (isClosed) done(new Error(`closed during the handshake: ${JSON.stringify(frames)}`));
        };
        const done = (error?: Error): void => {
          waiters.delete(check);
          if (error) reject(error);
          else resolve();
        };
        waiters.add(check);
        check();
      });
    },
    closeFrame: () => frames.find((f): f is Extract<Frame, { type: 'close' }> => f.type === 'close'),
    probe(nonce) {
      if (!socket.destroyed) socket.write(framed(encodeFrame({ type: 'ping', nonce })));
      return new Promise((resolve) => {
        const check = (): void => {
          if (frames.some((f) => f.type === 'pong' && f.nonce === nonce)) done('pong');
          else if (isClosed) done('closed');
        };
        const done = (r: 'pong' | 'closed'): void => {
          waiters.delete(check);
          resolve(r);
        };
        waiters.add(check);
        check();
      });
    },
    destroy: () => socket.destroy(),
  };
}
