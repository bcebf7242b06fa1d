// MQTT.js against an aedes broker on node:net, QoS 0 (MQTT.js's default). Echo: each client
// subscribes to a topic of its own and publishes to it, so the broker routes every message
// back; fan-out: every subscriber on one topic. Client reconnection: MQTT.js's defaults.
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { HOST } from './index.mjs';

export async function startServer({ port = 0 }) {
  const broker = await Aedes.createBroker();
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  broker.on('clientError', () => {});
  broker.on('connectionError', () => {});
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, resolve);
  });
  return {
    port: server.address().port,
    connections: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => broker.close(resolve));
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export function connectClient({ port, mode = 'echo', onMessage = () => {}, onOpen = () => {} }) {
  const topic = mode === 'echo' ? `e/${randomBytes(6).toString('hex')}` : 'fan';
  const client = mqtt.connect(`mqtt://${HOST}:${port}`);
  client.on('message', (_topic, payload) => onMessage(payload));
  client.on('connect', () => onOpen());
  client.on('error', () => {});
  const api = {
    send: (bytes) => client.publish(topic, bytes),
    subscribe: () => client.subscribeAsync(topic).then(() => {}),
    publish: (bytes) => client.publish(topic, bytes),
    close: () => client.endAsync(true),
  };
  return new Promise((resolve, reject) => {
    client.once('connect', async () => {
      try {
        if (mode === 'echo') await client.subscribeAsync(topic);
        resolve(api);
      } catch (err) {
        reject(err);
      }
    });
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}
