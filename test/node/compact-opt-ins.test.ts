import WebSocket, { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { installedFullClient } from '../../src/core/full-client.js';
import { Link } from '../../src/core/link/link.js';
import type { SocklineClient } from '../../src/core/protocol/client-api.js';
import type { Peer, SocklineServer } from '../../src/node/server.js';
import { startWsServer } from '../support/ws-server.js';
import { connect } from '../../src/browser/connect.js';
import { CompactClient } from '../../src/browser/compact/client.js';

/**
 * `sockline/verbose`, `sockline/iterate` and `sockline/handle` on the compact client and link a
 * browser bundle gets: each installs its own feature and leaves `connect()` compact. Imports are
 * dynamic, so the first case runs before any is installed. (What `handle()` answers, by the same
 * cases as the full client, is in client-handle.test.ts.)
 */

let server: SocklineServer | undefined;
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
});

async function start(): Promise<{ url: string; peer: () => Promise<Peer> }> {
  const started = await startWsServer();
  server = started.server;
  return started;
}

function compact(url: string): SocklineClient {
  const c = connect(url, { WebSocket, reconnect: { initialDelay: 10, maxDelay: 50 } });
  open.push(c);
  return c;
}

describe('verbose and iterate on the compact client', () => {
  it('without them, option errors are short, and for await and handle() throw ERR_NOT_SUPPORTED naming the import', async () => {
    expect(() => connect('ws://127.0.0.1:1/', { WebSocket, reconect: false } as never)).toThrow(
      /^Unknown option reconect$/,
    );
    const { url, peer } = await start();
    const c = compact(url);
    expect(() => c[Symbol.asyncIterator]()).toThrow(
      expect.objectContaining({
        code: 'ERR_NOT_SUPPORTED',
        message: expect.stringContaining("'sockline/iterate'"),
      }),
    );
    expect(() => c.handle('m', () => 1)).toThrow(
      expect.objectContaining({
        code: 'ERR_NOT_SUPPORTED',
        message: expect.stringContaining("'sockline/handle'"),
      }),
    );
    await c.opened;
    await expect((await peer()).request('m')).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_METHOD',
      message: 'no handler for "m"',
    });
  });

  it('sockline/verbose gives the compact client and link the full texts, and connect() stays compact', async () => {
    await import('../../src/core/opt-in/verbose.js');
    expect(installedFullClient()).toBeNull();
    expect(() => connect('ws://127.0.0.1:1/', { WebSocket, reconect: false } as never)).toThrow(
      /^Unknown option reconect \(did you mean reconnect\?\)$/,
    );
    expect(() => connect('ws://127.0.0.1:1/', { WebSocket, requestTimeout: 0 })).toThrow(
      /^Invalid option requestTimeout: 0 \(expected > 0\)$/,
    );
    expect(() =>
      connect('ws://127.0.0.1:1/', { WebSocket, protocol: 'raw', connectTimeout: '5000' } as never),
    ).toThrow("Invalid option connectTimeout: expected a number, got '5000'");
    const { url } = await start();
    const c = compact(url);
    expect(c).toBeInstanceOf(CompactClient);
    await expect(c.request('m', null, { timeout: -1 })).rejects.toThrow(
      /^Invalid option timeout: -1 \(expected > 0, or Infinity\)$/,
    );
  });

  it('sockline/iterate makes the compact client iterable with for await, ending when it closes', async () => {
    await import('../../src/core/opt-in/iterate.js');
    expect(installedFullClient()).toBeNull();
    const { url, peer } = await start();
    const c = compact(url);
    expect(c).toBeInstanceOf(CompactClient);
    await c.opened;
    const p = await peer();
    p.send('a');
    p.send({ b: 2 });
    server!.publish('news', 'not a message');
    p.send('c');
    const seen: unknown[] = [];
    for await (const m of c) {
      seen.push(m);
      if (seen.length === 3) void c.close();
    }
    expect(seen).toEqual(['a', { b: 2 }, 'c']);
    // A loop started on a closed client ends at once.
    const after: unknown[] = [];
    for await (const m of c) after.push(m);
    expect(after).toEqual([]);
  });

  it('sockline/iterate makes the compact link iterable with for await', async () => {
    const echo = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    open.push({ close: () => new Promise<void>((r) => echo.close(() => r())) });
    echo.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
    await new Promise((r) => echo.once('listening', r));
    const { port } = echo.address() as { port: number };
    const raw = connect(`ws://127.0.0.1:${port}`, { WebSocket, protocol: 'raw', text: true });
    open.push(raw);
    expect(raw).not.toBeInstanceOf(Link);
    raw.send('x');
    raw.send('y');
    const seen: unknown[] = [];
    for await (const m of raw) {
      seen.push(m);
      if (seen.length === 2) void raw.close();
    }
    expect(seen).toEqual(['x', 'y']);
  });

  it('sockline/handle lets the compact client answer the server, and connect() stays compact', async () => {
    await import('../../src/core/opt-in/handle.js');
    expect(installedFullClient()).toBeNull();
    const { url, peer } = await start();
    const c = compact(url);
    expect(c).toBeInstanceOf(CompactClient);
    c.handle('whoami', () => 'compact');
    // A result over one frame would need a message stream, which the compact client has not:
    // refused by name, and the client answers the next request as before.
    c.handle('big', () => 'x'.repeat(2 << 20));
    await c.opened;
    const p = await peer();
    await expect(p.request('whoami')).resolves.toBe('compact');
    await expect(p.request('big')).rejects.toMatchObject({
      code: 'ERR_FRAME_TOO_LARGE',
      message: expect.stringContaining("larger ones need 'sockline/streams'"),
    });
    await expect(p.request('whoami')).resolves.toBe('compact');
  });
});
