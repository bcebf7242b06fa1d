import { afterEach, describe, expect, it } from 'vitest';
import { createServer, RemoteError, type Peer, type SocklineServer } from '../../src/node/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { CLIENT_KINDS, connectAs, type ClientKind } from '../support/clients.js';

/**
 * `client.handle()`: the server's requests answered by the application, one case list run
 * against the full client (over TCP) and the compact one (over WebSocket), both with
 * `sockline/handle` installed (this file loads the Node build).
 */

const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setup(
  kind: ClientKind,
): Promise<{ client: SocklineClient; peer: Peer; server: SocklineServer }> {
  const server = createServer(kind === 'full' ? { tcp: {} } : { ws: {} });
  closers.push(() => server.close());
  const peers: Peer[] = [];
  server.on('connection', (p) => peers.push(p));
  const { tcp, ws } = await server.listen();
  const client = connectAs(kind, (kind === 'full' ? tcp : ws)!, {
    reconnect: { initialDelay: 10, maxDelay: 50 },
  });
  closers.push(() => client.close());
  await client.opened;
  await expect.poll(() => peers.length).toBeGreaterThan(0);
  return { client, peer: peers[0]!, server };
}

const label = (kind: ClientKind): string => (kind === 'compact' ? ', the compact client' : '');

for (const kind of CLIENT_KINDS) {
  describe(`handle()${label(kind)}`, () => {
    it('answers with what the handler returns, sync or async, as bytes, text or a value', async () => {
      const { client, peer } = await setup(kind);
      client.handle('sum', ([a, b]: [number, number]) => a + b);
      client.handle('later', async (x: string) => {
        await new Promise((r) => setTimeout(r, 10));
        return `${x}!`;
      });
      client.handle('bytes', (b: Uint8Array) => b.map((v) => v * 2));
      client.handle('nothing', () => undefined);
      await expect(peer.request('sum', [2, 3])).resolves.toBe(5);
      await expect(peer.request('later', 'hi')).resolves.toBe('hi!');
      await expect(peer.request('bytes', new Uint8Array([1, 2]))).resolves.toEqual(new Uint8Array([2, 4]));
      await expect(peer.request('nothing')).resolves.toBeNull();
    });

    it('answers ERR_UNKNOWN_METHOD for a method with no handler, and for one whose handler was disposed', async () => {
      const { client, peer } = await setup(kind);
      const off = client.handle('once', () => 1);
      await expect(peer.request('once')).resolves.toBe(1);
      off();
      await expect(peer.request('once')).rejects.toMatchObject({
        code: 'ERR_UNKNOWN_METHOD',
        message: 'no handler for "once"',
      });
      await expect(peer.request('never')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_METHOD' });
    });

    it('answers a RemoteError with its code, message and data; anything else ERR_INTERNAL without its message', async () => {
      const { client, peer } = await setup(kind);
      const errors: string[] = [];
      client.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
      client.handle('refuse', async (n: number) => {
        throw new RemoteError('E_RANGE', 'out of range', { data: { got: n } });
      });
      client.handle('bug', () => {
        throw new TypeError('token=s3cret');
      });
      const refused = await peer.request('refuse', 9).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RemoteError);
      expect(refused).toMatchObject({ remoteCode: 'E_RANGE', message: 'out of range', data: { got: 9 } });
      const bug = await peer.request('bug').catch((e: unknown) => e);
      expect(bug).toMatchObject({ code: 'ERR_INTERNAL', message: 'internal error' });
      expect(JSON.stringify(bug)).not.toContain('s3cret');
      expect(errors).toEqual([
        expect.stringMatching(/^ERR_CALLBACK: the handler of 'bug' threw: token=s3cret/),
      ]);
    });

    it('runs a handler exactly once and answers across a reconnect that resumes the session', async () => {
      const { client, peer } = await setup(kind);
      let runs = 0;
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      client.handle('slow', async () => {
        runs++;
        await held;
        return 'done';
      });
      const sessions: boolean[] = [];
      client.on('session', ({ resumed }) => sessions.push(resumed));
      const answer = peer.request('slow', null, { timeout: 5_000 });
      await expect.poll(() => runs).toBe(1);
      client.reconnect();
      release();
      await expect(answer).resolves.toBe('done');
      expect(sessions).toEqual([true]);
      // The REQUEST the server sends again on the resume is not run again.
      await expect.poll(() => client.state).toBe('open');
      await expect(peer.request('slow')).resolves.toBe('done');
      expect(runs).toBe(2);
    });

    it('answers requests in the order of the session, each once, many at a time', async () => {
      const { client, peer } = await setup(kind);
      const seen: number[] = [];
      client.handle('echo', async (n: number) => {
        seen.push(n);
        if (n % 3 === 0) await new Promise((r) => setTimeout(r, 5));
        return n;
      });
      const all = Array.from({ length: 50 }, (_, n) => peer.request('echo', n));
      await expect(Promise.all(all)).resolves.toEqual(Array.from({ length: 50 }, (_, n) => n));
      expect(seen).toEqual(Array.from({ length: 50 }, (_, n) => n));
    });

    it('refuses a method that is not a non-empty string and a handler that is not a function', async () => {
      const { client } = await setup(kind);
      expect(() => client.handle('', () => 1)).toThrow(TypeError);
      expect(() => client.handle(3 as never, () => 1)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
      );
      expect(() => client.handle('m', 'f' as never)).toThrow(TypeError);
    });
  });
}
