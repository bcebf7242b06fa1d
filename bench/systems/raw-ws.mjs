// The floor for WebSocket: a plain `ws` server and client, binary messages, no compression.
import { WebSocket, WebSocketServer } from 'ws';
import { HOST, MAX_MESSAGE } from './index.mjs';
import { NAIVE_RECONNECT_DELAY } from './raw-net.mjs';

const isSub = (data) => data.length === 3 && data.toString('latin1') === 'sub';

export async function startServer({ port = 0, mode = 'echo' }) {
  const wss = new WebSocketServer({ port, host: HOST, perMessageDeflate: false, maxPayload: MAX_MESSAGE });
  const subscribers = new Set();
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('close', () => subscribers.delete(ws));
    if (mode === 'echo') ws.on('message', (data) => ws.send(data));
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

export function connectClient({ port, reconnect = false, onMessage = () => {}, onOpen = () => {} }) {
  let ws;
  let closed = false;
  let first = true;
  return new Promise((resolve, reject) => {
    const open = () => {
      const w = new WebSocket(`ws://${HOST}:${port}/`, { perMessageDeflate: false, maxPayload: MAX_MESSAGE });
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
