// `npm start`: a sockline server on TCP, UDP and WebSocket, plus plain echo servers for raw mode.
// Ports come from the environment (0 picks a free one):
//   SOCKLINE_TCP_PORT (7000), SOCKLINE_UDP_PORT (7000), SOCKLINE_WS_PORT (8080) — the sockline protocol
//   ECHO_TCP_PORT (7001), ECHO_WS_PORT (8081) — raw echo (TCP echoes bytes, WS echoes messages)
import * as net from 'node:net';
import { WebSocketServer } from 'ws';
import { createServer } from '../dist/node.js';

const host = process.env.HOST ?? '127.0.0.1';
const port = (name, fallback) => Number(process.env[name] ?? fallback);

const server = createServer({
  tcp: { host, port: port('SOCKLINE_TCP_PORT', 7000) },
  udp: { host, port: port('SOCKLINE_UDP_PORT', 7000) },
  ws: { host, port: port('SOCKLINE_WS_PORT', 8080) },
});
server.handle('echo', (params) => params);
server.handle('sum', (params) => params.reduce((a, b) => a + b, 0));
server.handle('time', () => new Date().toISOString());
// Plain messages are echoed back to their sender.
server.on('connection', (peer) => peer.on('message', (value) => peer.send(value)));
const addresses = await server.listen();
for (const url of Object.values(addresses)) console.log(`sockline on ${url}`);

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

const stop = async () => {
  for (const c of echoWs.clients) c.terminate();
  echoWs.close();
  echoTcp.close();
  await server.close({ drain: true, window: 1000 });
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
