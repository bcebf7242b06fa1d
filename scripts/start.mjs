// `npm start`: a sockline endpoint on TCP and WebSocket, plus plain echo servers for raw mode.
// Ports come from the environment (0 picks a free one):
//   SOCKLINE_TCP_PORT (7000), SOCKLINE_WS_PORT (8080)  — the sockline protocol
//   ECHO_TCP_PORT (7001), ECHO_WS_PORT (8081)          — raw echo (TCP echoes bytes, WS echoes messages)
import * as http from 'node:http';
import * as net from 'node:net';
import { WebSocketServer } from 'ws';
import { lengthFraming, localHub, MemorySessionStore, ServerSession } from '../dist/node.js';

const host = process.env.HOST ?? '127.0.0.1';
const port = (name, fallback) => Number(process.env[name] ?? fallback);

const store = new MemorySessionStore();
const handlers = new Map([
  ['echo', (params) => params],
  ['sum', (params) => params.reduce((a, b) => a + b, 0)],
  ['time', () => new Date().toISOString()],
]);
const options = { store, hub: localHub(store), handlers };
function accept(connection) {
  const session = new ServerSession(connection, {
    ...options,
    // Plain messages are echoed back to their sender.
    onMessage: (value) => session.send(value),
  });
  return session;
}

const framing = lengthFraming();
const tcp = net.createServer((socket) => {
  socket.setNoDelay(true);
  const session = accept({ send: (f) => socket.write(framing.encode(f)), close: () => socket.end() });
  const decoder = framing.createDecoder((frame) => session.receive(frame));
  socket.on('data', (chunk) => {
    try {
      decoder.push(chunk);
    } catch {
      socket.destroy();
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => session.closed());
});
tcp.listen(port('SOCKLINE_TCP_PORT', 7000), host, () =>
  console.log(`sockline on tcp://${host}:${tcp.address().port}`),
);

const httpServer = http.createServer((_req, res) => res.writeHead(426).end('use a WebSocket\n'));
const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
wss.on('connection', (ws) => {
  const session = accept({ send: (f) => (ws.send(f), true), close: () => ws.close() });
  ws.on('message', (data) => session.receive(data));
  ws.on('error', () => {});
  ws.on('close', () => session.closed());
});
httpServer.listen(port('SOCKLINE_WS_PORT', 8080), host, () =>
  console.log(`sockline on ws://${host}:${httpServer.address().port}`),
);

const echoTcp = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.pipe(socket);
});
echoTcp.listen(port('ECHO_TCP_PORT', 7001), host, () =>
  console.log(`raw echo on tcp://${host}:${echoTcp.address().port}`),
);
const echoWs = new WebSocketServer({ port: port('ECHO_WS_PORT', 8081), host }, () =>
  console.log(`raw echo on ws://${host}:${echoWs.address().port}`),
);
echoWs.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

const stop = () => {
  for (const c of wss.clients) c.terminate();
  for (const c of echoWs.clients) c.terminate();
  store.clear();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
