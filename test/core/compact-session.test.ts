import { describe, expect, it } from 'vitest';
import { CompactClient, type CompactLinkLike } from '../../src/browser/compact/client.js';
import * as F from '../../src/browser/compact/codec.js';
import type { CompactHandshake, CompactHandshakeContext } from '../../src/browser/compact/link.js';
import type { Clock } from '../../src/core/clock.js';
import type { SocklineError } from '../../src/core/errors.js';
import type { HandshakeReceiver, LinkMessage } from '../../src/core/link/types.js';
import type { LinkState } from '../../src/core/link/state.js';
import { compactOptions } from '../../src/browser/compact/session-options.js';

/**
 * The compact client's session rules on a fake clock, with a scripted link: the frames it
 * writes are read back with its own codec (checked against the golden vectors elsewhere), and
 * the server's frames are written with it.
 */

/** Timers that run only when the test moves time. */
class FakeClock implements Clock {
  t = 0;
  #timers = new Map<number, [number, () => void]>();
  #next = 0;
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): number => {
    this.#timers.set(++this.#next, [this.t + ms, fn]);
    return this.#next;
  };
  clearTimeout = (handle: unknown): void => void this.#timers.delete(handle as number);
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, [at]]) => at <= end).sort((a, b) => a[1][0] - b[1][0])[0];
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.t = due[1][0];
      due[1][1]();
    }
    this.t = end;
  }
  get pending(): number {
    return this.#timers.size;
  }
}

/** A link the test drives: it runs the handshake on `connect()` and records what is written. */
class ScriptedLink implements CompactLinkLike {
  state: LinkState = 'connecting';
  opened = Promise.resolve();
  deferrals = 0;
  bufferedAmount = 0;
  written: F.InFrame[] = [];
  suspended: Array<SocklineError | undefined> = [];
  reconnects = 0;
  #listeners = new Map<string, Array<(...args: never[]) => void>>();
  #receiver: HandshakeReceiver | null = null;
  #ctx: CompactHandshakeContext | null = null;
  constructor(readonly handshake: CompactHandshake) {}
  on(event: string, listener: (...args: never[]) => void): () => void {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return () => {};
  }
  emit(event: string, ...args: unknown[]): void {
    for (const l of this.#listeners.get(event) ?? []) (l as (...a: unknown[]) => void)(...args);
  }
  send(message: LinkMessage): void {
    this.written.push(decodeClient(message as Uint8Array));
  }
  /** A transport opened: the handshake runs, its HELLO is written. */
  async connect(): Promise<F.InFrame> {
    this.state = 'connecting';
    this.#ctx = {
      send: (m) => this.send(m),
      complete: () => {
        this.state = 'open';
        this.emit('state', { from: 'connecting', to: 'open' });
        this.emit('open');
      },
      fail: () => (this.state = 'reconnecting'),
      defer: () => (this.state = 'reconnecting'),
    };
    this.#receiver = this.handshake(this.#ctx);
    await Promise.resolve();
    await Promise.resolve();
    return this.written.at(-1)!;
  }
  /** A frame from the server. */
  receive(frame: Uint8Array): void {
    if (this.state === 'open') this.emit('message', frame);
    else this.#receiver!.message(frame);
  }
  drop(): void {
    this.state = 'reconnecting';
    this.emit('disconnect', { wasOpen: true });
  }
  reconnect(): void {
    this.reconnects++;
    this.drop();
  }
  wake(): void {}
  suspend(error?: SocklineError): void {
    this.suspended.push(error);
    this.drop();
  }
  close(): Promise<void> {
    this.state = 'closed';
    this.emit('close', {});
    return Promise.resolve();
  }
  deferReconnect(): void {}
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  /** What was written since the last call. */
  take(): F.InFrame[] {
    return this.written.splice(0);
  }
}

/** Reads a frame the client wrote: the client's types, with seq/ack where they have them. */
function decodeClient(body: Uint8Array): F.InFrame {
  const t = body[0]!;
  if (t === F.HELLO || t === F.SUBSCRIBE || t === F.UNSUBSCRIBE) return [t, body[1]!, 0, -1, body];
  // A client's DATA, PUBLISH, REQUEST, RESPONSE, ACK, PING, PONG and CLOSE read as a server's.
  return F.decode(body);
}

const welcome = (
  sid: string,
  o: { resumed?: boolean; lastSeq?: number; maxInFlight?: number } = {},
): Uint8Array =>
  F.encode(
    F.WELCOME,
    o.resumed ? 1 : 0,
    2,
    sid,
    10_000,
    5_000,
    o.lastSeq ?? 0,
    1 << 20,
    o.maxInFlight ?? 100,
    30_000,
    0,
    0,
  );
const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

function setup(options: Record<string, unknown> = {}): {
  client: CompactClient;
  link: ScriptedLink;
  clock: FakeClock;
} {
  const clock = new FakeClock();
  let link!: ScriptedLink;
  const client = new CompactClient(
    (handshake) => (link = new ScriptedLink(handshake)),
    compactOptions({ clock, ...options }),
  );
  client.on('error', () => {});
  return { client, link, clock };
}

async function open(
  link: ScriptedLink,
  sid = 's1',
  o: Parameters<typeof welcome>[1] = {},
): Promise<F.InFrame> {
  const hello = await link.connect();
  link.receive(welcome(sid, o));
  return hello;
}

const types = (frames: F.InFrame[]): number[] => frames.map((f) => f[0]);

describe('the compact client session on a fake clock', () => {
  it('says hello without resume, streams, batch or large messages, then numbers what it sends from 1', async () => {
    const { client, link } = setup({ token: 'tok' });
    const hello = await open(link);
    expect(Buffer.from(hello[4] as Uint8Array).toString('hex')).toBe(
      // HELLO, token + limits, [2], caps 23, 'json', 'tok', maxFrameSize 1 MiB, no large messages, no streams
      '0105' + '0102' + '17' + '046a736f6e' + '03746f6b' + '808040' + '00' + '00',
    );
    link.take();
    expect(client.send({ a: 1 })).toBe('sent');
    expect(client.publish('t/x', 'hi')).toBe('sent');
    const [data, publish] = link.take();
    expect(data!.slice(0, 4)).toEqual([F.DATA, 0x22, 1, -1]);
    expect(publish!.slice(0, 5)).toEqual([F.PUBLISH, 0x12, 2, -1, 't/x']);
    expect(client.bufferedAmount).toBeGreaterThan(0);
    link.receive(F.encode(F.ACK, 0, 2));
    expect(client.bufferedAmount).toBe(0);
  });

  it('acknowledges after ackDelay, drops duplicates, and closes with 4000 on a gap', async () => {
    const { client, link, clock } = setup();
    await open(link);
    link.take();
    const got: unknown[] = [];
    client.on('message', (v) => got.push(v));
    link.receive(F.encode(F.DATA, 0x22, 1, json('a')));
    link.receive(F.encode(F.DATA, 0x22, 1, json('a')));
    clock.advance(19);
    expect(types(link.written)).not.toContain(F.ACK);
    clock.advance(1);
    expect(link.take().filter((f) => f[0] === F.ACK)).toEqual([[F.ACK, 0, 0, -1, 1]]);
    expect(got).toEqual(['a']);
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    link.receive(F.encode(F.DATA, 0x22, 3, json('c')));
    expect(link.take().map((f) => f.slice(0, 5))).toEqual([[F.CLOSE, 0, 0, -1, 4000]]);
    expect(errors).toEqual(['ERR_PROTOCOL']);
    expect(link.reconnects).toBe(1);
    expect(got).toEqual(['a']);
  });

  it('lets an owed ack ride on the next frame it sends, and acks at once after 32 unacknowledged', async () => {
    const { client, link, clock } = setup();
    await open(link);
    link.take();
    link.receive(F.encode(F.DATA, 0x22, 1, json('a')));
    link.receive(F.encode(F.DATA, 0x22, 2, json('b')));
    // DATA with seq 1 and ack 2 (flags 0x23): no ACK of its own, then or after ackDelay.
    client.send('x');
    expect(link.take().map((f) => f.slice(0, 4))).toEqual([[F.DATA, 0x13, 1, 2]]);
    clock.advance(100);
    expect(link.take()).toEqual([]);
    // Nothing to ride on: 31 wait for ackDelay, the 32nd unacknowledged is acked at once.
    for (let seq = 3; seq <= 33; seq++) link.receive(F.encode(F.DATA, 0x22, seq, json(seq)));
    expect(link.take()).toEqual([]);
    link.receive(F.encode(F.DATA, 0x22, 34, json(34)));
    expect(link.take()).toEqual([[F.ACK, 0, 0, -1, 34]]);
    expect(clock.pending).toBe(2); // the heartbeat's beat and idle timers, no ack timer
    clock.advance(20);
    expect(link.take().filter((f) => f[0] === F.ACK)).toEqual([]);
  });

  it('resumes: asks with what it received, sends again only what the server lacks, then goes on numbering', async () => {
    const { client, link } = setup();
    await open(link);
    link.receive(F.encode(F.DATA, 0x22, 1, json('from server')));
    client.send(1);
    client.send(2);
    link.take();
    link.drop();
    expect(client.send(3)).toBe('queued');
    const sessions: unknown[] = [];
    client.on('session', (s) => sessions.push(s));
    const hello = await link.connect();
    // Resume flag, and the session's id and lastSeq 1 in it.
    expect(hello[1] & 2).toBe(2);
    expect(Buffer.from(hello[4] as Uint8Array).includes(Buffer.from([2, 0x73, 0x31, 1]))).toBe(true);
    link.take();
    link.receive(welcome('s1', { resumed: true, lastSeq: 1 }));
    const again = link.take().filter((f) => f[0] === F.DATA);
    expect(again.map((f) => f[2])).toEqual([2, 3]);
    expect(sessions).toEqual([{ id: 's1', resumed: true }]);
  });

  it('a lost session: requests that left fail with ERR_SESSION_LOST, messages go again from seq 1, subscriptions again', async () => {
    const { client, link } = setup();
    await open(link);
    client.subscribe('news/#', () => {});
    const asked = client.request('m', 1).catch((e: SocklineError) => e);
    client.send('lost?');
    link.take();
    link.drop();
    const waiting = client.request('later', 2);
    const lost: unknown[] = [];
    client.on('sessionlost', (info) => lost.push(info));
    await link.connect();
    link.take();
    link.receive(welcome('s2'));
    expect(await asked).toMatchObject({ code: 'ERR_SESSION_LOST', sent: true });
    expect(lost).toEqual([{ previousId: 's1', id: 's2', resent: 1 }]);
    const written = link.take();
    expect(written.filter((f) => f[0] === F.SUBSCRIBE)).toHaveLength(1);
    expect(written.filter((f) => f[0] === F.DATA).map((f) => f[2])).toEqual([1]);
    const request = written.find((f) => f[0] === F.REQUEST)!;
    expect(request.slice(2, 6)).toEqual([2, -1, 2, 'later']);
    link.receive(F.encode(F.RESPONSE, 0x22, 1, 2, json('ok')));
    await expect(waiting).resolves.toBe('ok');
  });

  it("holds requests over the server's maxInFlight and writes one as each answer comes", async () => {
    const { client, link } = setup();
    await open(link, 's1', { maxInFlight: 2 });
    link.take();
    const answers = [1, 2, 3].map((n) => client.request('m', n));
    expect(link.take().map((f) => f[4])).toEqual([1, 2]);
    link.receive(F.encode(F.RESPONSE, 0x22, 1, 1, json('one')));
    expect(
      link
        .take()
        .filter((f) => f[0] === F.REQUEST)
        .map((f) => f[4]),
    ).toEqual([3]);
    link.receive(F.encode(F.RESPONSE, 0x22, 2, 2, json('two')));
    link.receive(F.encode(F.RESPONSE, 0x22, 3, 3, json('three')));
    await expect(Promise.all(answers)).resolves.toEqual(['one', 'two', 'three']);
  });

  it('finds a dead connection after heartbeat interval + timeout of silence, not before', async () => {
    const { link, clock } = setup();
    await open(link);
    clock.advance(14_999);
    expect(link.suspended).toEqual([]);
    link.receive(F.encode(F.PING, 0, 7));
    expect(link.take().filter((f) => f[0] === F.PONG)).toEqual([[F.PONG, 0, 0, -1, 7]]);
    clock.advance(14_999);
    expect(link.suspended).toEqual([]);
    clock.advance(1);
    expect(link.suspended.map((e) => e?.code)).toEqual(['ERR_HEARTBEAT_TIMEOUT']);
  });

  it('times a request out while down, saying it never left; close() leaves no timer', async () => {
    const { client, link, clock } = setup();
    const pending = client.request('m', 1, { timeout: 500 }).catch((e: SocklineError) => e);
    clock.advance(500);
    expect(await pending).toMatchObject({ code: 'ERR_REQUEST_TIMEOUT', sent: false });
    await open(link);
    void client.request('n', 1).catch(() => {});
    client.send('x', { ttl: 1000 });
    await client.close();
    expect(clock.pending).toBe(0);
  });

  it('refuses at send() what is over the frame size, naming sockline/streams', async () => {
    const { client, link } = setup();
    await open(link);
    expect(() => client.send(new Uint8Array(1 << 20))).toThrow(
      expect.objectContaining({
        code: 'ERR_FRAME_TOO_LARGE',
        message: expect.stringContaining('sockline/streams'),
      }),
    );
  });
});
