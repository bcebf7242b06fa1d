import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Link } from '../../src/core/link/link.js';
import { resolveLinkOptions } from '../../src/core/link/options.js';
import { createFraming } from '../../src/core/framing/index.js';
import { byteWires } from '../../src/core/link/byte-wires.js';
import { BaseTransport } from '../../src/core/transport-base.js';
import type { TransportHandlers } from '../../src/core/transport.js';
import type { SocklineError } from '../../src/core/errors.js';
import { bytes, concat, frame, harness, settle, text } from './link-helpers.js';
import { MemoryServer } from '../../src/core/memory-transport.js';
// `for await` over a link: the sockline/iterate opt-in.
import '../../src/core/opt-in/iterate.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Link: opening and state', () => {
  it('goes connecting → open and emits state only on real changes', async () => {
    const { link, events } = harness();
    expect(link.state).toBe('connecting');
    await settle();
    expect(link.state).toBe('open');
    await link.opened;
    expect(events).toEqual(['open']);
    await link.close();
    expect(events).toEqual(['open', 'closing', 'closed']);
  });

  it('retries a refused connection with growing, jittered delays, then opens', async () => {
    const h = harness({ reconnect: { initialDelay: 100, maxDelay: 1000, multiplier: 2, jitter: 1 } });
    h.server.refusing = true;
    const delays: number[] = [];
    h.link.on('reconnecting', ({ delay }) => delays.push(delay));
    await settle();
    await vi.advanceTimersByTimeAsync(50);
    await vi.advanceTimersByTimeAsync(100);
    await vi.advanceTimersByTimeAsync(200);
    expect(delays).toEqual([50, 100, 200, 400]);
    h.server.refusing = false;
    await vi.advanceTimersByTimeAsync(400);
    expect(h.link.state).toBe('open');
    expect(h.events.slice(0, 4)).toEqual(['reconnecting', 'connecting', 'reconnecting', 'connecting']);
    await h.link.close();
  });

  it('gives up after maxRetries with ERR_MAX_RETRIES and the last error as cause', async () => {
    const h = harness({ reconnect: { initialDelay: 10, maxRetries: 3 } });
    h.server.refusing = true;
    let attempts = 0;
    h.link.on('state', ({ to }) => to === 'connecting' && attempts++);
    const closed = new Promise<{ error?: Error }>((resolve) => h.link.on('close', resolve));
    await vi.advanceTimersByTimeAsync(1000);
    const { error } = await closed;
    expect(error).toMatchObject({ code: 'ERR_MAX_RETRIES' });
    expect((error as Error & { cause: unknown }).cause).toMatchObject({ code: 'ERR_TRANSPORT' });
    expect(attempts).toBe(3); // the first attempt is not a state change: it starts in connecting
    expect(h.link.state).toBe('closed');
    await expect(h.link.opened).rejects.toMatchObject({ code: 'ERR_MAX_RETRIES' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('abandons an attempt that does not open within connectTimeout', async () => {
    class Hanging extends BaseTransport {
      readonly kind = 'stream' as const;
      readonly bufferedAmount = 0;
      destroyed = 0;
      constructor(handlers: TransportHandlers) {
        super(handlers);
      }
      send(): boolean {
        return false;
      }
      close(): void {
        this.destroy();
      }
      override destroy(error?: SocklineError): void {
        this.destroyed++;
        this.finish(error ? { error } : {});
      }
      protected detach(): void {}
    }
    const made: Hanging[] = [];
    const link = new Link({
      ...resolveLinkOptions({ connectTimeout: 1000, reconnect: false }),
      connector: (h) => {
        const t = new Hanging(h);
        made.push(t);
        return t;
      },
      framing: createFraming('length'),
      text: false,
    });
    const errors: string[] = [];
    link.on('error', (e) => errors.push(e.code));
    await vi.advanceTimersByTimeAsync(999);
    expect(link.state).toBe('connecting');
    await vi.advanceTimersByTimeAsync(1);
    expect(link.state).toBe('closed');
    expect(errors).toEqual(['ERR_CONNECT_TIMEOUT']);
    expect(made).toHaveLength(1);
    expect(made[0]!.destroyed).toBe(1);
    await expect(link.opened).rejects.toMatchObject({ code: 'ERR_CONNECT_TIMEOUT' });
  });

  it('resets the retry count only after the link stayed up for minUptime', async () => {
    const h = harness({ reconnect: { initialDelay: 100, jitter: 0, minUptime: 1000 } });
    const attempts: number[] = [];
    h.link.on('reconnecting', ({ attempt }) => attempts.push(attempt));
    await settle();
    // Dropped quickly, three times in a row: the count grows.
    for (let i = 0; i < 3; i++) {
      h.server.resetAll();
      await settle();
      await vi.advanceTimersByTimeAsync(100 * 2 ** i);
      expect(h.link.state).toBe('open');
    }
    expect(attempts).toEqual([1, 2, 3]);
    // Up for longer than minUptime: the next drop starts from attempt 1 again.
    await vi.advanceTimersByTimeAsync(1000);
    h.server.resetAll();
    await settle();
    expect(attempts).toEqual([1, 2, 3, 1]);
    await h.link.close();
  });

  it('stops when shouldReconnect returns false, with the disconnect error as the close reason', async () => {
    const h = harness({ shouldReconnect: (info) => info.wasOpen === false });
    await settle();
    const closed = new Promise<{ error?: Error }>((resolve) => h.link.on('close', resolve));
    h.server.resetAll();
    const { error } = await closed;
    expect(error).toMatchObject({ code: 'ERR_TRANSPORT' });
    expect(h.link.state).toBe('closed');
  });
});

describe('Link: sending and the outbox', () => {
  it('writes at once when open, framed for a stream', async () => {
    const h = harness();
    await settle();
    expect(h.link.send('hi')).toBe('sent');
    expect(h.link.send(bytes('there'))).toBe('sent');
    await settle();
    expect(concat(h.received[0]!)).toEqual(concat([frame('hi'), frame('there')]));
    await h.link.close();
  });

  it('queues while down and flushes in order, before anything sent later', async () => {
    const h = harness({ reconnect: { initialDelay: 100, jitter: 0 } });
    expect(h.link.send('one')).toBe('queued');
    expect(h.link.send('two')).toBe('queued');
    await settle();
    h.link.send('three');
    await settle();
    expect(concat(h.received[0]!)).toEqual(concat([frame('one'), frame('two'), frame('three')]));
    h.server.resetAll();
    await settle();
    expect(h.link.state).toBe('reconnecting');
    expect(h.link.send('four')).toBe('queued');
    expect(h.link.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(concat(h.received[1]!)).toEqual(frame('four'));
    await h.link.close();
  });

  it('keeps what it had not written when the transport dies during the flush, and writes it on the next connection', async () => {
    // A message transport (a WebSocket's kind): the flush writes each message on its own.
    const server = new MemoryServer({ kind: 'message' });
    const received: string[][] = [];
    server.onConnection = (end) => {
      const got: string[] = [];
      received.push(got);
      end.onData = (d) => got.push(text(typeof d === 'string' ? bytes(d) : d));
    };
    let attempts = 0;
    const link = new Link({
      ...resolveLinkOptions({ random: () => 0.5, reconnect: { initialDelay: 100, jitter: 0 } }),
      connector: (handlers) => {
        const transport = server.connect(new URL('tcp://memory:1'), handlers, { highWaterMark: 1 << 20 });
        if (++attempts === 1) {
          // The first connection dies while the flush writes its second message.
          const send = transport.send.bind(transport);
          let writes = 0;
          transport.send = (data, volatile) => {
            const written = send(data, volatile);
            if (++writes === 2) transport.destroy();
            return written;
          };
        }
        return transport;
      },
      framing: createFraming('none'),
      wire: byteWires,
      text: false,
    });
    const drops: unknown[] = [];
    link.on('drop', (m, reason) => drops.push([m, reason]));
    link.on('error', () => {});
    for (const m of ['a', 'b', 'c', 'd']) expect(link.send(m)).toBe('queued');
    await settle();
    // 'a' and 'b' were handed to the first transport; 'c' and 'd' wait for the next one.
    expect(link.state).toBe('reconnecting');
    expect(link.queued).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    await settle();
    expect(received.at(-1)).toEqual(['c', 'd']);
    expect(drops).toEqual([]);
    await link.close();
  });

  it("refuses with ERR_QUEUE_FULL under the default 'reject' policy", async () => {
    const h = harness({ outbox: { maxMessages: 2 } });
    h.link.send('a');
    h.link.send('b');
    expect(() => h.link.send('c')).toThrowError(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
    await h.link.close();
  });

  it('drop-oldest and drop-newest report the dropped message in a drop event', async () => {
    const oldest = harness({ outbox: { maxMessages: 2, overflow: 'drop-oldest' } });
    const dropped: string[] = [];
    oldest.link.on('drop', (m, reason) => dropped.push(`${text(m)}:${reason}`));
    oldest.link.send('a');
    oldest.link.send('b');
    expect(oldest.link.send('c')).toBe('queued');
    expect(dropped).toEqual(['a:overflow']);
    await settle();
    expect(concat(oldest.received[0]!)).toEqual(concat([frame('b'), frame('c')]));
    await oldest.link.close();

    const newest = harness({ outbox: { maxMessages: 1, overflow: 'drop-newest' } });
    const dropped2: string[] = [];
    newest.link.on('drop', (m, reason) => dropped2.push(`${text(m)}:${reason}`));
    newest.link.send('a');
    expect(newest.link.send('b')).toBe('dropped');
    expect(dropped2).toEqual(['b:overflow']);
    await newest.link.close();
  });

  it('bounds the outbox by bytes as well as by count', async () => {
    const h = harness({ outbox: { maxBytes: 10 } });
    h.link.send('12345');
    h.link.send('12345');
    expect(() => h.link.send('x')).toThrowError(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
    expect(h.link.bufferedAmount).toBe(10);
    await h.link.close();
  });

  it('never queues a volatile message', async () => {
    const h = harness();
    const dropped: string[] = [];
    h.link.on('drop', (m, reason) => dropped.push(`${text(m)}:${reason}`));
    expect(h.link.send('tick', { volatile: true })).toBe('dropped');
    expect(dropped).toEqual(['tick:volatile']);
    await settle();
    expect(h.link.send('tock', { volatile: true })).toBe('sent');
    await h.link.close();
  });

  it('expires a queued message after its ttl with an expire event', async () => {
    const h = harness({ reconnect: { initialDelay: 10_000, jitter: 0 } });
    h.server.refusing = true;
    const expired: string[] = [];
    h.link.on('expire', (m) => expired.push(text(m)));
    h.link.send('short', { ttl: 100 });
    h.link.send('long', { ttl: 5000 });
    h.link.send('forever');
    await vi.advanceTimersByTimeAsync(100);
    expect(expired).toEqual(['short']);
    await vi.advanceTimersByTimeAsync(4900);
    expect(expired).toEqual(['short', 'long']);
    h.server.refusing = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.link.state).toBe('open');
    expect(concat(h.received[0]!)).toEqual(frame('forever'));
    await h.link.close();
  });

  it('rejects what is not a string or bytes with a TypeError, and sends after close with ERR_CLIENT_CLOSED', async () => {
    const h = harness();
    expect(() => h.link.send({ a: 1 } as never)).toThrowError(TypeError);
    await h.link.close();
    expect(() => h.link.send('late')).toThrowError(expect.objectContaining({ code: 'ERR_CLIENT_CLOSED' }));
  });

  it('refuses a frame over maxFrameSize synchronously when open', async () => {
    const h = harness();
    await settle();
    expect(() => h.link.send(new Uint8Array((1 << 20) + 1))).toThrowError(
      expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }),
    );
    await h.link.close();
  });
});

describe('Link: receiving', () => {
  it('delivers frames split across chunks, and text when asked', async () => {
    const h = harness({ framing: 'lines', text: true });
    const got: Array<string | Uint8Array> = [];
    h.link.on('message', (m) => got.push(m));
    await settle();
    h.ends[0]!.send(bytes('hel'));
    h.ends[0]!.send(bytes('lo\r\nwor'));
    h.ends[0]!.send(bytes('ld\n'));
    await settle();
    expect(got).toEqual(['hello', 'world']);
    await h.link.close();
  });

  it('drops the connection on a length header over maxFrameSize, delivering nothing, and reconnects', async () => {
    const h = harness({ reconnect: { initialDelay: 10, jitter: 0 } });
    const got: unknown[] = [];
    const errors: string[] = [];
    h.link.on('message', (m) => got.push(m));
    h.link.on('error', (e) => errors.push(e.code));
    await settle();
    h.ends[0]!.send(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await settle();
    expect(got).toEqual([]);
    expect(errors).toContain('ERR_FRAME_TOO_LARGE');
    await vi.advanceTimersByTimeAsync(10);
    expect(h.link.state).toBe('open');
    expect(h.ends).toHaveLength(2);
    await h.link.close();
  });

  it('reports ERR_TRUNCATED and delivers nothing partial when the stream ends mid-frame', async () => {
    const h = harness({ reconnect: false });
    const got: unknown[] = [];
    const errors: string[] = [];
    h.link.on('message', (m) => got.push(text(m as Uint8Array)));
    h.link.on('error', (e) => errors.push(e.code));
    await settle();
    const whole = frame('complete');
    const partial = frame('never delivered').subarray(0, 9);
    h.ends[0]!.send(concat([whole, partial]));
    await settle();
    h.ends[0]!.close();
    await settle();
    expect(got).toEqual(['complete']);
    expect(errors).toEqual(['ERR_TRUNCATED']);
  });

  it('discards a partial frame when the connection is reset mid-frame, then reconnects', async () => {
    const h = harness({ reconnect: { initialDelay: 10, jitter: 0 } });
    const got: string[] = [];
    const errors: string[] = [];
    h.link.on('message', (m) => got.push(text(m)));
    h.link.on('error', (e) => errors.push(e.code));
    await settle();
    h.ends[0]!.send(concat([frame('whole'), frame('half of this frame').subarray(0, 10)]));
    await settle();
    h.server.resetAll();
    await settle();
    expect(got).toEqual(['whole']);
    expect(errors).toEqual(['ERR_TRUNCATED', 'ERR_TRANSPORT']);
    await vi.advanceTimersByTimeAsync(10);
    expect(h.link.state).toBe('open');
    h.ends[1]!.send(frame('after'));
    await settle();
    expect(got).toEqual(['whole', 'after']);
    await h.link.close();
  });

  it('refuses a line that grows past maxFrameSize without a delimiter, delivers nothing of it, and reconnects', async () => {
    const h = harness({ framing: 'lines', text: true, reconnect: { initialDelay: 10, jitter: 0 } });
    const errors: string[] = [];
    h.link.on('error', (e) => errors.push(e.code));
    const got: string[] = [];
    h.link.on('message', (m) => got.push(text(m)));
    await settle();
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    for (let i = 0; i < 20 && errors.length === 0; i++) {
      h.ends[0]!.send(chunk);
      await settle();
    }
    expect(errors[0]).toBe('ERR_FRAME_TOO_LARGE');
    expect(got).toEqual([]);
    await vi.advanceTimersByTimeAsync(10);
    expect(h.link.state).toBe('open');
    await h.link.close();
  });

  it('stops delivering while paused and delivers in order on resume', async () => {
    const h = harness({ framing: 'lines', text: true });
    const got: string[] = [];
    h.link.on('message', (m) => got.push(text(m)));
    await settle();
    h.link.pause();
    h.ends[0]!.send(bytes('one\ntwo\n'));
    await settle();
    expect(got).toEqual([]);
    h.link.resume();
    await settle();
    expect(got).toEqual(['one', 'two']);
    await h.link.close();
  });

  it('iterates messages with for await and ends when the link closes', async () => {
    const h = harness({ framing: 'lines', text: true });
    await settle();
    h.ends[0]!.send(bytes('a\nb\nc\n'));
    const seen: string[] = [];
    const loop = (async () => {
      for await (const m of h.link) {
        seen.push(text(m));
        if (seen.length === 3) void h.link.close();
      }
    })();
    await settle();
    await loop;
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(h.link.listenerCount('message')).toBe(0);
  });
});

describe('Link: liveness', () => {
  it('treats a silent peer as dead after idleTimeout and reconnects', async () => {
    const h = harness({ idleTimeout: 1000, reconnect: { initialDelay: 10, jitter: 0 } });
    const errors: string[] = [];
    h.link.on('error', (e) => errors.push(e.code));
    await settle();
    await vi.advanceTimersByTimeAsync(600);
    h.ends[0]!.send(frame('still here'));
    await vi.advanceTimersByTimeAsync(900);
    expect(errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(errors).toEqual(['ERR_IDLE_TIMEOUT']);
    await vi.advanceTimersByTimeAsync(10);
    expect(h.link.state).toBe('open');
    expect(h.ends).toHaveLength(2);
    await h.link.close();
  });

  it('does not count a suspended runtime (a timer firing far too late) as a dead link', async () => {
    let skew = 0;
    const clock = {
      now: () => Date.now() + skew,
      setTimeout: (cb: () => void, ms: number) => setTimeout(cb, ms),
      clearTimeout: (t: unknown) => clearTimeout(t as number),
    };
    const h = harness({ idleTimeout: 1000, clock });
    const errors: string[] = [];
    h.link.on('error', (e) => errors.push(e.code));
    await settle();
    // A throttled tab: the timer that was due at 1000 ms runs when the clock reads 61 s.
    skew = 60_000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(errors).toEqual([]);
    expect(h.link.state).toBe('open');
    await h.link.close();
  });
});

describe('Link: backpressure', () => {
  it('reports buffered bytes, resolves writable() and emits drain once below the high-water mark', async () => {
    const h = harness({ highWaterMark: 8 });
    await settle();
    expect(h.link.send('0123456789')).toBe('sent');
    expect(h.link.bufferedAmount).toBeGreaterThan(8);
    let drained = 0;
    h.link.on('drain', () => drained++);
    let writable = false;
    const w = h.link.writable().then(() => (writable = true));
    expect(writable).toBe(false);
    await settle();
    await w;
    expect(drained).toBe(1);
    expect(h.link.bufferedAmount).toBe(0);
    await h.link.close();
  });
});

describe('Link: close, reconnect and abort in every state', () => {
  const states = ['connecting', 'open', 'reconnecting', 'closed'] as const;

  for (const state of states) {
    it(`close() from ${state} ends in closed, once, with no timer left and the outbox dropped`, async () => {
      const h = harness({ reconnect: { initialDelay: 1000 } });
      if (state !== 'connecting') await settle();
      if (state === 'reconnecting') {
        h.server.refusing = true;
        h.server.resetAll();
        await settle();
      }
      if (state === 'closed') await h.link.close();
      expect(h.link.state).toBe(state);
      const dropped: string[] = [];
      h.link.on('drop', (m, reason) => dropped.push(`${text(m)}:${reason}`));
      let closes = 0;
      h.link.on('close', () => closes++);
      if (state === 'connecting' || state === 'reconnecting') h.link.send('queued');
      await Promise.all([h.link.close(), h.link.close()]);
      await settle();
      expect(h.link.state).toBe('closed');
      expect(closes).toBe(state === 'closed' ? 0 : 1);
      expect(dropped).toEqual(state === 'connecting' || state === 'reconnecting' ? ['queued:closed'] : []);
      expect(vi.getTimerCount()).toBe(0);
      expect(h.server.connections.size).toBe(0);
    });

    it(`reconnect() from ${state} opens a fresh connection at once`, async () => {
      const h = harness({ reconnect: { initialDelay: 10_000 } });
      if (state !== 'connecting') await settle();
      if (state === 'reconnecting') {
        h.server.resetAll();
        await settle();
      }
      if (state === 'closed') await h.link.close();
      expect(h.link.state).toBe(state);
      h.link.reconnect();
      await settle();
      expect(h.link.state).toBe('open');
      expect(h.server.connections.size).toBe(1);
      await h.link.close();
    });
  }

  it('closes with ERR_ABORTED when its AbortSignal fires, and at once if it already had', async () => {
    const ac = new AbortController();
    const h = harness({ signal: ac.signal });
    await settle();
    const closed = new Promise<{ error?: Error }>((resolve) => h.link.on('close', resolve));
    ac.abort();
    expect((await closed).error).toMatchObject({ code: 'ERR_ABORTED' });
    expect(vi.getTimerCount()).toBe(0);

    const early = harness({ signal: AbortSignal.abort() });
    expect(early.link.state).toBe('closed');
    await expect(early.link.opened).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await settle();
    expect(early.server.connections.size).toBe(0);
  });

  it('wake() skips the backoff wait only while reconnecting', async () => {
    const h = harness({ reconnect: { initialDelay: 60_000 } });
    await settle();
    h.link.wake();
    expect(h.link.state).toBe('open');
    h.server.resetAll();
    await settle();
    expect(h.link.state).toBe('reconnecting');
    h.link.wake();
    await settle();
    expect(h.link.state).toBe('open');
    await h.link.close();
  });
});

describe("Link: the application's listeners, deferrals and final refusals", () => {
  it('a throwing listener is reported as ERR_CALLBACK and the other listeners still run', async () => {
    const h = harness();
    const got: string[] = [];
    const errors: Array<{ code: string; cause: unknown }> = [];
    const bug = new Error('listener bug');
    h.link.on('error', (e) => errors.push({ code: e.code, cause: e.cause }));
    h.link.on('message', () => {
      throw bug;
    });
    h.link.on('message', (m) => got.push(text(m)));
    await settle();
    h.ends[0]!.send(concat([frame('a'), frame('b')]));
    await settle();
    expect(got).toEqual(['a', 'b']);
    expect(errors).toEqual([
      { code: 'ERR_CALLBACK', cause: bug },
      { code: 'ERR_CALLBACK', cause: bug },
    ]);
    expect(h.link.state).toBe('open');
    await h.link.close();
  });

  it("a handshake's defer() ends the attempt without an error, waits exactly, and counts", async () => {
    const server = new MemoryServer({ kind: 'stream' });
    let attempt = 0;
    const link = new Link({
      ...resolveLinkOptions({ random: () => 0.5, reconnect: { maxRetries: 0 } }),
      framing: createFraming('length'),
      text: undefined,
      connector: (handlers) =>
        server.connect(new URL('tcp://memory:1'), handlers, { highWaterMark: 1 << 20 }),
      handshake: (ctx) => {
        const n = ++attempt;
        queueMicrotask(() => (n < 3 ? ctx.defer(250, 'busy') : ctx.complete()));
        return { message: () => {}, unreadable: () => {} };
      },
    });
    const seen: string[] = [];
    link.on('error', (e) => seen.push(`error ${e.code}`));
    link.on('deferred', ({ delay, reason }) => seen.push(`deferred ${delay} ${reason}`));
    link.on('reconnecting', ({ delay, error }) => seen.push(`reconnecting ${delay} ${error === undefined}`));
    await settle();
    await vi.advanceTimersByTimeAsync(249);
    expect(attempt).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(250);
    expect(link.state).toBe('open');
    expect(seen).toEqual([
      'deferred 250 busy',
      'reconnecting 250 true',
      'deferred 250 busy',
      'reconnecting 250 true',
    ]);
    expect(link.deferrals).toBe(2);
    await link.close();
  });

  it("a transport's final refusal closes the link with its error, without a retry", async () => {
    class Refused extends BaseTransport {
      readonly kind = 'message' as const;
      readonly bufferedAmount = 0;
      constructor(handlers: TransportHandlers) {
        super(handlers);
        queueMicrotask(() => this.finish({ error: refusal, final: true }));
      }
      send(): boolean {
        return false;
      }
      close(): void {}
      protected detach(): void {}
    }
    const refusal = {
      code: 'ERR_UPGRADE_REFUSED',
      message: 'HTTP 404',
      name: 'SocklineError',
    } as SocklineError;
    let attempts = 0;
    const link = new Link({
      ...resolveLinkOptions({ random: () => 0.5 }),
      framing: null,
      text: undefined,
      connector: (handlers) => {
        attempts++;
        return new Refused(handlers);
      },
    });
    link.on('error', () => {});
    await settle();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(attempts).toBe(1);
    expect(link.state).toBe('closed');
    await expect(link.opened).rejects.toBe(refusal);
  });
});
