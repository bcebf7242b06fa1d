import { expect } from 'vitest';
import { createServer, type Peer, type SocklineServer } from '../../src/node/server.js';

/**
 * A sockline server on WebSocket only, port 0, for the compact client's cases: its URL and its
 * newest peer. It imports the server alone (not the Node build), so it installs no opt-in.
 */
export async function startWsServer(
  setup: (server: SocklineServer) => void = () => {},
): Promise<{ server: SocklineServer; url: string; peer: () => Promise<Peer> }> {
  const server = createServer({ ws: {} });
  const peers: Peer[] = [];
  server.on('connection', (p) => peers.push(p));
  setup(server);
  const { ws } = await server.listen();
  return {
    server,
    url: ws!,
    peer: async () => {
      await expect.poll(() => peers.length).toBeGreaterThan(0);
      return peers.at(-1)!;
    },
  };
}
