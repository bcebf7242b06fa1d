// `npm start`: an echo server on TCP and WebSocket, for trying sockline by hand.
// Ports come from TCP_PORT / WS_PORT (default 7000 / 8080; 0 picks a free one).
import * as net from 'node:net';
import { WebSocketServer } from 'ws';

const tcpPort = Number(process.env.TCP_PORT ?? 7000);
const wsPort = Number(process.env.WS_PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

const tcp = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.pipe(socket);
});
tcp.listen(tcpPort, host, () => console.log(`echo on tcp://${host}:${tcp.address().port}`));

const wss = new WebSocketServer({ port: wsPort, host }, () =>
  console.log(`echo on ws://${host}:${wss.address().port}`),
);
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

const stop = () => {
  tcp.close();
  wss.close();
  for (const c of wss.clients) c.terminate();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
