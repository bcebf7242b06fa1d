// The floor for TCP: node:net with a hand-written u32 big-endian length prefix, parsed
// incrementally (a chunk list and a byte count; a view when a frame lies in one chunk).
import * as net from 'node:net';
import { peakMemory } from '../lib/peak.mjs';
import { HOST, MAX_MESSAGE } from './index.mjs';

/** Incremental parser of u32 BE length-prefixed frames. */
export class FrameParser {
  #chunks = [];
  #bytes = 0;
  #need = -1;

  constructor(onFrame, maxFrame = MAX_MESSAGE) {
    this.onFrame = onFrame;
    this.maxFrame = maxFrame;
  }

  push(chunk) {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    for (;;) {
      if (this.#need < 0) {
        if (this.#bytes < 4) return;
        this.#need = this.#take(4).readUInt32BE(0);
        if (this.#need > this.maxFrame) throw new Error(`frame of ${this.#need} bytes is too large`);
      }
      if (this.#bytes < this.#need) return;
      const frame = this.#take(this.#need);
      this.#need = -1;
      this.onFrame(frame);
    }
  }

  /** Removes `n` bytes from the front: a view when they lie in the first chunk, else a copy. */
  #take(n) {
    this.#bytes -= n;
    const first = this.#chunks[0];
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.#chunks[0];
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return out;
  }
}

/** Writes one frame: header and payload corked into one write, the payload not copied. */
export function writeFrame(socket, payload) {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(payload.length, 0);
  socket.cork();
  socket.write(header);
  const ok = socket.write(payload);
  socket.uncork();
  return ok;
}

function frameOf(payload) {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

const isSub = (frame) => frame.length === 3 && frame.toString('latin1') === 'sub';

/**
 * The receiving end of the transfer bench (mode 'sink'): every frame is answered with a 1-byte
 * frame once read, except 'peak', answered with this process's peak memory since the last one.
 */
export function sinkReply(frame, peak) {
  if (frame.length === 4 && frame.toString('latin1') === 'peak') {
    const reply = Buffer.from(JSON.stringify(peak.read()));
    peak.reset();
    return reply;
  }
  return ACK;
}

const ACK = Buffer.from('k');

export async function startServer({ port = 0, mode = 'echo' }) {
  const peak = mode === 'sink' ? peakMemory() : undefined;
  const sockets = new Set();
  const subscribers = new Set();
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      subscribers.delete(socket);
    });
    const parser = new FrameParser(
      mode === 'sink'
        ? (frame) => writeFrame(socket, sinkReply(frame, peak))
        : mode === 'echo'
          ? (frame) => writeFrame(socket, frame)
          : (frame) => {
              if (isSub(frame)) subscribers.add(socket);
              else {
                // One framed buffer for every subscriber, as hand-written fan-out code does.
                const framed = frameOf(frame);
                for (const s of subscribers) s.write(framed);
              }
            },
      mode === 'sink' ? 2 ** 31 : MAX_MESSAGE,
    );
    // Corked for the whole chunk: the echoes of every frame in it leave in one write.
    socket.on('data', (chunk) => {
      socket.cork();
      try {
        parser.push(chunk);
      } catch {
        socket.destroy();
      } finally {
        socket.uncork();
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, resolve);
  });
  return {
    port: server.address().port,
    connections: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Retries `open` every `delay` ms after a close: the fixed-delay loop of hand-written clients. */
export const NAIVE_RECONNECT_DELAY = 1_000;

export function connectClient({ port, mode, reconnect = false, onMessage = () => {}, onOpen = () => {} }) {
  let socket;
  let closed = false;
  let first = true;
  return new Promise((resolve, reject) => {
    const open = () => {
      const s = net.connect(port, HOST);
      socket = s;
      s.setNoDelay(true);
      // A sink client sends large messages: its frames may be as large as they are.
      const parser = new FrameParser(onMessage, mode === 'sink' ? 2 ** 31 : MAX_MESSAGE);
      s.on('data', (chunk) => {
        s.cork();
        try {
          parser.push(chunk);
        } finally {
          s.uncork();
        }
      });
      s.once('connect', () => {
        onOpen();
        if (first) {
          first = false;
          resolve(api);
        }
      });
      s.on('error', (err) => {
        if (first && !reconnect) {
          first = false;
          reject(err);
        }
      });
      s.once('close', () => {
        if (reconnect && !closed) setTimeout(open, NAIVE_RECONNECT_DELAY);
      });
    };
    const api = {
      send: (bytes) => writeFrame(socket, bytes),
      /** Sends, and resolves once the frame was written to the socket. */
      sendFlushed: (bytes) =>
        new Promise((resolve) => {
          const header = Buffer.allocUnsafe(4);
          header.writeUInt32BE(bytes.length, 0);
          socket.cork();
          socket.write(header);
          socket.write(bytes, () => resolve());
          socket.uncork();
        }),
      subscribe: async () => void writeFrame(socket, Buffer.from('sub')),
      publish: (bytes) => writeFrame(socket, bytes),
      close: async () => {
        closed = true;
        socket.destroy();
      },
    };
    open();
  });
}
