import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RemoteError, type SocklineError } from '../../src/core/errors.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import '../../src/core/opt-in/handle.js';
import {
  localHub,
  publishTo,
  ServerSession,
  type ServerSessionOptions,
} from '../../src/core/protocol/server-session.js';
import { settle, world } from './roles-helpers.js';

/**
 * Both roles over the in-memory transport, on fake time: the client (SocklineClient over a
 * Link) and the server (a ServerSession per connection over the same store), no sockets.
 */
beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the client and server roles over one endpoint', () => {
  it('handshake, a message each way, a request both ways; after close no timer is left', async () => {
    const w = world();
    w.handlers.set('sum', (p) => (p as number[]).reduce((a, b) => a + b, 0));
    const client = w.connect();
    client.handle('whoami', () => 'client');
    const got: unknown[] = [];
    client.on('message', (v) => got.push(v));
    await settle();
    await client.opened;
    client.send({ n: 1 });
    w.session().endpoint.send(undefined, 'to the client', false, Infinity);
    await settle();
    expect(w.received).toEqual([{ n: 1 }]);
    expect(got).toEqual(['to the client']);
    await expect(client.request('sum', [1, 2, 3])).resolves.toBe(6);
    await expect(w.session().endpoint.request('whoami', null)).resolves.toBe('client');
    await client.close();
    await settle();
    expect(w.store.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("holds requests over the server's maxInFlight on the client: 150 to a slow handler all complete", async () => {
    const w = world({ maxInFlight: 100 });
    let running = 0;
    let most = 0;
    w.handlers.set('slow', async (p) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 50));
      running--;
      return p;
    });
    const client = w.connect();
    await settle();
    await client.opened;
    const results = Array.from({ length: 150 }, (_, i) => client.request('slow', i));
    await vi.advanceTimersByTimeAsync(200);
    await expect(Promise.all(results)).resolves.toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(most).toBe(100);
    await client.close();
  });

  it('the server ends a connection silent past interval + timeout; the client notices too and resumes, nothing lost', async () => {
    const w = world({ heartbeatInterval: 1_600, heartbeatTimeout: 800 });
    // An attempt into the black hole hangs until connectTimeout: keep that short.
    const client = w.connect({ connectTimeout: 500 });
    const sessions: string[] = [];
    client.on('session', ({ resumed }) => sessions.push(resumed ? 'resumed' : 'new'));
    await settle();
    await client.opened;
    const state = w.session();
    w.memory.faults.halfOpen = true;
    const cut = Date.now();
    client.send('during the cut');
    // Silence since the cut at most: the server lets go within interval + timeout, plus a
    // sixteenth of that for its scheduler.
    await vi.advanceTimersByTimeAsync(2_400 + 150);
    expect(state.connection).toBeNull();
    expect(Date.now() - cut).toBe(2_550);
    w.memory.faults.halfOpen = false;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sessions).toEqual(['new', 'resumed']);
    expect(w.received).toEqual(['during the cut']);
    await client.close();
  });

  it('a restarted server with the same store resumes the session with its own handlers', async () => {
    const w = world();
    const client = w.connect();
    await settle();
    await client.opened;
    const later: unknown[] = [];
    const restarted: ServerSessionOptions = {
      store: w.store,
      hub: localHub(w.store),
      handlers: new Map([['where', () => 'restarted']]),
      onMessage: (v) => later.push(v),
    };
    w.memory.onConnection = (end) => {
      const session = new ServerSession({ send: (f) => end.send(f), close: () => end.close() }, restarted);
      end.onData = (d) => session.receive(d as Uint8Array);
      end.onClose = () => session.closed();
    };
    w.memory.resetAll();
    await vi.advanceTimersByTimeAsync(200);
    expect(client.state).toBe('open');
    client.send('after');
    await expect(client.request('where')).resolves.toBe('restarted');
    await settle();
    expect(later).toEqual(['after']);
    await client.close();
  });

  it('after a reconnect, close() leaves no timer: no ping, ack or request deadline outlives it', async () => {
    const w = world({ heartbeatInterval: 1_000, heartbeatTimeout: 500 });
    const client = w.connect();
    const sessions: boolean[] = [];
    client.on('session', ({ resumed }) => sessions.push(resumed));
    await settle();
    await client.opened;
    w.memory.resetAll();
    await vi.advanceTimersByTimeAsync(200);
    expect(sessions).toEqual([false, true]);
    // Something of each kind is due: the next PING, an owed ack, a request's timeout.
    w.session().endpoint.send(undefined, 'owed an ack', false, Infinity);
    await settle();
    const pending = client.request('never', null, { timeout: 60_000 }).catch((e: unknown) => e);
    await client.close();
    await settle();
    await expect(pending).resolves.toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a subscription over the server's maxSubscriptions is an error naming the pattern; the session goes on", async () => {
    let refused = 0;
    const w = world({ maxSubscriptions: 1, onSubscriptionRefused: () => void refused++ });
    const client = w.connect();
    const errors: SocklineError[] = [];
    client.on('error', (e) => errors.push(e));
    await settle();
    await client.opened;
    const got: unknown[] = [];
    client.subscribe('a', (v) => got.push(v));
    client.subscribe('b', (v) => got.push(v));
    await settle();
    expect(refused).toBe(1);
    expect(errors).toMatchObject([{ code: 'ERR_TOO_MANY_SUBSCRIPTIONS', topic: 'b' }]);
    expect([...w.session().subscriptions]).toEqual(['a']);
    expect(w.store.topics.size).toBe(1);
    publishTo(w.store, 'a', 'value', new TextEncoder().encode('"to a"'));
    publishTo(w.store, 'b', 'value', new TextEncoder().encode('"to b"'));
    await settle();
    expect(got).toEqual(['to a']);
    expect(client.state).toBe('open');
    await client.close();
  });

  it('contains the code of both sides: throwing handlers and listeners are reported, the connection stays', async () => {
    const serverErrors: unknown[] = [];
    const w = world({
      onMessage: () => {
        throw new Error('onMessage bug');
      },
      onError: (e) => serverErrors.push(e),
    });
    w.handlers.set('crash', () => {
      throw new Error('server handler bug');
    });
    w.handlers.set('refuse', () => {
      throw new RemoteError('E_NOPE', 'no', { data: { why: 'because' } });
    });
    const client = w.connect();
    const errors: SocklineError[] = [];
    client.on('error', (e) => errors.push(e));
    client.on('message', () => {
      throw new Error('listener bug');
    });
    client.handle('crash', () => {
      throw new Error('client handler bug');
    });
    await settle();
    await client.opened;
    client.send('one');
    w.session().endpoint.send(undefined, 'to the client', false, Infinity);
    await settle();
    await expect(client.request('crash')).rejects.toMatchObject({
      code: 'ERR_INTERNAL',
      message: 'internal error',
    });
    await expect(client.request('refuse')).rejects.toMatchObject({
      code: 'ERR_REMOTE',
      remoteCode: 'E_NOPE',
      data: { why: 'because' },
    });
    await expect(w.session().endpoint.request('crash', null)).rejects.toMatchObject({
      code: 'ERR_INTERNAL',
      message: 'internal error',
    });
    expect(serverErrors.map((e) => (e as Error).message)).toEqual(['onMessage bug', 'server handler bug']);
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['ERR_CALLBACK', "a 'message' listener threw: listener bug"],
      ['ERR_CALLBACK', "the handler of 'crash' threw: client handler bug"],
    ]);
    // One message, two requests and the answer to the server's: all sequenced, each received once.
    expect(w.session().delivery.received).toBe(4);
    expect(client.state).toBe('open');
    await client.close();
  });

  it('a CLOSE 1013 with reconnectAfter is the answer even before the HELLO left: a deferral, no HELLO, no error', async () => {
    const w = world();
    const serve = w.memory.onConnection;
    const heard: unknown[] = [];
    w.memory.onConnection = (end) => {
      end.onData = (d) => heard.push(d);
      end.send(encodeFrame({ type: 'close', code: 1013, reason: 'full', reconnectAfter: 500 }));
      end.close();
    };
    // The token comes late: the server's answer is there first.
    const client = w.connect({ token: () => new Promise((r) => setTimeout(() => r('t'), 100)) });
    const deferred: unknown[] = [];
    const errors: unknown[] = [];
    client.on('deferred', (info) => deferred.push(info));
    client.on('error', (e) => errors.push(e));
    await vi.advanceTimersByTimeAsync(150);
    expect(deferred).toEqual([{ delay: 500, reason: '1013: full' }]);
    expect(client.deferrals).toBe(1);
    expect(heard).toEqual([]);
    expect(errors).toEqual([]);
    w.memory.onConnection = serve;
    // The next attempt starts reconnectAfter after the CLOSE (at 500 ms), then waits for its token.
    await vi.advanceTimersByTimeAsync(449);
    expect(client.state).not.toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(client.state).toBe('open');
    await client.close();
  });
});
