import { describe, expect, it } from 'vitest';
import { ErrorCodes, RemoteError, SocklineError } from '../../src/core/errors.js';
import { encodePayload, jsonCodec } from '../../src/core/protocol/codec.js';
import type { Frame } from '../../src/core/protocol/frames.js';
import type { Peer, SocklineServer } from '../../src/node/server.js';
import { expectReleased, rawWsPeer } from './support/healthy.js';
import { hostileHarness, rawSession, type RawSession } from './support/harness.js';

/**
 * Application code that throws on the server — a message listener, a connection listener,
 * a request handler, authenticate — never closes the connection it ran for and never puts
 * its message on the wire: the server emits `error` (with the peer), the client gets a
 * generic answer. A healthy client is served throughout.
 */

const SECRET = 'db password=hunter2 failed';
const codec = jsonCodec();

const harness = hostileHarness();
const { start, client } = harness;
const raw = (s: SocklineServer, transport: 'tcp' | 'ws'): Promise<RawSession> =>
  rawSession(harness, s, transport);

/** Whether any frame received carries `text` (in a reason, a message, or a payload). */
function leaked(frames: readonly Frame[], text: string): boolean {
  return frames.some((f) =>
    JSON.stringify(f, (_k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v,
    ).includes(text),
  );
}

const value = (v: unknown): { kind: 'value'; payload: Uint8Array } =>
  encodePayload(v, codec) as { kind: 'value'; payload: Uint8Array };

describe('a listener that throws on the server', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`peer.on('message') throwing keeps the connection, sends nothing of it, and emits error with the peer (${transport})`, async () => {
      const s = await start();
      const errors: Array<{ message: string; peer: Peer | undefined }> = [];
      s.on('error', (e, peer) => errors.push({ message: e.message, peer }));
      const received: unknown[] = [];
      s.on('connection', (peer) =>
        peer.on('message', (v) => {
          received.push(v);
          throw new Error(SECRET);
        }),
      );
      const p = await raw(s, transport);
      for (let seq = 1; seq <= 3; seq++) p.send({ type: 'data', seq, ...value({ seq }) });
      await expect.poll(() => received).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
      expect(await p.alive()).toBe(true);
      // The messages were received (acknowledged), not refused: nothing is resent or lost.
      await expect.poll(() => p.frames.some((f) => f.type === 'ack' && f.seq === 3)).toBe(true);
      expect(p.frames.filter((f) => f.type === 'close')).toEqual([]);
      expect(leaked(p.frames, 'hunter2')).toBe(false);
      expect(errors).toHaveLength(3);
      expect(errors.every((e) => e.message === SECRET && e.peer?.transport === transport)).toBe(true);
    });
  }

  it("a sockline client whose messages make peer.on('message') throw stays on its session and loses nothing", async () => {
    const s = await start();
    const received: number[] = [];
    s.on('connection', (peer) =>
      peer.on('message', (v) => {
        received.push(v as number);
        if ((v as number) % 2 === 0) throw new Error(SECRET);
      }),
    );
    s.on('error', () => {});
    const c = client(s.addresses.tcp!);
    const sessions: unknown[] = [];
    c.on('session', (info) => sessions.push(info));
    await c.opened;
    for (let i = 0; i < 100; i++) c.send(i);
    await expect.poll(() => received.length).toBe(100);
    expect(received).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(await c.request('echo', 'still here')).toBe('still here');
    expect(sessions).toHaveLength(1);
  });

  it('connection, disconnect and metrics listeners that throw are reported, and the server goes on', async () => {
    const s = await start({ metricsInterval: 20 });
    const errors: Array<{ message: string; peer: Peer | undefined }> = [];
    s.on('error', (e, peer) => errors.push({ message: e.message, peer }));
    s.on('connection', () => {
      throw new Error('connection listener');
    });
    s.on('disconnect', () => {
      throw new Error('disconnect listener');
    });
    s.on('metrics', () => {
      throw new Error('metrics listener');
    });
    const c = client(s.addresses.ws!);
    await c.opened;
    expect(await c.request('echo', 1)).toBe(1);
    await c.close();
    await expect
      .poll(() => new Set(errors.map((e) => e.message)))
      .toEqual(new Set(['connection listener', 'disconnect listener', 'metrics listener']));
    expect(errors.find((e) => e.message === 'connection listener')?.peer).toBeDefined();
    expect(errors.find((e) => e.message === 'metrics listener')?.peer).toBeUndefined();
  });

  it('an error listener that throws is ignored: the connection stays', async () => {
    const s = await start();
    s.on('error', () => {
      throw new Error('the error listener itself');
    });
    s.on('connection', (peer) =>
      peer.on('message', () => {
        throw new Error(SECRET);
      }),
    );
    const p = await raw(s, 'tcp');
    p.send({ type: 'data', ...value('x') });
    expect(await p.alive()).toBe(true);
    expect(p.frames.filter((f) => f.type === 'close')).toEqual([]);
  });
});

describe('request handlers that throw (the RPC error contract)', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`answers an unexpected exception ERR_INTERNAL without its message, and emits it with the peer (${transport})`, async () => {
      const s = await start();
      s.handle('crash', () => {
        throw new Error(SECRET);
      });
      s.handle('refuse', () => {
        throw new RemoteError('E_LIMIT', 'too many widgets', { data: { max: 3 } });
      });
      s.handle('nested', async () => {
        // A SocklineError of some other operation is still unexpected here.
        throw new SocklineError(ErrorCodes.REQUEST_TIMEOUT, `upstream: ${SECRET}`);
      });
      const errors: Array<{ message: string; peer: string | undefined }> = [];
      s.on('error', (e, peer) => errors.push({ message: e.message, peer: peer?.transport }));
      const p = await raw(s, transport);
      p.send({ type: 'request', id: 1, method: 'crash', ...value(null) });
      p.send({ type: 'request', id: 2, method: 'refuse', ...value(null) });
      p.send({ type: 'request', id: 3, method: 'nested', ...value(null) });
      p.send({ type: 'request', id: 4, method: 'missing', ...value(null) });
      const responses = (): Array<Extract<Frame, { type: 'response' }>> =>
        p.frames.filter((f): f is Extract<Frame, { type: 'response' }> => f.type === 'response');
      await expect.poll(() => responses().length).toBe(4);
      const byId = new Map(responses().map((r) => [r.id, r]));
      expect(byId.get(1)!.error).toEqual({ code: 'ERR_INTERNAL', message: 'internal error' });
      expect(byId.get(2)!.error).toEqual({ code: 'E_LIMIT', message: 'too many widgets' });
      expect(codec.decode(byId.get(2)!.payload)).toEqual({ max: 3 });
      expect(byId.get(3)!.error).toEqual({ code: 'ERR_INTERNAL', message: 'internal error' });
      expect(byId.get(4)!.error?.code).toBe('ERR_UNKNOWN_METHOD');
      expect(leaked(p.frames, 'hunter2')).toBe(false);
      expect(await p.alive()).toBe(true);
      expect(errors).toEqual([
        { message: SECRET, peer: transport },
        { message: `upstream: ${SECRET}`, peer: transport },
      ]);
    });
  }

  it('sends the real message with exposeErrors (for development), still as ERR_INTERNAL', async () => {
    const s = await start({ exposeErrors: true });
    s.handle('crash', () => {
      throw new Error(SECRET);
    });
    s.on('error', () => {});
    const c = client(s.addresses.tcp!);
    await expect(c.request('crash')).rejects.toMatchObject({ remoteCode: 'ERR_INTERNAL', message: SECRET });
  });

  it('a sockline client gets the RemoteError code, message and data, and a generic internal error', async () => {
    const s = await start();
    s.handle('refuse', () => {
      throw new RemoteError('E_LIMIT', 'too many widgets', { data: { max: 3 } });
    });
    s.handle('crash', () => {
      throw new Error(SECRET);
    });
    s.on('error', () => {});
    const c = client(s.addresses.ws!);
    await expect(c.request('refuse')).rejects.toMatchObject({
      code: 'ERR_REMOTE',
      remoteCode: 'E_LIMIT',
      message: 'too many widgets',
    });
    const crash = await c.request('crash').catch((e: Error & { remoteCode?: string }) => e);
    expect(crash).toMatchObject({ remoteCode: 'ERR_INTERNAL' });
    expect((crash as Error).message).not.toContain('hunter2');
    expect(await c.request('echo', 'after')).toBe('after');
  });
});

describe('authenticate that throws', () => {
  it('refuses with ERR_AUTH_FAILED, sending the message only of a refusal meant for the client', async () => {
    const s = await start({
      authenticate: (hello) => {
        if (hello.token === 'banned') throw new RemoteError('E_BANNED', 'this account is banned');
        // Node's own errors have ERR_ codes too (ERR_INVALID_URL): they are not refusals.
        if (hello.token === 'url') return new URL(`${SECRET} is no url`);
        // The healthy client sends no token.
        if (hello.token !== undefined && hello.token !== 'good') throw new Error(SECRET);
        return { id: 'good' };
      },
    });
    const frames = async (token: string): Promise<Frame[]> => {
      const p = harness.track(await rawWsPeer(s.addresses.ws!));
      p.send({ type: 'hello', versions: [2], capabilities: 7, codec: 'json', token });
      await p.closed;
      return p.frames;
    };
    const db = await frames('wrong');
    expect(db.find((f) => f.type === 'refuse')).toMatchObject({
      code: 'ERR_AUTH_FAILED',
      message: 'authentication failed',
    });
    expect(leaked(db, 'hunter2')).toBe(false);
    const url = await frames('url');
    expect(url.find((f) => f.type === 'refuse')).toMatchObject({ message: 'authentication failed' });
    expect(leaked(url, 'hunter2')).toBe(false);
    const banned = await frames('banned');
    expect(banned.find((f) => f.type === 'refuse')).toMatchObject({
      code: 'ERR_AUTH_FAILED',
      message: 'this account is banned',
    });
    const good = client(s.addresses.tcp!, { token: 'good' });
    await good.opened;
    await good.close();
    await expectReleased(s, 1);
  });
});
