import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { WebSocketServer } from 'ws';
import { startProtocolServer, type ProtocolTestServer } from '../support/protocol-server.js';
import { startWsEchoServer, type EchoServer } from '../support/transport-servers.js';
import { createServer } from '../../src/node/server.js';
import { connect } from '../../src/node/index.js';
import { Hub } from '../../src/node/cli/hub.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import type { LifecycleRegistry } from './commands.js';

declare module 'vitest' {
  export interface ProvidedContext {
    wsEchoUrl: string;
    contractWsUrl: string;
    restartableWsUrl: string;
    protocolWsUrl: string;
    hubWsUrl: string;
    /** The page-lifecycle server (a short heartbeat), directly and through a fault proxy. */
    lifecycleWsUrl: string;
    lifecycleProxiedUrl: string;
    /** `sockline serve`'s server, restarted by a command as SIGHUP restarts it. */
    serveWsUrl: string;
  }
}

/** A WebSocket echo that the browser tests can stop and start again on the same port. */
export interface Restartable {
  stop(): Promise<void>;
  start(): Promise<void>;
}

const registry = globalThis as {
  __socklineRestartable?: Restartable;
  __socklineContract?: EchoServer;
  __socklineProtocol?: ProtocolTestServer;
  __socklineHub?: { publish(topic: string, value: unknown): void; received: unknown[] };
  __socklineLifecycle?: LifecycleRegistry;
};

function echo(wss: WebSocketServer): void {
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
}

async function listen(server: http.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function shut(server: http.Server, wss: WebSocketServer): Promise<void> {
  for (const client of wss.clients) client.terminate();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Real servers for the browser tests, on ephemeral ports, handed to the page by `inject`. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fixed = http.createServer();
  const fixedWss = new WebSocketServer({ server: fixed });
  echo(fixedWss);
  project.provide('wsEchoUrl', `ws://127.0.0.1:${await listen(fixed)}`);

  // The transport contract's echo: its connections are dropped on purpose, so it serves no other test.
  const contract = await startWsEchoServer();
  registry.__socklineContract = contract;
  project.provide('contractWsUrl', contract.url);

  let server = http.createServer();
  let wss = new WebSocketServer({ server });
  echo(wss);
  const port = await listen(server);
  project.provide('restartableWsUrl', `ws://127.0.0.1:${port}`);
  registry.__socklineRestartable = {
    stop: () => shut(server, wss),
    async start() {
      server = http.createServer();
      wss = new WebSocketServer({ server });
      echo(wss);
      await listen(server, port);
    },
  };

  const protocol = await startProtocolServer();
  protocol.handlers.set('sum', (params) => (params as number[]).reduce((a, b) => a + b, 0));
  protocol.handlers.set('echo', (params) => params);
  registry.__socklineProtocol = protocol;
  project.provide('protocolWsUrl', protocol.wsUrl);

  // createServer with TCP and WebSocket, and a Node client on TCP: the page talks to it across transports.
  const hub = createServer({ tcp: {}, ws: {} });
  // Streams and messages over one frame: each stream from the page comes back as a stream.
  hub.handle('echo', (params) => params);
  hub.on('stream', (stream, peer) => {
    stream.readable.pipeTo(peer.openStream(stream.meta).writable).catch(() => {});
  });
  const addresses = await hub.listen();
  const tcpClient = connect(addresses.tcp!);
  const received: unknown[] = [];
  tcpClient.subscribe('mixed/#', (value, { topic }) => received.push({ topic, value }));
  await tcpClient.opened;
  registry.__socklineHub = { publish: (topic, value) => void tcpClient.publish(topic, value), received };
  project.provide('hubWsUrl', addresses.ws!);

  // The page lifecycle: a server with a short heartbeat that records what pages do to their
  // sessions, reached directly and through a proxy that can lose or freeze a connection.
  const lifecycle = createServer({ ws: {}, heartbeatInterval: 300, heartbeatTimeout: 300 });
  const reasons: string[] = [];
  const values: unknown[] = [];
  lifecycle.on('disconnect', (_peer, { reason }) => reasons.push(reason));
  lifecycle.on('connection', (peer) => peer.on('message', (value) => values.push(value)));
  lifecycle.handle('echo', (params) => params);
  const lifecycleUrl = (await lifecycle.listen()).ws!;
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(lifecycleUrl).port) });
  project.provide('lifecycleWsUrl', lifecycleUrl);
  project.provide('lifecycleProxiedUrl', proxy.wsUrl());
  // `sockline serve` restarts on SIGHUP by draining its server and starting a new one on the
  // same port and sessions: `Hub.restart()`, which the command calls.
  const serve = new Hub({ host: '127.0.0.1', http: 0 });
  project.provide('serveWsUrl', (await serve.start()).ws!);
  registry.__socklineLifecycle = {
    stats: () => ({ sessions: lifecycle.peers.size, disconnects: [...reasons], received: [...values] }),
    fault(fault) {
      proxy.faults.lose = fault === 'lose-up' ? 'up' : null;
      if (fault === 'freeze') proxy.freezeAll();
    },
    restartServe: async () => void (await serve.restart()),
  };

  return async () => {
    await serve.close();
    await proxy.close();
    await lifecycle.close();
    await tcpClient.close();
    await hub.close();
    await protocol.close();
    await shut(fixed, fixedWss);
    await contract.close();
    if (server.listening) await shut(server, wss);
  };
}
