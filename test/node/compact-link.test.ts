import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Link } from '../../src/core/link/api.js';
import type { LinkMessage } from '../../src/core/link/types.js';
import { checkConnectOptions, checkRawOptions } from '../../src/core/options/connect-schema.js';
import { checkConnect, checkRaw } from '../../src/browser/compact/options.js';
import { waitState } from '../support/wait.js';
import { LINK_IMPLEMENTATIONS, startPeer, type Peer } from '../support/links.js';

/** A port nothing listens on (refused at once). */
async function deadUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `ws://127.0.0.1:${port}`;
}

/** Every event of `link`, in order, as short strings. */
function record(link: Link): string[] {
  const log: string[] = [];
  link.on('state', ({ from, to }) => log.push(`state ${from}>${to}`));
  link.on('open', () => log.push('open'));
  link.on('message', (m) => log.push(`message ${typeof m === 'string' ? m : `bin:${m.length}`}`));
  link.on('disconnect', ({ code, reason, error, wasOpen }) =>
    log.push(`disconnect ${code} ${reason} ${(error as { code?: string })?.code} ${wasOpen}`),
  );
  link.on('reconnecting', ({ attempt, delay, error }) =>
    log.push(`reconnecting ${attempt} ${delay} ${(error as { code?: string })?.code}`),
  );
  link.on('deferred', ({ delay, reason }) => log.push(`deferred ${delay} ${reason}`));
  link.on('close', ({ error }) => log.push(`close ${(error as { code?: string })?.code}`));
  link.on('error', (e) => log.push(`error ${e.code}`));
  link.on('drop', (m, reason) => log.push(`drop ${String(m)} ${reason}`));
  link.on('expire', (m) => log.push(`expire ${String(m)}`));
  link.on('drain', () => log.push('drain'));
  return log;
}

const until = (link: Link, event: 'close' | 'open'): Promise<void> =>
  new Promise((resolve) => link.once(event, () => resolve()));

for (const [name, make] of LINK_IMPLEMENTATIONS) {
  describe(`raw mode in the browser build: ${name}`, () => {
    let peer: Peer | undefined;
    let link: Link | undefined;
    beforeEach(() => {
      peer = undefined;
      link = undefined;
    });
    afterEach(async () => {
      await link?.close();
      await peer?.close();
    });

    it('echoes text and bytes, and the events of an open and a close come in order', async () => {
      peer = await startPeer();
      link = make(peer.url);
      const log = record(link);
      await link.opened;
      expect(link.send('hi')).toBe('sent');
      expect(link.send(new Uint8Array([1, 2, 3]))).toBe('sent');
      await expect
        .poll(() => log.filter((l) => l.startsWith('message')))
        .toEqual(['message hi', 'message bin:3']);
      await link.close();
      expect(log).toEqual([
        'state connecting>open',
        'open',
        'message hi',
        'message bin:3',
        'state open>closing',
        'disconnect 1000  undefined true',
        'state closing>closed',
        'close undefined',
      ]);
      expect(link.state).toBe('closed');
      await link.close(); // idempotent
      expect(log.filter((l) => l.startsWith('close'))).toHaveLength(1);
    });

    it('delivers every message as text with text: true, as bytes with text: false, and refuses invalid UTF-8', async () => {
      peer = await startPeer((socket) =>
        socket.on('message', () => {
          socket.send('text frame');
          socket.send(Buffer.from('binary frame'));
          socket.send(Buffer.from([0xff, 0xfe]));
        }),
      );
      link = make(peer.url, { text: true });
      const got: LinkMessage[] = [];
      const errors: string[] = [];
      link.on('message', (m) => got.push(m));
      link.on('error', (e) => errors.push(e.code));
      await link.opened;
      link.send('go');
      await expect.poll(() => errors).toEqual(['ERR_BAD_PAYLOAD']);
      expect(got).toEqual(['text frame', 'binary frame']);
      await link.close();

      link = make(peer.url, { text: false });
      const bytes: LinkMessage[] = [];
      link.on('message', (m) => bytes.push(m));
      await link.opened;
      link.send('go');
      await expect.poll(() => bytes.length).toBe(3);
      expect(bytes.every((b) => b instanceof Uint8Array)).toBe(true);
      expect(new TextDecoder().decode(bytes[0] as Uint8Array)).toBe('text frame');
    });

    it('retries with backoff and jitter, then gives up after maxRetries with the last error as cause', async () => {
      let draws = 0;
      // 0, then just under 1: a full delay, then almost none (jitter 1: uniform in [0, ceiling]).
      const random = (): number => (draws++ % 2 === 0 ? 0 : 0.999);
      link = make(await deadUrl(), {
        reconnect: { initialDelay: 40, multiplier: 3, maxDelay: 200, maxRetries: 4 },
        random,
      });
      const log = record(link);
      await until(link, 'close');
      expect(log.filter((l) => l.startsWith('reconnecting'))).toEqual([
        'reconnecting 1 40 ERR_TRANSPORT',
        'reconnecting 2 0 ERR_TRANSPORT',
        'reconnecting 3 200 ERR_TRANSPORT',
        'reconnecting 4 0 ERR_TRANSPORT',
      ]);
      expect(log.at(-1)).toBe('close ERR_MAX_RETRIES');
      await expect(link.opened).rejects.toMatchObject({
        code: 'ERR_MAX_RETRIES',
        cause: expect.objectContaining({ code: 'ERR_TRANSPORT' }),
      });
      expect(log.filter((l) => l.startsWith('disconnect'))).toHaveLength(5);
      expect(log.filter((l) => l.startsWith('disconnect')).every((l) => l.endsWith('false'))).toBe(true);
    });

    it('keeps a partial jitter within [ceiling × (1 − jitter), ceiling]', async () => {
      const draws = [0, 0.5, 0.999];
      let i = 0;
      link = make(await deadUrl(), {
        reconnect: { initialDelay: 100, multiplier: 1, jitter: 0.25, maxRetries: 3 },
        random: () => draws[i++ % 3]!,
      });
      const delays: number[] = [];
      link.on('reconnecting', ({ delay }) => delays.push(delay));
      await until(link, 'close');
      expect(delays).toEqual([100, 88, 75]);
    });

    it("applies the outbox's overflow policies and reports what it drops", async () => {
      const url = await deadUrl();
      const slow = { reconnect: { initialDelay: 60_000 } };
      link = make(url, { ...slow, outbox: { maxMessages: 2 } });
      expect(link.send('a')).toBe('queued');
      expect(link.send('b')).toBe('queued');
      expect(() => link!.send('c')).toThrowError(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
      expect(link.queued).toBe(2);
      await link.close();

      link = make(url, { ...slow, outbox: { maxMessages: 2, overflow: 'drop-oldest' } });
      let log = record(link);
      link.send('a');
      link.send('b');
      expect(link.send('c')).toBe('queued');
      expect(log).toEqual(['drop a overflow']);
      await link.close();
      expect(log).toContain('drop b closed');
      expect(log).toContain('drop c closed');

      link = make(url, { ...slow, outbox: { maxBytes: 4, overflow: 'drop-newest' } });
      log = record(link);
      expect(link.send('abc')).toBe('queued');
      expect(link.send('de')).toBe('dropped');
      expect(link.send('too long')).toBe('dropped');
      expect(link.send('x', { volatile: true })).toBe('dropped');
      expect(link.bufferedAmount).toBe(3);
      expect(log).toEqual(['drop de overflow', 'drop too long overflow', 'drop x volatile']);
    });

    it('expires queued messages after their ttl, and sends the rest in order when it opens', async () => {
      peer = await startPeer();
      link = make(peer.url, { outbox: { ttl: 60_000 } });
      const log = record(link);
      link.send('short', { ttl: 1 });
      link.send('kept');
      await new Promise((resolve) => setTimeout(resolve, 20));
      await link.opened;
      await expect.poll(() => peer!.received[0]).toEqual(['kept']);
      expect(log).toContain('expire short');
      expect(() => link!.send('x', { ttl: 0 })).toThrowError(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION', name: 'RangeError' }),
      );
      expect(() => link!.send('x', { tll: 5 } as never)).toThrowError(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION', name: 'TypeError' }),
      );
    });

    it('flushes a large outbox in order, less what expired, with its accounting back at zero', async () => {
      peer = await startPeer(() => {});
      link = make(peer.url, { outbox: { maxMessages: Infinity, maxBytes: Infinity } });
      let expired = 0;
      link.on('expire', () => expired++);
      const kept: string[] = [];
      for (let i = 0; i < 50_000; i++) {
        if (i % 10 === 3) link.send(`short ${i}`, { ttl: 1 });
        else {
          kept.push(`m${i}`);
          link.send(`m${i}`);
        }
      }
      expect(link.queued).toBe(50_000);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await link.opened;
      expect(link.queued).toBe(0);
      expect(expired).toBe(5_000);
      await expect.poll(() => peer!.received[0]!.length, { timeout: 10_000 }).toBe(45_000);
      expect(peer.received[0]).toEqual(kept);
      expect(link.bufferedAmount).toBe(0);
    });

    it("brings the server's close code and reason to the app, and a cut connection as ERR_TRANSPORT", async () => {
      peer = await startPeer((socket, i) => {
        if (i === 0) socket.close(4001, 'go away');
        else if (i === 1) socket.terminate();
      });
      link = make(peer.url, { reconnect: { initialDelay: 1, maxDelay: 1, jitter: 0 } });
      const log = record(link);
      await expect.poll(() => peer!.sockets.length).toBe(3);
      await waitState(link, 'open');
      expect(log.filter((l) => /^(disconnect|error|reconnecting)/.test(l))).toEqual([
        'disconnect 4001 go away undefined true',
        'reconnecting 1 1 undefined',
        'error ERR_TRANSPORT',
        'disconnect 1006  ERR_TRANSPORT true',
        'reconnecting 2 1 ERR_TRANSPORT',
      ]);
    });

    it('closes with ERR_CONNECTION_CLOSED when shouldReconnect says no, and with the server close as is without reconnect', async () => {
      peer = await startPeer((socket) => socket.close(4002, 'no'));
      link = make(peer.url, { shouldReconnect: ({ code }) => code !== 4002 });
      let log = record(link);
      await until(link, 'close');
      expect(log.slice(-2)).toEqual(['state open>closed', 'close ERR_CONNECTION_CLOSED']);
      link = make(peer.url, { reconnect: false });
      log = record(link);
      await until(link, 'close');
      expect(log.at(-1)).toBe('close ERR_CONNECTION_CLOSED');
      // Any falsy answer stops it, not only `false`.
      link = make(peer.url, { shouldReconnect: (() => undefined) as never });
      log = record(link);
      await until(link, 'close');
      expect(log.at(-1)).toBe('close ERR_CONNECTION_CLOSED');
    });

    it('abandons an attempt that does not open within connectTimeout, and a silent peer after idleTimeout', async () => {
      // Accepts TCP but never answers the upgrade.
      const held = new Set<net.Socket>();
      const mute = net.createServer((socket) => held.add(socket));
      await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
      const { port } = mute.address() as AddressInfo;
      link = make(`ws://127.0.0.1:${port}`, { connectTimeout: 50, reconnect: false });
      const log = record(link);
      await until(link, 'close');
      expect(log).toEqual([
        'error ERR_CONNECT_TIMEOUT',
        'disconnect undefined undefined ERR_CONNECT_TIMEOUT false',
        'state connecting>closed',
        'close ERR_CONNECT_TIMEOUT',
      ]);
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => mute.close(() => resolve()));

      peer = await startPeer(() => {});
      link = make(peer.url, { idleTimeout: 60, reconnect: { initialDelay: 1, jitter: 0 } });
      const idle = record(link);
      await expect.poll(() => peer!.sockets.length).toBe(2);
      expect(idle.slice(0, 5)).toEqual([
        'state connecting>open',
        'open',
        'error ERR_IDLE_TIMEOUT',
        'disconnect undefined undefined ERR_IDLE_TIMEOUT true',
        'state open>reconnecting',
      ]);
    });

    it('refuses bad input with typed errors', async () => {
      expect(() => make('tcp://127.0.0.1:1')).toThrowError(
        expect.objectContaining({ code: 'ERR_UNSUPPORTED_SCHEME' }),
      );
      expect(() => make('not a url')).toThrowError(expect.objectContaining({ code: 'ERR_INVALID_URL' }));
      expect(() => make([])).toThrowError(expect.objectContaining({ code: 'ERR_INVALID_URL' }));
      expect(() => make('ws://x', { reconnect: { jitter: 2 } })).toThrowError(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION', name: 'RangeError' }),
      );
      expect(() => make('ws://x', { outbox: { overflow: 'drop' as never } })).toThrowError(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION', name: 'RangeError' }),
      );
      peer = await startPeer();
      link = make(peer.url);
      expect(() => link!.send(42 as never)).toThrowError(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION', name: 'TypeError' }),
      );
      await link.close();
      expect(() => link!.send('late')).toThrowError(expect.objectContaining({ code: 'ERR_CLIENT_CLOSED' }));
      await expect(link.writable()).rejects.toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
      expect(() => link![Symbol.asyncIterator]()).toThrowError(
        expect.objectContaining({ code: 'ERR_NOT_SUPPORTED' }),
      );
    });

    it('bounds a provider that never answers by connectTimeout, as an attempt that never opened', async () => {
      peer = await startPeer((socket) => socket.close(4000, 'again'));
      let calls = 0;
      link = make(() => (calls++ === 0 ? peer!.url : new Promise<string>(() => {})), {
        connectTimeout: 100,
        reconnect: { initialDelay: 1, jitter: 0, maxRetries: 1 },
      });
      const log = record(link);
      await until(link, 'close');
      expect(log.filter((l) => l.startsWith('disconnect'))).toEqual([
        'disconnect 4000 again undefined true',
        'disconnect undefined undefined ERR_CONNECT_TIMEOUT false',
      ]);
      expect(log.at(-1)).toBe('close ERR_MAX_RETRIES');
    });

    it('asks a provider for the URL of every attempt, and rotates through a list', async () => {
      peer = await startPeer();
      const dead = await deadUrl();
      const asked: number[] = [];
      link = make(
        async (attempt) => {
          asked.push(attempt);
          return attempt < 2 ? dead : peer!.url;
        },
        { reconnect: { initialDelay: 1, jitter: 0 } },
      );
      await link.opened;
      expect(asked).toEqual([0, 1, 2]);
      await link.close();
      link = make([dead, peer.url], { reconnect: { initialDelay: 1, jitter: 0 } });
      const log = record(link);
      await link.opened;
      expect(log.filter((l) => l.startsWith('reconnecting'))).toHaveLength(1);
    });

    it('closes with ERR_ABORTED when its signal fires, and suspend() waits until wake()', async () => {
      peer = await startPeer();
      const controller = new AbortController();
      link = make(peer.url, { signal: controller.signal });
      await link.opened;
      const log = record(link);
      link.suspend();
      expect(link.state).toBe('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(link.state).toBe('reconnecting');
      link.wake();
      await waitState(link, 'open');
      controller.abort();
      expect(link.state).toBe('closed');
      expect(log).toEqual([
        'disconnect undefined undefined undefined true',
        'state open>reconnecting',
        'state reconnecting>connecting',
        'state connecting>open',
        'open',
        'state open>closed',
        'close ERR_ABORTED',
      ]);
      expect(make(peer.url, { signal: controller.signal }).state).toBe('closed');
    });

    it('close() while down drops the outbox, rejects opened once, and reconnect() from closed starts again', async () => {
      const dead = await deadUrl();
      link = make(dead, { reconnect: { initialDelay: 60_000 } });
      const log = record(link);
      const writable = link.writable();
      link.send('a');
      await waitState(link, 'reconnecting');
      await link.close();
      await expect(link.opened).rejects.toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
      await expect(writable).rejects.toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
      expect(log.slice(-3)).toEqual(['state reconnecting>closed', 'drop a closed', 'close undefined']);

      peer = await startPeer();
      const url = peer.url;
      link = make(url);
      await link.opened;
      const again = record(link);
      link.reconnect();
      await waitState(link, 'open');
      await link.close();
      link.reconnect();
      await waitState(link, 'open');
      expect(peer.sockets).toHaveLength(3);
      expect(again).toEqual([
        'state open>connecting',
        'state connecting>open',
        'open',
        'state open>closing',
        'disconnect 1000  undefined true',
        'state closing>closed',
        'close undefined',
        'state closed>connecting',
        'state connecting>open',
        'open',
      ]);
    });

    it('writable() waits for the link to open', async () => {
      peer = await startPeer();
      link = make(peer.url);
      let resolved = false;
      const writable = link.writable().then(() => (resolved = true));
      expect(resolved).toBe(false);
      await writable;
      expect(link.state).toBe('open');
    });

    it('reports backpressure: writable() waits for the drain', async () => {
      peer = await startPeer(() => {});
      link = make(peer.url, { highWaterMark: 1024 });
      await link.opened;
      const log = record(link);
      const big = new Uint8Array(4 << 20);
      link.send(big);
      expect(link.bufferedAmount).toBeGreaterThan(1024);
      await link.writable();
      expect(log).toEqual(['drain']);
      expect(link.bufferedAmount).toBeLessThanOrEqual(1024);
    });

    it('unref() lets its timers stop keeping the process alive', async () => {
      const handles: NodeJS.Timeout[] = [];
      const clock = {
        now: () => Date.now(),
        setTimeout: (callback: () => void, ms: number) => {
          const handle = setTimeout(callback, ms);
          handles.push(handle);
          return handle;
        },
        clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
      };
      link = make(await deadUrl(), { clock, reconnect: { initialDelay: 60_000, jitter: 0 } });
      await waitState(link, 'reconnecting');
      expect(handles.at(-1)!.hasRef()).toBe(true);
      expect(link.unref()).toBe(link);
      expect(handles.at(-1)!.hasRef()).toBe(false);
      link.wake();
      await waitState(link, 'reconnecting');
      expect(handles.at(-1)!.hasRef()).toBe(false);
    });

    it('reports a throwing listener as ERR_CALLBACK and still calls the others', async () => {
      peer = await startPeer();
      link = make(peer.url);
      const errors: unknown[] = [];
      let second = 0;
      link.on('open', () => {
        throw new Error('boom');
      });
      link.on('open', () => second++);
      link.on('error', (e) => errors.push(e));
      await link.opened;
      await expect.poll(() => second).toBe(1);
      expect(errors).toMatchObject([{ code: 'ERR_CALLBACK', cause: { message: 'boom' } }]);
      expect(link.listenerCount('open')).toBe(2);
      link.removeAllListeners('open');
      expect(link.listenerCount('open')).toBe(0);
    });

    describe('with a handshake', () => {
      it('sends ahead of the outbox, gets what arrives until complete(), then opens and flushes', async () => {
        peer = await startPeer();
        const seen: LinkMessage[] = [];
        link = make(peer.url, {}, (context) => {
          context.send('HELLO');
          return {
            message: (m) => {
              seen.push(m);
              context.complete();
            },
            unreadable: () => {},
          };
        });
        const log = record(link);
        expect(link.send('queued')).toBe('queued');
        await link.opened;
        expect(seen).toEqual(['HELLO']);
        await expect.poll(() => log.filter((l) => l.startsWith('message'))).toEqual(['message queued']);
        expect(peer.received[0]).toEqual(['HELLO', 'queued']);
      });

      it('fail(error, false) closes the link with that error; defer() waits and counts, without an error', async () => {
        peer = await startPeer();
        const { SocklineError } = await import('../../src/core/errors.js');
        link = make(peer.url, {}, (context) => {
          context.fail(new SocklineError('ERR_AUTH_FAILED', 'no'), false);
          return { message: () => {}, unreadable: () => {} };
        });
        let log = record(link);
        await until(link, 'close');
        expect(log.slice(-3)).toEqual([
          'disconnect undefined undefined ERR_AUTH_FAILED true',
          'state connecting>closed',
          'close ERR_AUTH_FAILED',
        ]);

        let calls = 0;
        link = make(peer.url, { reconnect: { initialDelay: 5000 } }, (context) => {
          if (calls++ === 0) context.defer(20, 'busy');
          else queueMicrotask(() => context.complete());
          return { message: () => {}, unreadable: () => {} };
        });
        log = record(link);
        await link.opened;
        expect(log.slice(0, 4)).toEqual([
          'disconnect undefined undefined undefined true',
          'deferred 20 busy',
          'state connecting>reconnecting',
          'reconnecting 1 20 undefined',
        ]);
        expect(link.deferrals).toBe(1);
      });

      it('connectTimeout bounds the handshake too', async () => {
        peer = await startPeer(() => {});
        link = make(peer.url, { connectTimeout: 50, reconnect: false }, () => ({
          message: () => {},
          unreadable: () => {},
        }));
        const log = record(link);
        await until(link, 'close');
        expect(log.slice(0, 2)).toEqual([
          'error ERR_CONNECT_TIMEOUT',
          'disconnect undefined undefined ERR_CONNECT_TIMEOUT true',
        ]);
      });
    });
  });
}

describe('the compact checks of options', () => {
  const cases: unknown[] = [
    undefined,
    {},
    { reconnect: false, outbox: { overflow: 'drop-oldest' }, text: true, protocols: ['a', 'b'] },
    {
      protocol: 'raw',
      idleTimeout: false,
      keepAlive: 100,
      tls: { ca: [new Uint8Array(1)] },
      headers: { a: 'b' },
    },
    { token: 't' },
    { reconect: {} },
    { protocol: 'sockline' },
    { protocol: 7 },
    'raw',
    [],
    { reconnect: true },
    { reconnect: { initialDelay: '5' } },
    { reconnect: { delay: 5 } },
    { outbox: 5 },
    { outbox: { ttl: null } },
    { idleTimeout: true },
    { tls: { ca: 5 } },
    { headers: { a: 1 } },
    { framing: 5 },
    { text: 1 },
    { signal: null },
    { WebSocket: {} },
    { connectTimeout: undefined },
  ];
  /** Both modes, as `connect()` takes them: the raw cases and protocol mode's own. */
  const connectCases: unknown[] = [
    ...cases,
    { token: () => 't', reliable: false, codec: {}, requestTimeout: 5, replay: { maxBytes: 10 } },
    { framing: 'length', streams: () => {} },
    { token: 5 },
    { replay: 5 },
    { replay: { maxMessages: 'x' } },
    { replay: { maxMesages: 1 } },
    { reliabl: true },
    { text: true },
    { protocol: 'raw', token: 't' },
    { protocol: 'raw', framing: { decode: () => {} } },
    { protocol: 'bogus' },
    { protocol: null },
    { maxStreams: '1' },
  ];
  const outcome = (check: (o: unknown) => void, options: unknown): unknown => {
    try {
      check(options);
      return 'accepted';
    } catch (err) {
      const { name, message, code } = err as Error & { code?: string };
      return { name, message, code };
    }
  };

  it('accepts and refuses what the full check does, with the same errors', () => {
    for (const options of cases) {
      expect(outcome(checkRaw, options), JSON.stringify(options)).toEqual(outcome(checkRawOptions, options));
    }
    expect(cases.map((o) => outcome(checkRaw, o)).filter((r) => r === 'accepted')).toHaveLength(5);
    for (const options of connectCases) {
      expect(outcome(checkConnect, options), JSON.stringify(options)).toEqual(
        outcome(checkConnectOptions, options),
      );
    }
    expect(connectCases.map((o) => outcome(checkConnect, o)).filter((r) => r === 'accepted')).toHaveLength(9);
  });

  it("refuses a framing other than 'length' in protocol mode, which frames its own messages", () => {
    expect(outcome(checkConnect, { framing: 'newline' })).toEqual({
      name: 'RangeError',
      message: "Invalid option framing: 'newline'",
      code: 'ERR_INVALID_OPTION',
    });
    expect(checkConnect({ framing: 'length' })).toBe('sockline');
    expect(checkConnect({ protocol: 'raw', framing: 'newline' })).toBe('raw');
  });

  it('says the same with sockline/verbose', async () => {
    await import('../../src/core/opt-in/verbose.js');
    for (const options of cases) {
      expect(outcome(checkRaw, options), JSON.stringify(options)).toEqual(outcome(checkRawOptions, options));
    }
    expect(outcome(checkRaw, { reconect: {} })).toMatchObject({
      message: 'Unknown option reconect (did you mean reconnect?)',
    });
    for (const options of connectCases) {
      expect(outcome(checkConnect, options), JSON.stringify(options)).toEqual(
        outcome(checkConnectOptions, options),
      );
    }
    expect(outcome(checkConnect, { text: true })).toMatchObject({
      message: 'Invalid option text: it is an option of raw mode, not of protocol mode',
    });
  });
});
