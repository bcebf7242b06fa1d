import * as net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NodeWsTransport } from '../../src/node/ws-transport.js';
import { runChild } from '../support/child.js';
import { startWsEcho } from '../support/servers.js';
import { Recorder } from '../contract/transport-contract.js';

/**
 * A child process opens one NodeWsTransport to a server of its own whose every handle is
 * unref()'d, so only the client's socket can keep the process alive. The server drops the
 * connection 300 ms after accepting it: a child still alive then sees the close. So
 * `closed: false` means the process exited while the connection was up (nothing held it),
 * `closed: true` that the client's socket held it.
 */
const source = `
import * as http from 'node:http';
import * as net from 'node:net';
import { WebSocketServer } from 'ws';
import { NodeWsTransport } from './src/node/ws-transport.ts';

const [stage, wish] = process.argv.slice(2);
let closed = false;
process.on('exit', () => console.log(JSON.stringify({ closed })));

const drop = (socket) => {
  socket.unref();
  setTimeout(() => socket.destroy(), 300).unref();
};
let server;
if (stage === 'open') {
  server = http.createServer();
  new WebSocketServer({ server }).on('connection', (ws) => ws.on('error', () => {}));
} else {
  server = net.createServer(); // accepts, never answers the upgrade
}
server.on('connection', (socket) => {
  drop(socket);
  if (stage === 'handshake') apply();
});
server.unref();
server.listen(0, '127.0.0.1', () => {
  const url = new URL('ws://127.0.0.1:' + server.address().port);
  globalThis.transport = new NodeWsTransport(url, {
    onOpen: () => stage === 'open' && apply(),
    onData() {},
    onDrain() {},
    onSoftError() {},
    onClose: () => (closed = true),
  }, { highWaterMark: 1 << 20 });
  if (stage === 'created') apply();
});

function apply() {
  const t = globalThis.transport;
  t.unref();
  if (wish === 'ref') t.ref();
}
`;

describe('NodeWsTransport ref() and unref()', () => {
  // created: right after construction, before the HTTP request has a socket;
  // handshake: once the server accepted, while the upgrade goes unanswered;
  // open: once the upgrade completed.
  for (const stage of ['created', 'handshake', 'open'] as const) {
    it(`unref() ${stage === 'open' ? 'once open' : `while ${stage === 'created' ? 'connecting' : 'the upgrade hangs'}`} lets the process exit, ref() keeps it alive`, async () => {
      const [unref, ref] = await Promise.all([
        runChild(source, { args: [stage, 'unref'] }),
        runChild(source, { args: [stage, 'ref'] }),
      ]);
      expect(unref.stderr).toBe('');
      expect(unref.result).toEqual({ closed: false });
      expect(ref.result).toEqual({ closed: true });
    });
  }
});

describe('NodeWsTransport keepAlive', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  for (const keepAlive of [30_000, false] as const) {
    it(`${keepAlive === false ? 'leaves TCP keepalive alone by default' : 'turns TCP keepalive on for the upgraded connection'}`, async () => {
      const server = await startWsEcho();
      // Keepalive is not observable from JavaScript: record the calls on the real sockets.
      const calls: Array<{ remotePort: number | undefined; args: unknown[] }> = [];
      const original = net.Socket.prototype.setKeepAlive;
      vi.spyOn(net.Socket.prototype, 'setKeepAlive').mockImplementation(function (
        this: net.Socket,
        ...args: Parameters<net.Socket['setKeepAlive']>
      ) {
        calls.push({ remotePort: this.remotePort, args });
        return original.apply(this, args);
      });
      const rec = new Recorder();
      const options = keepAlive === false ? {} : { keepAlive };
      const t = new NodeWsTransport(new URL(server.url), rec.handlers, {
        highWaterMark: 1 << 20,
        ...options,
      });
      await rec.opened();
      const ours = calls.filter((c) => c.remotePort === server.port);
      expect(ours).toEqual(keepAlive === false ? [] : [{ remotePort: server.port, args: [true, keepAlive] }]);
      t.close();
      await rec.closed();
      await server.close();
    });
  }
});
