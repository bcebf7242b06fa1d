// One sockline server process of a test cluster (run as a child process, compiled from src
// by test/support/cluster.ts). Configured by the SOCKLINE_CLUSTER_NODE environment variable
// (JSON); reports on stdout, one JSON object per line: `ready` with its URLs, `adapter` on
// every state change, `fault` on an uncaught error. A line `close` on stdin closes it.
// With `messageLog`, every message a peer sends (`peer.on('message')`) is appended to that
// file as it is handled (see test/support/cluster.ts, `readMessageLog`).
import { openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createServer } from '../../src/node/index.js';
import { memoryAdapter } from '../../src/node/adapter.js';
import { redisAdapter } from '../../src/node/redis/index.js';

interface NodeConfig {
  name: string;
  redisUrl: string;
  prefix: string;
  sessions?: boolean;
  resumeWindow?: number;
  maxForwardMessages?: number;
  /** Ping period in ms (short by default, so tests find dead links fast). */
  heartbeatInterval?: number;
  /** Behind proxies: their addresses, the TCP listener's PROXY protocol, the WebSocket path. */
  trustProxy?: string[];
  proxyProtocol?: boolean;
  wsPath?: string;
  maxConnectionsPerIp?: number;
  /** Fixed ports (a process restarted where its proxies expect it); 0 or absent: free ones. */
  tcpPort?: number;
  wsPort?: number;
  /** A file to append every peer message to, one JSON line each. */
  messageLog?: string;
}

const config = JSON.parse(process.env.SOCKLINE_CLUSTER_NODE ?? '{}') as NodeConfig;
const report = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ node: config.name, at: Date.now(), ...event })}\n`);
};

process.on('uncaughtException', (err) =>
  report({ event: 'fault', kind: 'uncaughtException', message: String(err?.stack ?? err) }),
);
process.on('unhandledRejection', (err) =>
  report({ event: 'fault', kind: 'unhandledRejection', message: String((err as Error)?.stack ?? err) }),
);

const server = createServer({
  tcp: { port: config.tcpPort ?? 0, proxyProtocol: config.proxyProtocol ?? false },
  ws: { port: config.wsPort ?? 0, ...(config.wsPath === undefined ? {} : { path: config.wsPath }) },
  ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
  ...(config.maxConnectionsPerIp === undefined ? {} : { maxConnectionsPerIp: config.maxConnectionsPerIp }),
  heartbeatInterval: config.heartbeatInterval ?? 1_000,
  heartbeatTimeout: config.heartbeatInterval ?? 1_000,
  resumeWindow: config.resumeWindow ?? 30_000,
  adapter:
    config.redisUrl === ''
      ? memoryAdapter()
      : redisAdapter({
          url: config.redisUrl,
          prefix: config.prefix,
          sessions: config.sessions ?? true,
          maxRetryDelay: 200,
          ...(config.maxForwardMessages !== undefined
            ? { maxForwardMessages: config.maxForwardMessages }
            : {}),
        }),
});

server.on('adapter', ({ state, error }) => report({ event: 'adapter', state, error: error?.message }));
server.on('error', (err) => report({ event: 'fault', kind: 'server error', message: err.message }));
server.on('disconnect', (peer, { reason }) => report({ event: 'disconnect', id: peer.id, reason }));
if (config.messageLog !== undefined) {
  // A synchronous write per message, before the handler returns: once the server records the
  // message's seq and acknowledges it, its line is in the file, and a SIGKILL cannot take it
  // back (stdout to a pipe is asynchronous and would lose the last lines with the process).
  const fd = openSync(config.messageLog, 'a');
  server.on('connection', (peer) =>
    peer.on('message', (value) => {
      const t = performance.timeOrigin + performance.now();
      writeSync(fd, `${JSON.stringify({ t, node: config.name, peer: peer.id, value })}\n`);
    }),
  );
}
server.handle('whoami', () => config.name);
server.handle('remote', (_params, peer) => peer.remoteAddress);
server.handle('join', (room, peer) => {
  peer.join(String(room));
  return [...peer.rooms];
});
server.handle('broadcast', (params) => {
  const { value, room } = params as { value: unknown; room?: string };
  return server.broadcast(value, room === undefined ? {} : { room });
});
server.handle('publish', (params) => {
  const { topic, value } = params as { topic: string; value: unknown };
  server.publish(topic, value);
  return true;
});
server.handle('metrics', () => server.metrics());

const addresses = await server.listen();
report({ event: 'ready', tcp: addresses.tcp, ws: addresses.ws });

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'close') return;
  void server.close().then(() => {
    report({ event: 'closed' });
    process.exit(0);
  });
});
