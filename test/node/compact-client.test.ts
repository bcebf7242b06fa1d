import { afterEach, describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/core/errors.js';
import type { SocklineClient } from '../../src/core/protocol/client-api.js';
import type { Peer, SocklineServer } from '../../src/node/server.js';
import { connectAs } from '../support/clients.js';
import { startWsServer } from '../support/ws-server.js';

/**
 * What the compact client does that the full one does otherwise or not at all, against a real
 * server: it answers no request of the server (no `sockline/handle`), throws from what needs
 * an opt-in import, and keeps its unsubscriptions for the next connection. (`for await`
 * and `handle()` without their imports are in compact-opt-ins.test.ts: this file loads the
 * Node build, which installs them.)
 */

let server: SocklineServer | undefined;
const clients: SocklineClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
});

async function start(): Promise<{ url: string; peer: () => Promise<Peer> }> {
  const started = await startWsServer((s) =>
    s.handle('refuse', (p) => {
      throw new RemoteError('E_RANGE', 'out of range', { data: { got: p } });
    }),
  );
  server = started.server;
  return started;
}

function compact(url: string): SocklineClient {
  const c = connectAs('compact', url, { reconnect: { initialDelay: 10, maxDelay: 50 } });
  clients.push(c);
  return c;
}

describe('the compact client against a real server', () => {
  it("answers the server's requests with no handler ERR_UNKNOWN_METHOD, and the session goes on", async () => {
    const { url, peer } = await start();
    const c = compact(url);
    await c.opened;
    const p = await peer();
    await expect(p.request('anything', 1)).rejects.toMatchObject({ code: 'ERR_UNKNOWN_METHOD' });
    await expect(p.request('again')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_METHOD' });
    const got: unknown[] = [];
    c.on('message', (v) => got.push(v));
    p.send('still here');
    await expect.poll(() => got).toEqual(['still here']);
  });

  it("gets a handler's refusal as a RemoteError with its code, message and data", async () => {
    const { url } = await start();
    const c = compact(url);
    const err = await c.request('refuse', 7).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({
      code: 'ERR_REMOTE',
      remoteCode: 'E_RANGE',
      message: 'out of range',
      data: { got: 7 },
    });
  });

  it('throws ERR_NOT_SUPPORTED from openStream(), naming the import', async () => {
    const { url } = await start();
    const c = compact(url);
    expect(() => c.openStream({ name: 'f' })).toThrow(
      expect.objectContaining({
        code: 'ERR_NOT_SUPPORTED',
        message: expect.stringContaining('sockline/streams'),
      }),
    );
  });

  it('an unsubscribe made while the connection is down reaches the server when the session resumes', async () => {
    const { url, peer } = await start();
    const c = compact(url);
    const got: unknown[] = [];
    const off = c.subscribe('news/+', (v) => got.push(v));
    await c.opened;
    const first = await peer();
    await expect.poll(() => first.subscriptions.has('news/+')).toBe(true);
    const sessions: boolean[] = [];
    c.on('session', ({ resumed }) => sessions.push(resumed));
    c.reconnect();
    off();
    await expect.poll(() => sessions).toEqual([true]);
    const second = await peer();
    await expect.poll(() => second.subscriptions.has('news/+')).toBe(false);
    server!.publish('news/today', 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([]);
  });
});
