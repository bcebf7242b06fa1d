import type * as net from 'node:net';
import { afterEach } from 'vitest';
import { createServer, type ServerOptions, type SocklineServer } from '../../../src/node/server.js';

/**
 * Servers and raw sockets a test file opens, ended after each test: call once at the top of
 * the file.
 *
 * @example
 * const { start, sockets } = serverPool();
 * const server = await start({ tcp: {} });
 */
export function serverPool(): {
  start(options: ServerOptions): Promise<SocklineServer>;
  readonly sockets: net.Socket[];
} {
  const servers: SocklineServer[] = [];
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return {
    sockets,
    async start(options) {
      const server = createServer(options);
      servers.push(server);
      await server.listen();
      return server;
    },
  };
}
