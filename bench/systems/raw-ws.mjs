// The floor for WebSocket: a plain `ws` server and client, binary messages, no compression.
import { WebSocket, WebSocketServer } from 'ws';
import { peakMemory } from '../lib/peak.mjs';
import { HOST, MAX_MESSAGE } from './index.mjs';
import { NAIVE_RECONNECT_DELAY, sinkReply } from './raw-net.mjs';

const isSub = (data) => data.length === 3 && data.toString('latin1') === 'sub';

/** Large enough for the 64 MiB messages of the transfer bench (mode 'sink'). */
const SINK_MAX = 2 ** 31 - 1;

export async function startServer({ port = 0, mode = 'echo' }) {
  const maxPayload = mode === 'sink' ? SINK_MAX : MAX_MESSAGE;
  const wss = new WebSocketServer({ port, host: HOST, perMessageDeflate: false, maxPayload });
  const peak = mode === 'sink' ? peakMemory() : undefined;
  const subscribers = new Set();
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('close', () => subscribers.delete(ws));
    if (mode === 'sink') ws.on('message', (data) => ws.send(sinkReply(data, peak)));
    else if (mode === 'echo') ws.on('message', (data) => ws.send(data));
    else
      ws.on('message', (data) => {
        if (isSub(data)) subscribers.add(ws);
        else for (const s of subscribers) s.send(data);
      });
  });
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  return {
    port: wss.address().port,
    connections: () => wss.clients.size,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

export function connectClient({ port, mode, reconnect = false, onMessage = () => {}, onOpen = () => {} }) {
  let ws;
  let closed = false;
  let first = true;
  return new Promise((resolve, reject) => {
    const open = () => {
      const maxPayload = mode === 'sink' ? SINK_MAX : MAX_MESSAGE;
      const w = new WebSocket(`ws://${HOST}:${port}/`, { perMessageDeflate: false, maxPayload });
      ws = w;
      w.binaryType = 'nodebuffer';
      w.on('message', (data) => onMessage(data));
      w.once('open', () => {
        onOpen();
        if (first) {
          first = false;
          resolve(api);
        }
      });
      w.on('error', (err) => {
        if (first && !reconnect) {
          first = false;
          reject(err);
        }
      });
      w.once('close', () => {
        if (reconnect && !closed) setTimeout(open, NAIVE_RECONNECT_DELAY);
      });
    };
    const api = {
      send: (bytes) => ws.send(bytes),
      /** Sends, and resolves once the message was written to the socket. */
      sendFlushed: (bytes) => new Promise((resolve) => ws.send(bytes, () => resolve())),
      subscribe: async () => ws.send(Buffer.from('sub')),
      publish: (bytes) => ws.send(bytes),
      close: async () => {
        closed = true;
        ws.terminate();
      },
    };
    open();
  });
}
