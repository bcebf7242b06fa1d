// socket.io 4: the server from `socket.io`, the client from `socket.io-client`, both on the
// WebSocket transport only (no long-polling upgrade). Echo: an event answered with the same
// event; fan-out: a room and `io.to(room).emit`. Client reconnection: socket.io's defaults.
import { createServer as createHttpServer } from 'node:http';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { HOST, MAX_MESSAGE } from './index.mjs';

export async function startServer({ port = 0, mode = 'echo' }) {
  const http = createHttpServer();
  const server = new Server(http, {
    transports: ['websocket'],
    maxHttpBufferSize: MAX_MESSAGE,
    perMessageDeflate: false,
  });
  server.on('connection', (socket) => {
    if (mode === 'echo') socket.on('m', (data) => socket.emit('m', data));
    else {
      socket.on('sub', (ack) => {
        socket.join('fan');
        ack?.();
      });
      socket.on('pub', (data) => server.to('fan').emit('m', data));
    }
  });
  await new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, HOST, resolve);
  });
  return {
    port: http.address().port,
    connections: () => server.engine.clientsCount,
    close: async () => {
      server.disconnectSockets(true);
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export function connectClient({ port, onMessage = () => {}, onOpen = () => {} }) {
  const socket = io(`http://${HOST}:${port}`, { transports: ['websocket'], forceNew: true });
  // Binary arrives as a Buffer under Node; normalise in case a build hands over an ArrayBuffer.
  socket.on('m', (data) => onMessage(data instanceof ArrayBuffer ? Buffer.from(data) : data));
  socket.on('connect', () => onOpen());
  const api = {
    send: (bytes) => socket.emit('m', bytes),
    subscribe: () => new Promise((resolve) => socket.emit('sub', () => resolve())),
    publish: (bytes) => socket.emit('pub', bytes),
    close: async () => void socket.disconnect(),
  };
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('connect_error', reject);
      resolve(api);
    });
    socket.once('connect_error', (err) => {
      socket.disconnect();
      reject(err);
    });
  });
}
