import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConnection, type TransportResolver } from '../../src/core/connect.js';
import type { DisconnectInfo } from '../../src/core/link/options.js';
import { MemoryServer } from '../../src/core/memory-transport.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { decodeFrame } from '../../src/core/protocol/frames-decode.js';
import {
  localHub,
  MemorySessionStore,
  ServerSession,
  type ServerSessionOptions,
} from '../../src/core/protocol/server-session.js';
import { harness, settle, text } from './link-helpers.js';

/**
 * The link and the client as the page lifecycle drives them (`suspend`, `suspect`, `wake`),
 * on fake time over the in-memory transport: the client against the server role, where one
 * connection can die without a sign (its frames vanish both ways) while new ones work.
 */
beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
});

interface Page {
  client: SocklineClient;
  /** Server connections in the order they came; `dead` ones lose every frame both ways. */
  connections: Array<{ dead: boolean; frames: string[] }>;
  /** DATA values the server's sessions received, in order. */
  received: unknown[];
  store: MemorySessionStore;
  disconnects: DisconnectInfo[];
  sessions: boolean[];
}

async function page(options: Record<string, unknown> = {}): Promise<Page> {
  const memory = new MemoryServer({ kind: 'message' });
  const store = new MemorySessionStore();
  const received: unknown[] = [];
  const connections: Page['connections'] = [];
  const handlers: ServerSessionOptions['handlers'] = new Map([['echo', (p: unknown) => p]]);
  const sessionOptions: ServerSessionOptions = {
    store,
    hub: localHub(store),
    handlers,
    onMessage: (value) => received.push(value),
  };
  memory.onConnection = (end) => {
    const connection = { dead: false, frames: [] as string[] };
    connections.push(connection);
    const session = new ServerSession(
      { send: (f) => connection.dead || end.send(f), close: () => end.close() },
      sessionOptions,
    );
    end.onData = (d) => {
      if (connection.dead) return;
      connection.frames.push(decodeFrame(d as Uint8Array).type);
      session.receive(d as Uint8Array);
    };
    end.onClose = () => session.closed();
  };
  const resolver: TransportResolver = {
    check() {},
    framing: () => null,
    open: (url, _scheme, h) => memory.connect(url, h, { highWaterMark: 1 << 20 }),
  };
  const client = createConnection(
    'ws://memory/',
    { reconnect: { initialDelay: 100, jitter: 0 }, ...options },
    resolver,
  ) as SocklineClient;
  const disconnects: DisconnectInfo[] = [];
  const sessions: boolean[] = [];
  client.on('disconnect', (info) => disconnects.push(info));
  client.on('session', ({ resumed }) => sessions.push(resumed));
  await settle();
  await client.opened;
  return { client, connections, received, store, disconnects, sessions };
}

describe('Link.suspend(): end the connection and wait for wake()', () => {
  it('closes the connection gracefully, emits disconnect, and retries nothing until wake()', async () => {
    const h = harness({ reconnect: { initialDelay: 10 } });
    await settle();
    const disconnects: DisconnectInfo[] = [];
    h.link.on('disconnect', (info) => disconnects.push(info));
    h.link.send('last words');
    h.link.suspend();
    expect(h.link.state).toBe('reconnecting');
    expect(disconnects).toEqual([{ error: undefined, wasOpen: true }]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.ends).toHaveLength(1);
    expect(text(h.received[0]![0]!.subarray(4))).toBe('last words');
    expect(h.server.connections.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    h.link.wake();
    await settle();
    expect(h.link.state).toBe('open');
    expect(h.ends).toHaveLength(2);
    await h.link.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cancels a scheduled retry, and reports the error it is given', async () => {
    const h = harness({ reconnect: { initialDelay: 10_000 } });
    await settle();
    const errors: string[] = [];
    h.link.on('error', (e) => errors.push(e.code));
    h.server.resetAll();
    await settle();
    expect(h.link.state).toBe('reconnecting');
    h.link.suspend();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.ends).toHaveLength(1);
    h.link.wake();
    await settle();
    expect(h.link.state).toBe('open');
    const disconnects: DisconnectInfo[] = [];
    h.link.on('disconnect', (info) => disconnects.push(info));
    const { SocklineError } = await import('../../src/core/errors.js');
    h.link.suspend(new SocklineError('ERR_HEARTBEAT_TIMEOUT', 'gone'));
    expect(errors.at(-1)).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(disconnects[0]).toMatchObject({ error: { code: 'ERR_HEARTBEAT_TIMEOUT' }, wasOpen: true });
    await h.link.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('SocklineClient: a suspect connection (the network went away)', () => {
  it('holds messages and requests; a probe answered in time sends them on the same connection', async () => {
    const p = await page();
    p.client.suspect();
    expect(p.client.send({ n: 1 })).toBe('sent');
    const answer = p.client.request('echo', 'held');
    expect(p.client.send('now or never', { volatile: true })).toBe('dropped');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(p.received).toEqual([]);
    expect(p.connections[0]!.frames).not.toContain('request');
    p.client.wake();
    await settle();
    expect(p.received).toEqual([{ n: 1 }]);
    await expect(answer).resolves.toBe('held');
    expect(p.connections).toHaveLength(1);
    expect(p.disconnects).toEqual([]);
    await p.client.close();
    await settle();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drops a connection that died unseen once its probe times out, and resumes: each message once, requests answered', async () => {
    const p = await page({ probeTimeout: 500 });
    p.client.send('before');
    await settle();
    p.client.suspect();
    p.connections[0]!.dead = true;
    p.client.send('while offline');
    const answer = p.client.request('echo', 42, { timeout: 10_000 });
    await vi.advanceTimersByTimeAsync(3_000);
    p.client.wake();
    await vi.advanceTimersByTimeAsync(499);
    expect(p.disconnects).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(p.disconnects).toMatchObject([{ error: { code: 'ERR_HEARTBEAT_TIMEOUT' }, wasOpen: true }]);
    await settle();
    expect(p.client.state).toBe('open');
    expect(p.sessions).toEqual([false, true]);
    await expect(answer).resolves.toBe(42);
    expect(p.received).toEqual(['before', 'while offline']);
    await p.client.close();
  });

  it('says why a request made offline timed out, and changes nothing while no connection is open', async () => {
    const p = await page();
    p.client.suspect();
    p.connections[0]!.dead = true;
    const late = p.client.request('echo', 1, { timeout: 1_000 });
    const failed = late.catch((err: Error) => err.message);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await failed).toBe(
      'request "echo" timed out after 1000 ms: the network went offline and has not come back',
    );
    await p.client.close();
    p.client.suspect(); // closed: nothing to suspect
    p.client.wake();
    expect(p.client.state).toBe('closed');
  });
});

describe('SocklineClient.suspend(): the page goes into the back/forward cache', () => {
  it('ends the connection with CLOSE 1001, keeps the session, waits, and resumes it on wake()', async () => {
    const p = await page();
    p.client.send('before');
    await settle();
    p.client.suspend();
    await settle();
    expect(p.connections[0]!.frames.at(-1)).toBe('close');
    expect(p.client.state).toBe('reconnecting');
    expect(p.store.size).toBe(1);
    p.client.send('while frozen');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(p.connections).toHaveLength(1);
    p.client.wake();
    await settle();
    expect(p.sessions).toEqual([false, true]);
    expect(p.received).toEqual(['before', 'while frozen']);
    await p.client.close();
    await settle();
    expect(p.store.size).toBe(0);
  });
});
