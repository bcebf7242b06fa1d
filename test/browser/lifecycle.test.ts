import { afterEach, describe, expect, inject, it } from 'vitest';
import { commands } from 'vitest/browser';
import {
  connect,
  type DisconnectInfo,
  type ProtocolConnectOptions,
  type SocklineClient,
} from '../../src/browser/index.js';
import { decodeFrame } from '../../src/core/protocol/frames-decode.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import { SUPPORTED_VERSIONS } from '../../src/core/protocol/frames.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const stats = (): ReturnType<typeof commands.lifecycleStats> => commands.lifecycleStats();

const clients: SocklineClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await commands.lifecycleFault('none');
});

/** A client that records what the page sees: disconnects, errors (until the first disconnect), sessions. */
function page(url: string, options: ProtocolConnectOptions = {}) {
  const client = connect(url, { reconnect: { initialDelay: 20, maxDelay: 100 }, ...options });
  clients.push(client);
  const seen = {
    client,
    disconnects: [] as DisconnectInfo[],
    errors: [] as string[],
    sessions: [] as boolean[],
  };
  client.on('disconnect', (info) => seen.disconnects.push(info));
  client.on('error', (error) => void (seen.disconnects.length === 0 && seen.errors.push(error.code)));
  client.on('session', ({ resumed }) => seen.sessions.push(resumed));
  return seen;
}

/** A document that connects to `url` with the source build and tells its parent each session. */
function framePage(url: string): string {
  return `<!doctype html><script type="module">
    import { connect } from '/src/browser/index.ts';
    const client = connect(${JSON.stringify(url)});
    client.on('session', ({ id }) => parent.postMessage({ sockline: 'session', id }, '*'));
  </script>`;
}

describe('the page lifecycle in Chromium', () => {
  it('ends the session at once when the page is unloaded: after 10 reloads the server holds none of it', async () => {
    const before = await stats();
    const frame = document.createElement('iframe');
    const sessions: string[] = [];
    const onMessage = (event: MessageEvent<{ sockline?: string; id?: string }>): void => {
      if (event.source === frame.contentWindow && event.data.sockline === 'session')
        sessions.push(event.data.id!);
    };
    window.addEventListener('message', onMessage);
    try {
      frame.srcdoc = framePage(inject('lifecycleWsUrl'));
      document.body.append(frame);
      await expect.poll(() => sessions.length, { timeout: 10_000 }).toBe(1);
      for (let reload = 1; reload <= 10; reload++) {
        frame.contentWindow!.location.reload();
        await expect.poll(() => sessions.length, { timeout: 10_000 }).toBe(reload + 1);
        // The server let go of the page before at once, not after its 60 s resume window.
        await expect
          .poll(async () => (await stats()).disconnects.length - before.disconnects.length)
          .toBe(reload);
        expect((await stats()).sessions).toBe(before.sessions + 1);
      }
      frame.remove();
      await expect.poll(async () => (await stats()).sessions).toBe(before.sessions);
      const after = await stats();
      expect(after.disconnects.slice(before.disconnects.length)).toEqual(Array(11).fill('close'));
      expect(new Set(sessions).size).toBe(11);
    } finally {
      window.removeEventListener('message', onMessage);
      frame.remove();
    }
  });

  it('keeps the session while the page is in the back/forward cache, and resumes it on pageshow', async () => {
    const seen = page(inject('lifecycleWsUrl'));
    await seen.client.opened;
    const before = await stats();
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
    expect(seen.client.state).toBe('reconnecting');
    seen.client.send({ whileCached: 1 });
    await sleep(300);
    // Frozen: no attempt (a live socket would keep the page out of the cache).
    expect(seen.client.state).toBe('reconnecting');
    expect(await stats()).toMatchObject({ sessions: before.sessions, disconnects: before.disconnects });
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    await expect.poll(() => seen.sessions).toEqual([false, true]);
    await expect.poll(async () => (await stats()).received).toContainEqual({ whileCached: 1 });
  });

  it('holds requests and messages made while offline, and sends them once the connection answers its probe', async () => {
    const seen = page(inject('lifecycleProxiedUrl'));
    await seen.client.opened;
    window.dispatchEvent(new Event('offline'));
    const answer = seen.client.request('echo', 'asked offline');
    seen.client.send({ sentOffline: 1 });
    await sleep(200);
    expect((await stats()).received).not.toContainEqual({ sentOffline: 1 });
    window.dispatchEvent(new Event('online'));
    await expect(answer).resolves.toBe('asked offline');
    await expect.poll(async () => (await stats()).received).toContainEqual({ sentOffline: 1 });
    expect(seen.disconnects).toEqual([]);
  });

  it('requests made while offline outlive a socket that died meanwhile: the probe fails, the session resumes', async () => {
    const seen = page(inject('lifecycleProxiedUrl'), { probeTimeout: 100 });
    await seen.client.opened;
    window.dispatchEvent(new Event('offline'));
    await commands.lifecycleFault('freeze');
    const answer = seen.client.request('echo', 'survives', { timeout: 10_000 });
    seen.client.send({ survived: 1 });
    window.dispatchEvent(new Event('online'));
    await expect(answer).resolves.toBe('survives');
    expect(seen.disconnects[0]).toMatchObject({ error: { code: 'ERR_HEARTBEAT_TIMEOUT' }, wasOpen: true });
    expect(seen.sessions).toEqual([false, true]);
    await expect.poll(async () => (await stats()).received).toContainEqual({ survived: 1 });
    const received = (await stats()).received.filter((v) => (v as { survived?: number }).survived === 1);
    expect(received).toHaveLength(1);
  });
});

describe('close codes in Chromium', () => {
  it('a heartbeat timeout on the server is code 4004 and ERR_HEARTBEAT_TIMEOUT in the page', async () => {
    const seen = page(inject('lifecycleProxiedUrl'), { connectTimeout: 2_000 });
    await seen.client.opened;
    // The server hears nothing from the page any more; the page still hears the server.
    await commands.lifecycleFault('lose-up');
    await expect.poll(() => seen.disconnects.length, { timeout: 10_000 }).toBeGreaterThan(0);
    await commands.lifecycleFault('none');
    expect(seen.disconnects[0]).toMatchObject({
      code: 4004,
      reason: expect.stringMatching(/^no frame for \d+ ms$/),
      error: { code: 'ERR_HEARTBEAT_TIMEOUT' },
    });
    expect(seen.errors).toContain('ERR_HEARTBEAT_TIMEOUT');
  });

  it("the WebSocket's own close event carries the CLOSE code: 4004 for a client that never answers PING", async () => {
    const ws = new WebSocket(inject('lifecycleWsUrl'));
    ws.binaryType = 'arraybuffer';
    const frames: string[] = [];
    ws.onmessage = (event: MessageEvent<ArrayBuffer>) =>
      frames.push(decodeFrame(new Uint8Array(event.data)).type);
    const closed = new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));
    await new Promise((resolve) => (ws.onopen = resolve));
    ws.send(
      encodeFrame({ type: 'hello', versions: [...SUPPORTED_VERSIONS], capabilities: 0, codec: 'json' }),
    );
    const event = await closed;
    expect(frames[0]).toBe('welcome');
    expect(frames.at(-1)).toBe('close');
    expect(event.code).toBe(4004);
    expect(event.reason).toMatch(/^no frame for \d+ ms$/);
  });

  it('a restart of `sockline serve` (SIGHUP) is code 1001 with its reason, a deferral and no error, then a resume', async () => {
    const seen = page(inject('serveWsUrl'));
    const deferred: number[] = [];
    seen.client.on('deferred', ({ delay }) => deferred.push(delay));
    await seen.client.opened;
    await commands.restartServe();
    await expect.poll(() => seen.sessions, { timeout: 10_000 }).toEqual([false, true]);
    expect(seen.disconnects[0]).toEqual({
      code: 1001,
      reason: 'server shutting down',
      error: undefined,
      wasOpen: true,
    });
    expect(deferred).toHaveLength(1);
    expect(seen.errors).toEqual([]);
  });
});
