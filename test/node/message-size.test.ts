import { afterEach, describe, expect, it } from 'vitest';
import { type ClientKind, clientLabel, connectAs, TRANSPORT_CLIENTS } from '../support/clients.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { createServer, type Peer, type ServerOptions, type SocklineServer } from '../../src/node/server.js';

/**
 * A message whose frame is over the receiver's maxFrameSize fails at once with
 * ERR_FRAME_TOO_LARGE: it is never queued, numbered, sent, refused and resent.
 */

const MiB = 1 << 20;
/** The header bytes a DATA frame may take besides its payload: type, flags, seq and ack. */
const DATA_HEADER = 18;

let server: SocklineServer | undefined;
const clients: SocklineClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
});

async function start(options: ServerOptions = {}): Promise<SocklineServer> {
  server = createServer({ tcp: {}, ws: {}, ...options });
  server.handle('echo', (p) => p);
  server.handle('big', () => new Uint8Array(MiB));
  await server.listen();
  return server;
}

function client(url: string, kind: ClientKind): { c: SocklineClient; reconnects: () => number } {
  const c = connectAs(kind, url);
  clients.push(c);
  c.on('error', () => {});
  let n = 0;
  c.on('reconnecting', () => n++);
  return { c, reconnects: () => n };
}

for (const [transport, kind] of TRANSPORT_CLIENTS) {
  describe(`over ${clientLabel(transport, kind)}`, () => {
    it('refuses send, publish and request of a value over maxFrameSize at once, and the session goes on', async () => {
      const s = await start();
      const got: unknown[] = [];
      s.on('connection', (peer: Peer) => peer.on('message', (v) => got.push(v)));
      const { c, reconnects } = client(s.addresses[transport]!, kind);
      await c.opened;
      const big = new Uint8Array(MiB);
      expect(() => c.send(big)).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }));
      expect(() => c.send(big, { volatile: true })).toThrow(
        expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }),
      );
      expect(() => c.publish('t', big)).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }));
      await expect(c.request('echo', big)).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' });
      // Nothing of them is held for a replay (a ping may sit in this tick's write).
      expect(c.bufferedAmount).toBeLessThan(1024);
      // The largest payload that fits is sent; one byte more is refused.
      expect(() => c.send(new Uint8Array(MiB - DATA_HEADER + 1))).toThrow(
        expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }),
      );
      expect(c.send(new Uint8Array(MiB - DATA_HEADER))).toBe('sent');
      expect(c.send('after')).toBe('sent');
      await expect.poll(() => got.length).toBe(2);
      expect((got[0] as Uint8Array).byteLength).toBe(MiB - DATA_HEADER);
      expect(got[1]).toBe('after');
      expect(await c.request('echo', 'still')).toBe('still');
      expect(reconnects()).toBe(0);
      expect(c.state).toBe('open');
    });

    it('answers a request whose result is over maxFrameSize with ERR_FRAME_TOO_LARGE and keeps the connection', async () => {
      const s = await start();
      const { c, reconnects } = client(s.addresses[transport]!, kind);
      await c.opened;
      await expect(c.request('big')).rejects.toMatchObject({ remoteCode: 'ERR_FRAME_TOO_LARGE' });
      expect(await c.request('echo', 1)).toBe(1);
      expect(reconnects()).toBe(0);
    });

    it('throws from peer.send over maxFrameSize to a client without streams, and from publish and broadcast over maxMessageSize', async () => {
      const s = await start();
      const peerReady = new Promise<Peer>((resolve) => s.once('connection', resolve));
      const { c, reconnects } = client(s.addresses[transport]!, kind);
      const got: unknown[] = [];
      c.on('message', (v) => got.push(v));
      c.subscribe('t', (v) => got.push(v));
      await c.opened;
      const peer = await peerReady;
      const big = new Uint8Array(MiB);
      expect(() => peer.send(big)).toThrow(
        expect.objectContaining({
          code: 'ERR_FRAME_TOO_LARGE',
          message: expect.stringMatching(/takes no larger one/),
        }),
      );
      const huge = new Uint8Array(64 * MiB + 1);
      expect(() => s.publish('t', huge)).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }));
      expect(() => s.broadcast(huge)).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }));
      expect(() => s.broadcast(big, { volatile: true })).toThrow(
        expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }),
      );
      // Within maxMessageSize they go to the clients that take messages that large; this one
      // does not (no sockline/streams): it misses them, and they are counted and reported with
      // the peer that missed them.
      await expect.poll(() => peer.subscriptions.has('t')).toBe(true);
      const drops = s.metrics().drops;
      const missed: [string | undefined, Peer | undefined][] = [];
      s.on('error', (err, p) => missed.push([(err as { code?: string }).code, p]));
      s.publish('t', big);
      s.broadcast(big);
      await expect.poll(() => s.metrics().drops).toBe(drops + 2);
      expect(missed).toEqual([
        ['ERR_FRAME_TOO_LARGE', peer],
        ['ERR_FRAME_TOO_LARGE', peer],
      ]);
      peer.send('small');
      await expect.poll(() => got).toEqual(['small']);
      expect(reconnects()).toBe(0);
    });

    it('drops a message queued before the server announced a smaller maxFrameSize, with a drop event, and sends the rest', async () => {
      const s = await start({ maxFrameSize: 64 << 10 });
      const got: unknown[] = [];
      s.on('connection', (peer: Peer) => peer.on('message', (v) => got.push(v)));
      const { c, reconnects } = client(s.addresses[transport]!, kind);
      const drops: Array<[unknown, string]> = [];
      c.on('drop', (v, reason) => drops.push([v, reason]));
      const big = new Uint8Array(100 << 10);
      // Before the WELCOME this client only knows its own 1 MiB limit: both wait in the queue.
      expect(c.send(big)).toBe('queued');
      expect(c.send('next')).toBe('queued');
      await c.opened;
      await expect.poll(() => got).toEqual(['next']);
      expect(drops).toEqual([[big, 'too-large']]);
      // From now on the server's limit applies at once.
      expect(() => c.send(big)).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }));
      expect(reconnects()).toBe(0);
    });
  });
}
