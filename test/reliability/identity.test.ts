import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/protocol/frames.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import type { Peer, ServerOptions, SocklineServer } from '../../src/node/server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { framed, rawPeer } from './support/raw-peer.js';
import { expectReleased, rawWsPeer } from './support/healthy.js';
import { hostileHarness } from './support/harness.js';

/**
 * Sessions belong to identities: a client that presents another identity's session secret
 * gets a session of its own (and the owner keeps its), the secret is never what other
 * clients see, and secrets cannot be guessed. A healthy client is served throughout.
 */

type Welcome = Extract<Frame, { type: 'welcome' }>;

const harness = hostileHarness();
const { client } = harness;

/** A server whose `authenticate` makes the token the user's id, and a healthy client beside it. */
const start = (options: ServerOptions = {}): Promise<SocklineServer> =>
  harness.start({ authenticate: (hello) => ({ id: hello.token ?? 'nobody', at: Date.now() }), ...options });

/** A raw peer on `transport` that sends HELLO with `token` and `resume`; resolves with its WELCOME. */
async function hijack(
  s: SocklineServer,
  transport: 'tcp' | 'ws',
  token: string,
  resume: { sessionId: string; lastSeq: number },
): Promise<{ welcome: Welcome; frames: Frame[] }> {
  if (transport === 'ws') {
    const p = harness.track(await rawWsPeer(s.addresses.ws!));
    const welcome = await p.hello({ token, resume });
    return { welcome, frames: p.frames };
  }
  const p = harness.track(await rawPeer(s.addresses.tcp!));
  p.write(
    framed(encodeFrame({ type: 'hello', versions: [2], capabilities: 7, codec: 'json', token, resume })),
  );
  await expect.poll(() => p.frames.some((f) => f.type === 'welcome') || p.isClosed).toBe(true);
  const welcome = p.frames.find((f): f is Welcome => f.type === 'welcome');
  expect(welcome, JSON.stringify(p.frames)).toBeDefined();
  return { welcome: welcome!, frames: p.frames };
}

describe('a session secret presented by another identity', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`starts a new session for the intruder and leaves the owner's session, queue and connection alone (${transport})`, async () => {
      const s = await start();
      const peers: Peer[] = [];
      s.on('connection', (p) => peers.push(p));
      const alice = client(s.addresses[transport]!, { token: 'alice' });
      const got: unknown[] = [];
      alice.on('message', (v) => got.push(v));
      const lost: unknown[] = [];
      alice.on('sessionlost', (info) => lost.push(info));
      await alice.opened;
      await expect.poll(() => peers.length).toBe(1);
      const owner = peers[0]!;
      owner.send('before');
      await expect.poll(() => got).toEqual(['before']);

      // Bob knows Alice's secret (it leaked): he is welcomed, but to a session of his own.
      const { welcome, frames } = await hijack(s, transport, 'bob', {
        sessionId: alice.sessionId!,
        lastSeq: 0,
      });
      expect(welcome.resumed).toBe(false);
      expect(welcome.sessionId).not.toBe(alice.sessionId);
      expect(s.metrics().resumesDenied).toBe(1);
      expect(s.metrics().resumes).toBe(0);
      // The healthy client's, Alice's and Bob's own.
      expect(s.peers.size).toBe(3);
      expect([...s.peers.values()].filter((p) => (p.user as { id: string }).id === 'bob')).toHaveLength(1);

      // Alice is still connected on her own session; what is sent to her reaches her only.
      expect(owner.connected).toBe(true);
      owner.send('after');
      await expect.poll(() => got).toEqual(['before', 'after']);
      await new Promise((r) => setTimeout(r, 50));
      expect(frames.filter((f) => f.type === 'data')).toEqual([]);
      expect(lost).toEqual([]);
    });
  }

  it('cannot take a detached session: its messages wait for the owner, who resumes with nothing lost', async () => {
    const s = await start();
    const proxy = harness.track(
      await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(s.addresses.tcp!).port) }),
    );
    const peers: Peer[] = [];
    s.on('connection', (p) => peers.push(p));
    const alice = client(proxy.url, { token: 'alice' });
    const got: unknown[] = [];
    alice.on('message', (v) => got.push(v));
    const sessions: boolean[] = [];
    alice.on('session', ({ resumed }) => sessions.push(resumed));
    await alice.opened;
    await expect.poll(() => peers.length).toBe(1);
    const owner = peers[0]!;

    proxy.faults.refuse = true;
    proxy.resetAll();
    await expect.poll(() => owner.connected).toBe(false);
    owner.send('queued while away');

    const { welcome, frames } = await hijack(s, 'tcp', 'mallory', {
      sessionId: alice.sessionId!,
      lastSeq: 0,
    });
    expect(welcome.resumed).toBe(false);
    expect(s.metrics().resumesDenied).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(frames.filter((f) => f.type === 'data')).toEqual([]);

    proxy.faults.refuse = false;
    await expect.poll(() => got, { timeout: 5_000 }).toEqual(['queued while away']);
    expect(sessions).toEqual([false, true]);
    expect(owner.connected).toBe(true);
    expect(s.metrics().resumes).toBe(1);
  });

  it('tells a client whose identity changed that its session is lost, and counts it', async () => {
    const s = await start();
    let token = 'alice';
    const c = client(s.addresses.tcp!, { token: () => token });
    const lost: Array<{ previousId: string; id: string }> = [];
    c.on('sessionlost', (info) => lost.push(info));
    await c.opened;
    const first = c.sessionId!;
    token = 'bob';
    c.reconnect();
    await expect.poll(() => lost.length, { timeout: 5_000 }).toBe(1);
    expect(lost[0]!.previousId).toBe(first);
    expect(lost[0]!.id).not.toBe(first);
    expect(s.metrics().resumesDenied).toBe(1);
    // The same identity again resumes as before.
    c.reconnect();
    await expect.poll(() => s.metrics().resumes, { timeout: 5_000 }).toBe(1);
    expect(lost).toHaveLength(1);
  });

  it('compares identities with the identify option when one is given', async () => {
    // authenticate returns a fresh object each time; identify says which field names the user.
    const s = await start({
      authenticate: (hello) => ({ user: hello.token, session: Math.random() }),
      identify: (user) => String((user as { user: string }).user),
    });
    const c = client(s.addresses.ws!, { token: 'carol' });
    await c.opened;
    c.reconnect();
    await expect.poll(() => s.metrics().resumes, { timeout: 5_000 }).toBe(1);
    const { welcome } = await hijack(s, 'ws', 'dave', { sessionId: c.sessionId!, lastSeq: 0 });
    expect(welcome.resumed).toBe(false);
    expect(s.metrics().resumesDenied).toBe(1);
  });

  it('never resumes a user it cannot compare, and says so in an error event', async () => {
    const s = await start({ authenticate: () => new Map([['role', 'admin']]) });
    const errors: Error[] = [];
    s.on('error', (e) => errors.push(e));
    const c = client(s.addresses.tcp!);
    const lost: unknown[] = [];
    c.on('sessionlost', (info) => lost.push(info));
    await c.opened;
    c.reconnect();
    await expect.poll(() => lost.length, { timeout: 5_000 }).toBe(1);
    expect(s.metrics().resumes).toBe(0);
    expect(errors.some((e) => /cannot identify the user/.test(e.message))).toBe(true);
  });
});

describe('session secrets and public ids', () => {
  it('never shows the secret as peer.id, and peer.id cannot resume anything', async () => {
    const s = await start({ authenticate: undefined });
    const peers: Peer[] = [];
    s.on('connection', (p) => peers.push(p));
    const c = client(s.addresses.ws!);
    await c.opened;
    await expect.poll(() => peers.length).toBe(1);
    const peer = peers[0]!;
    expect(peer.id).not.toBe(c.sessionId);
    expect(c.sessionId!.includes(peer.id)).toBe(false);
    for (const transport of ['tcp', 'ws'] as const) {
      const { welcome } = await hijack(s, transport, 'x', { sessionId: peer.id, lastSeq: 0 });
      expect(welcome.resumed).toBe(false);
    }
    expect(peer.connected).toBe(true);
    // Anonymous sessions (no authenticate) resume with the secret alone.
    c.reconnect();
    await expect.poll(() => s.metrics().resumes, { timeout: 5_000 }).toBe(1);
  });

  it('gives every session a distinct secret with 128 random bits, and guessing one resumes nothing', async () => {
    const s = await start({ authenticate: undefined });
    const welcomes: Welcome[] = [];
    for (let i = 0; i < 20; i++) {
      const { welcome } = await hijack(s, i % 2 === 0 ? 'tcp' : 'ws', 't', {
        // A neighbour of a real secret: one character changed.
        sessionId:
          welcomes.length > 0
            ? welcomes.at(-1)!.sessionId.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A'))
            : 'x',
        lastSeq: 0,
      });
      welcomes.push(welcome);
    }
    expect(welcomes.every((w) => !w.resumed)).toBe(true);
    const ids = welcomes.map((w) => w.sessionId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/);
    expect(s.metrics().resumes).toBe(0);
    await expectReleased(s, 1 + welcomes.length);
  });
});
