import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Peer, type ServerOptions, type SocklineServer } from '../../src/node/server.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import { framed, rawPeer, type RawPeer } from '../reliability/support/raw-peer.js';

/**
 * The server's bounded-memory policy (maxOutboundBytes, writeDeadline) against real peers
 * that stop reading, over real TCP sockets.
 */

let server: SocklineServer | undefined;
const peers: RawPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await server?.close();
  server = undefined;
});

async function start(options: ServerOptions): Promise<{ s: SocklineServer; connected: Promise<Peer> }> {
  const s = (server = createServer({ tcp: {}, ...options }));
  const connected = new Promise<Peer>((resolve) => s.once('connection', resolve));
  await s.listen();
  return { s, connected };
}

async function stalledPeer(s: SocklineServer): Promise<RawPeer> {
  const p = await rawPeer(s.addresses.tcp!);
  peers.push(p);
  await p.hello();
  p.socket.pause(); // reads nothing from now on
  return p;
}

describe('slow consumers', () => {
  it('drops a peer that stops reading once writeDeadline passes, even when nothing more is written', async () => {
    // No heartbeat during the test: after one burst the session writes nothing at all, so
    // only a deadline that runs by itself can find the peer slow.
    const { s, connected } = await start({
      maxOutboundBytes: 64 << 10,
      writeDeadline: 200,
      heartbeatInterval: 60_000,
      heartbeatTimeout: 60_000,
    });
    const p = await stalledPeer(s);
    const peer = await connected;
    // 24 MiB in one tick: more than the kernel buffers of a loopback connection hold.
    const chunk = new Uint8Array(512 << 10).fill(7);
    for (let i = 0; i < 48; i++) peer.request('take', chunk, { timeout: 60_000 }).catch(() => {});
    await expect.poll(() => s.metrics().slowConsumers, { timeout: 3_000 }).toBe(1);
    await expect.poll(() => s.metrics().connections.tcp).toBe(0);
    p.socket.resume();
    await p.closed;
    // The session outlives the dropped connection: it can be resumed.
    expect(s.peers.get(peer.id)?.connected).toBe(false);
  });

  it('keeps a peer that falls behind but catches up within writeDeadline', async () => {
    const { s, connected } = await start({
      maxOutboundBytes: 64 << 10,
      writeDeadline: 1_000,
      heartbeatInterval: 60_000,
      heartbeatTimeout: 60_000,
    });
    const p = await stalledPeer(s);
    const peer = await connected;
    const chunk = new Uint8Array(512 << 10).fill(7);
    for (let i = 0; i < 16; i++) peer.request('take', chunk, { timeout: 60_000 }).catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    p.socket.resume(); // reads everything well before the deadline
    await expect.poll(() => p.frames.filter((f) => f.type === 'request').length, { timeout: 5_000 }).toBe(16);
    // ... and acknowledges it, as a client does: requests are sequenced, held until then.
    const last = Math.max(...p.frames.map((f) => ('seq' in f && f.type === 'request' ? (f.seq ?? 0) : 0)));
    p.write(framed(encodeFrame({ type: 'ack', seq: last })));
    // Past the deadline: still connected, and never counted.
    await new Promise((r) => setTimeout(r, 1_100));
    expect(s.metrics().slowConsumers).toBe(0);
    expect(p.isClosed).toBe(false);
    expect(peer.connected).toBe(true);
  });
});
