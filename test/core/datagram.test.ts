import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { isSocklineError, type SocklineError } from '../../src/core/errors.js';
import { DatagramChannel, type DatagramChannelOptions } from '../../src/core/datagram/channel.js';
import { decodePacket, encodePacket, type Packet } from '../../src/core/datagram/packet.js';
import { DatagramSessionTransport } from '../../src/core/datagram/session-transport.js';
import type { Transport, TransportCloseInfo, TransportHandlers } from '../../src/core/transport.js';
import { fromHex, toHex } from '../fixtures/frames.js';
import { mulberry32 } from '../support/udp-proxy.js';

const CID = fromHex('0102030405060708');
const none = new Uint8Array(0);

/** Golden packets (docs/udp.md §3): each decodes to the value and encodes back to the bytes. */
const golden: Array<[string, Packet]> = [
  [
    'd1 01 0102030405060708 01 00' + '00'.repeat(52),
    { type: 'initial', cid: CID, reliable: true, cookie: none },
  ],
  [
    'd1 01 0102030405060708 00 03 aabbcc' + '00'.repeat(49),
    { type: 'initial', cid: CID, reliable: false, cookie: fromHex('aabbcc') },
  ],
  ['d1 02 0102030405060708 03 aabbcc', { type: 'cookie', cid: CID, cookie: fromHex('aabbcc') }],
  ['d1 03 0102030405060708 01', { type: 'accept', cid: CID, reliable: true }],
  [
    'd1 10 0102030405060708 01 00 6869',
    {
      type: 'packet',
      cid: CID,
      pn: 1,
      reliable: false,
      ack: undefined,
      fragment: undefined,
      payload: fromHex('6869'),
    },
  ],
  [
    'd1 10 0102030405060708 ac02 07 07 01 05 02 01 03 ff',
    {
      type: 'packet',
      cid: CID,
      pn: 300,
      reliable: true,
      ack: { cumulative: 7, bitmap: fromHex('05') },
      fragment: { messageId: 2, index: 1, count: 3 },
      payload: fromHex('ff'),
    },
  ],
  ['d1 11 0102030405060708 05 00', { type: 'ack', cid: CID, ack: { cumulative: 5, bitmap: none } }],
  [
    'd1 20 0102030405060708 1122334455667788',
    { type: 'pathChallenge', cid: CID, nonce: fromHex('1122334455667788') },
  ],
  [
    'd1 21 0102030405060708 1122334455667788',
    { type: 'pathResponse', cid: CID, nonce: fromHex('1122334455667788') },
  ],
  ['d1 3f 0102030405060708', { type: 'close', cid: CID }],
];

function protocolError(bytes: Uint8Array): string {
  try {
    decodePacket(bytes);
  } catch (err) {
    expect(isSocklineError(err, 'ERR_PROTOCOL'), String(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`decoded ${toHex(bytes)}`);
}

describe('datagram packets', () => {
  it.each(golden)('%s', (hex, packet) => {
    const bytes = fromHex(hex);
    expect(toHex(encodePacket(packet))).toBe(toHex(bytes));
    expect(decodePacket(bytes)).toEqual(packet);
  });

  it.each([
    ['a shorter-than-header datagram', 'd1 10 01020304'],
    ['a wrong marker/version byte', 'd2 3f 0102030405060708'],
    ['an unknown type', 'd1 7e 0102030405060708'],
    ['an INITIAL under 64 bytes', 'd1 01 0102030405060708 01 00' + '00'.repeat(40)],
    ['non-zero INITIAL padding', 'd1 01 0102030405060708 01 00' + '00'.repeat(51) + '01'],
    ['a cookie over 32 bytes', 'd1 02 0102030405060708 21' + 'aa'.repeat(33)],
    ['a cookie longer than the packet', 'd1 02 0102030405060708 05 aabb'],
    ['undefined PACKET flags', 'd1 10 0102030405060708 01 08 ff'],
    ['a FRAGMENT without RELIABLE', 'd1 10 0102030405060708 01 04 00 00 02'],
    ['a fragment index not below count', 'd1 10 0102030405060708 01 05 00 03 03'],
    ['pn 0', 'd1 10 0102030405060708 00 00'],
    ['an endless varint pn', 'd1 10 0102030405060708 ' + 'ff'.repeat(20)],
    ['an ack bitmap over 32 bytes', 'd1 11 0102030405060708 00 21' + '00'.repeat(33)],
    ['a cut-off ack', 'd1 11 0102030405060708 05'],
    ['a short nonce', 'd1 20 0102030405060708 11223344'],
    ['trailing bytes after CLOSE', 'd1 3f 0102030405060708 00'],
  ])('refuses %s with ERR_PROTOCOL', (_name, hex) => {
    protocolError(fromHex(hex));
  });

  it('random bytes and mutated packets only decode or raise ERR_PROTOCOL, and never break a channel', () => {
    const channel = new DatagramChannel(CID, { reliable: true }, systemClock, {
      transmit() {},
      deliver() {},
      drain() {},
      fail() {},
      flushed() {},
    });
    const check = (bytes: Uint8Array): void => {
      let packet: Packet;
      try {
        packet = decodePacket(bytes);
      } catch (err) {
        expect(isSocklineError(err, 'ERR_PROTOCOL'), String(err)).toBe(true);
        return;
      }
      channel.receive(packet);
    };
    const valid = golden.map(([hex]) => fromHex(hex));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 80 }),
          fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.nat(255)).map(([b, at, x]) => {
            const m = b.slice();
            m[at % m.length] = m[at % m.length]! ^ (x || 1);
            return m;
          }),
          fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([b, n]) => b.subarray(0, n % b.length)),
        ),
        (bytes) => check(bytes),
      ),
      { seed: 0xd1d1, numRuns: 3000 },
    );
    channel.destroy();
  });
});

// --- channels over an in-memory lossy pipe, fake timers ------------------------------------------

interface PipeFaults {
  loss: number;
  duplicate: number;
  /** Each datagram waits a random delay up to this (ms): later ones may overtake it. */
  jitter: number;
  delay: number;
  blackhole: boolean;
}

interface End {
  channel: DatagramChannel;
  got: Uint8Array[];
  sent: Array<{ at: number; packet: Packet }>;
  drains: number;
  failures: SocklineError[];
  flushed: number;
}

function pair(
  options: Partial<DatagramChannelOptions>,
  faults: Partial<PipeFaults> = {},
  seed = 1,
): [End, End, PipeFaults] {
  const f: PipeFaults = { loss: 0, duplicate: 0, jitter: 0, delay: 1, blackhole: false, ...faults };
  const random = mulberry32(seed);
  const ends: End[] = [];
  const make = (peer: () => End): End => {
    const end: End = {
      got: [],
      sent: [],
      drains: 0,
      failures: [],
      flushed: 0,
      channel: new DatagramChannel(CID, options, systemClock, {
        transmit(d) {
          end.sent.push({ at: Date.now(), packet: decodePacket(d) });
          if (f.blackhole || random() < f.loss) return;
          const copies = random() < f.duplicate ? 2 : 1;
          for (let i = 0; i < copies; i++) {
            setTimeout(
              () => peer().channel.receive(decodePacket(d)),
              f.delay + Math.floor(random() * (f.jitter + 1)),
            );
          }
        },
        deliver: (m) => end.got.push(m.slice()),
        drain: () => end.drains++,
        fail: (e) => end.failures.push(e),
        flushed: () => end.flushed++,
      }),
    };
    return end;
  };
  ends.push(
    make(() => ends[1]!),
    make(() => ends[0]!),
  );
  return [ends[0]!, ends[1]!, f];
}

const numbered = (n: number, size = 4): Uint8Array => {
  const b = new Uint8Array(size);
  new DataView(b.buffer).setUint32(0, n);
  for (let i = 4; i < size; i++) b[i] = (n + i) & 0xff;
  return b;
};
const numberOf = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(0);

describe('DatagramChannel', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reliable: delivers every message exactly once, in order, through loss, duplication and reordering', async () => {
    const [a, b] = pair({ reliable: true }, { loss: 0.2, duplicate: 0.1, jitter: 30 }, 42);
    const sizes = mulberry32(7);
    const sent: Uint8Array[] = [];
    for (let n = 0; n < 400; n++) {
      const m = numbered(n, 4 + Math.floor(sizes() ** 4 * 6000)); // some need fragments
      sent.push(m);
      a.channel.send(m);
      b.channel.send(m);
    }
    await vi.advanceTimersByTimeAsync(60_000);
    expect(b.got.map(numberOf)).toEqual(sent.map(numberOf));
    expect(a.got.map(numberOf)).toEqual(sent.map(numberOf));
    expect(b.got.every((m, i) => toHex(m) === toHex(sent[i]!))).toBe(true);
    expect(a.channel.stats.retransmitted).toBeGreaterThan(0);
    expect(b.channel.stats.duplicates).toBeGreaterThan(0);
    expect(a.channel.inFlight + b.channel.inFlight).toBe(0);
  });

  it('retransmits on a timeout that backs off exponentially up to maxRto', async () => {
    const [a] = pair({ reliable: true, initialRto: 250, maxRto: 2000 }, { blackhole: true });
    a.channel.send(numbered(1));
    await vi.advanceTimersByTimeAsync(6000);
    const times = a.sent.filter((s) => s.packet.type === 'packet').map((s) => s.at - a.sent[0]!.at);
    expect(times).toEqual([0, 250, 750, 1750, 3750, 5750]);
  });

  it('derives the timeout from the measured round trip (RFC 6298), within [minRto, maxRto]', async () => {
    const [a, b] = pair({ reliable: true, ackDelay: 5 }, { delay: 40 });
    for (let n = 0; n < 50; n++) {
      a.channel.send(numbered(n));
      await vi.advanceTimersByTimeAsync(20);
    }
    await vi.advanceTimersByTimeAsync(500);
    expect(b.got).toHaveLength(50);
    expect(a.channel.stats.srtt).toBeGreaterThanOrEqual(80);
    expect(a.channel.stats.srtt).toBeLessThanOrEqual(90);
    expect(a.channel.stats.rto).toBeGreaterThanOrEqual(80);
    expect(a.channel.stats.retransmitted).toBe(0);
  });

  it('keeps at most `window` packets in flight, reports backpressure, and drains once acked', async () => {
    const [a, b, faults] = pair({ reliable: true, window: 16, highWaterMark: 1000 }, { blackhole: true });
    const results = Array.from({ length: 40 }, (_, n) => a.channel.send(numbered(n, 100)));
    expect(results.indexOf(false)).toBe(10); // 11 × 100 bytes > 1000
    expect(a.channel.inFlight).toBe(16);
    expect(a.channel.bufferedAmount).toBe(4000);
    faults.blackhole = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(b.got.map(numberOf)).toEqual(Array.from({ length: 40 }, (_, n) => n));
    expect(a.drains).toBe(1);
    expect(a.channel.bufferedAmount).toBe(0);
  });

  it('fails with ERR_QUEUE_FULL past maxBufferedBytes instead of growing without bound', () => {
    const [a] = pair({ reliable: true, maxBufferedBytes: 10_000 }, { blackhole: true });
    for (let n = 0; n < 20; n++) a.channel.send(numbered(n, 1000));
    expect(a.failures.map((e) => e.code)).toEqual(['ERR_QUEUE_FULL']);
    expect(a.channel.send(numbered(99))).toBe(false);
  });

  it('holds at most `window` out-of-order packets and drops those beyond it', () => {
    const [, b] = pair({ reliable: true, window: 32 }, { blackhole: true });
    const packet = (pn: number): Packet => ({
      type: 'packet',
      cid: CID,
      pn,
      reliable: true,
      ack: undefined,
      fragment: undefined,
      payload: numbered(pn),
    });
    for (let pn = 2; pn <= 100; pn++) b.channel.receive(packet(pn));
    expect(b.channel.reordering).toBe(31);
    expect(b.channel.stats.dropped).toBe(68);
    b.channel.receive(packet(1));
    expect(b.got.map(numberOf)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    // The ack reports the cumulative point; the bitmap is empty once the gap is filled.
    const lastAck = b.sent.at(-1)!.packet as Extract<Packet, { type: 'ack' }>;
    expect(lastAck.ack.cumulative).toBe(32);
  });

  it('refuses a fragmented message over maxFragments or maxMessageSize, or older than reassemblyTimeout', async () => {
    const [, b] = pair({ reliable: true, maxFragments: 4, reassemblyTimeout: 10_000 }, { blackhole: true });
    let pn = 1;
    const frag = (messageId: number, index: number, count: number): Packet => ({
      type: 'packet',
      cid: CID,
      pn: pn++,
      reliable: true,
      ack: undefined,
      fragment: { messageId, index, count },
      payload: numbered(index),
    });
    b.channel.receive(frag(0, 0, 5)); // 5 > maxFragments
    b.channel.receive(frag(1, 0, 2));
    await vi.advanceTimersByTimeAsync(11_000);
    b.channel.receive(frag(1, 1, 2)); // too late: the message is dropped
    b.channel.receive(frag(2, 0, 2));
    b.channel.receive(frag(2, 1, 2));
    expect(b.got.map((m) => m.byteLength)).toEqual([8]);
    expect(b.channel.stats.dropped).toBe(2);
  });

  it('not reliable: a volatile message travels unreliably, stale and duplicate ones are dropped', () => {
    const [a, b] = pair({ reliable: false, maxDatagramSize: 1200 }, { blackhole: true });
    const packet = (pn: number): Packet => ({
      type: 'packet',
      cid: CID,
      pn,
      reliable: false,
      ack: undefined,
      fragment: undefined,
      payload: numbered(pn),
    });
    for (const pn of [1, 3, 2, 3, 4]) b.channel.receive(packet(pn));
    expect(b.got.map(numberOf)).toEqual([1, 3, 4]);
    expect(b.channel.stats.stale).toBe(2);
    expect(a.channel.send(new Uint8Array(1181), true)).toBe(true);
    expect(a.sent.at(-1)!.packet).toMatchObject({ type: 'packet', pn: 1, reliable: false, ack: undefined });
    expect(a.channel.inFlight).toBe(0); // nothing to acknowledge, nothing retransmitted
  });

  it('not reliable: every message not sent volatile is acknowledged, retransmitted and ordered', async () => {
    const [a, b] = pair({ reliable: false }, { loss: 0.3, duplicate: 0.1, jitter: 30 }, 11);
    const volatileSeen: number[] = [];
    const sent: number[] = [];
    for (let n = 0; n < 300; n++) {
      // Even numbers sequenced (reliable), odd ones volatile; one in 50 too large for a datagram.
      const size = n % 50 === 0 ? 3000 : 8;
      if (n % 2 === 0) sent.push(n);
      a.channel.send(numbered(n, size), n % 2 === 1);
    }
    await vi.advanceTimersByTimeAsync(30_000);
    const got = b.got.map(numberOf);
    const reliable = got.filter((n) => n % 2 === 0);
    for (const n of got.filter((n) => n % 2 === 1)) volatileSeen.push(n);
    expect(reliable).toEqual(sent);
    // Volatile: each at most once and in sending order, and some were lost on the way.
    expect(volatileSeen).toEqual([...new Set(volatileSeen)].sort((x, y) => x - y));
    expect(volatileSeen.length).toBeLessThan(150);
    expect(a.channel.stats.retransmitted).toBeGreaterThan(0);
    expect(a.channel.inFlight).toBe(0);
    // Reliable and unreliable packets are numbered in separate spaces, each from 1.
    const pns = (reliable: boolean): number[] =>
      a.sent
        .map((s) => s.packet)
        .filter(
          (p): p is Extract<Packet, { type: 'packet' }> => p.type === 'packet' && p.reliable === reliable,
        )
        .map((p) => p.pn);
    expect(Math.min(...pns(true))).toBe(1);
    expect(Math.min(...pns(false))).toBe(1);
  });

  it('a volatile message larger than one datagram goes reliably, fragmented', async () => {
    const [a, b] = pair({ reliable: false, maxDatagramSize: 1200 }, {});
    expect(a.channel.maxMessageSize).toBeGreaterThan(1 << 19);
    a.channel.send(numbered(7, 1182), true);
    await vi.advanceTimersByTimeAsync(100);
    expect(b.got.map((m) => [numberOf(m), m.byteLength])).toEqual([[7, 1182]]);
    expect(a.sent.filter((s) => s.packet.type === 'packet').map((s) => s.packet)).toEqual([
      expect.objectContaining({ reliable: true, fragment: expect.objectContaining({ count: 2 }) }),
      expect.objectContaining({ reliable: true, fragment: expect.objectContaining({ count: 2 }) }),
    ]);
  });

  it('reliable: drops an unreliable packet, since the peer agreed to send none', () => {
    const [, b] = pair({ reliable: true }, { blackhole: true });
    b.channel.receive({
      type: 'packet',
      cid: CID,
      pn: 1,
      reliable: false,
      ack: undefined,
      fragment: undefined,
      payload: numbered(1),
    });
    expect(b.got).toEqual([]);
    expect(b.channel.stats.dropped).toBe(1);
  });

  it('backs off the whole channel on a timeout, so a round trip longer than the timeout gets measured', async () => {
    // Round trip 2 × 150 ms, over initialRto: the first packet times out. Were only that
    // packet backed off, every later one would time out too, and Karn's rule would never let
    // an ack of a resent packet correct the estimate: one copy of everything, for ever.
    const [a, b] = pair({ reliable: true, initialRto: 250, ackDelay: 1 }, { delay: 150 });
    for (let n = 0; n < 10; n++) {
      a.channel.send(numbered(n));
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(b.got.map(numberOf)).toEqual(Array.from({ length: 10 }, (_, n) => n));
    expect(a.channel.stats.retransmitted).toBe(1);
    expect(a.channel.stats.srtt).toBeGreaterThanOrEqual(300);
    expect(a.channel.stats.srtt).toBeLessThanOrEqual(302);
    expect(a.channel.stats.rto).toBeGreaterThan(300);
  });

  it('close() waits for outstanding packets to be acknowledged, bounded by closeTimeout', async () => {
    const [a, b, faults] = pair({ reliable: true, closeTimeout: 2000 }, { blackhole: true });
    a.channel.send(numbered(1));
    a.channel.close();
    expect(a.channel.send(numbered(2))).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(a.flushed).toBe(0);
    faults.blackhole = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.flushed).toBe(1);
    expect(b.got.map(numberOf)).toEqual([1]);
    const [c] = pair({ reliable: true, closeTimeout: 2000 }, { blackhole: true });
    c.channel.send(numbered(1));
    c.channel.close();
    await vi.advanceTimersByTimeAsync(2000);
    expect(c.flushed).toBe(1);
  });
});

// --- the wrapping transport ------------------------------------------------------------------------

class FakeDatagramTransport implements Transport {
  readonly kind = 'datagram' as const;
  readonly bufferedAmount = 0;
  readonly maxMessageSize = 1200;
  readonly sent: Packet[] = [];
  closed = 0;
  constructor(readonly handlers: TransportHandlers) {}
  send(data: Uint8Array | string): boolean {
    this.sent.push(decodePacket(data as Uint8Array));
    return true;
  }
  close(): void {
    this.destroy();
  }
  destroy(): void {
    if (this.closed++ === 0) this.handlers.onClose({ wasOpen: true });
  }
  pause(): void {}
  resume(): void {}
  ref(): void {}
  unref(): void {}
  receive(p: Packet): void {
    this.handlers.onData(encodePacket(p));
  }
}

describe('DatagramSessionTransport', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('repeats INITIAL with backoff, echoes the cookie, opens on ACCEPT as a message transport', async () => {
    let inner!: FakeDatagramTransport;
    const events: string[] = [];
    const data: Uint8Array[] = [];
    const closes: TransportCloseInfo[] = [];
    const t = new DatagramSessionTransport(
      {
        onOpen: () => events.push('open'),
        onData: (d) => data.push(d as Uint8Array),
        onDrain() {},
        onSoftError() {},
        onClose: (info) => closes.push(info),
      },
      {
        clock: systemClock,
        reliable: true,
        randomBytes: () => CID.slice(),
        random: () => 0, // no jitter: the full backoff step
        open: (h) => (inner = new FakeDatagramTransport(h)),
      },
    );
    expect(t.kind).toBe('message');
    expect(t.send(new Uint8Array([1]))).toBe(false); // not open yet
    inner.handlers.onOpen();
    await vi.advanceTimersByTimeAsync(800);
    expect(inner.sent.map((p) => p.type)).toEqual(['initial', 'initial', 'initial']); // 0, 250, 750
    inner.handlers.onData(new Uint8Array([0xd1, 0x02, 1, 2, 3])); // garbage: ignored
    inner.receive({ type: 'cookie', cid: fromHex('ffffffffffffffff'), cookie: fromHex('99') }); // not ours
    inner.receive({ type: 'cookie', cid: CID, cookie: fromHex('aabb') });
    expect(inner.sent.at(-1)).toMatchObject({ type: 'initial', reliable: true, cookie: fromHex('aabb') });
    expect(events).toEqual([]);
    inner.receive({ type: 'accept', cid: CID, reliable: true });
    expect(events).toEqual(['open']);
    expect(t.maxMessageSize).toBeGreaterThan(1 << 19);
    expect(t.send(new Uint8Array([1, 2]))).toBe(true);
    expect(inner.sent.at(-1)).toMatchObject({
      type: 'packet',
      pn: 1,
      reliable: true,
      payload: new Uint8Array([1, 2]),
    });
    inner.receive({
      type: 'packet',
      cid: CID,
      pn: 1,
      reliable: true,
      ack: undefined,
      fragment: undefined,
      payload: fromHex('0909'),
    });
    expect(data).toEqual([fromHex('0909')]);
    inner.receive({ type: 'pathChallenge', cid: CID, nonce: fromHex('0102030405060708') });
    expect(inner.sent.at(-1)).toMatchObject({ type: 'pathResponse', nonce: fromHex('0102030405060708') });
    inner.receive({ type: 'close', cid: CID });
    inner.receive({ type: 'close', cid: CID });
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ wasOpen: true, code: 1000 });
  });

  it('spreads INITIAL repeats over the upper half of each backoff step (jitter), up to maxRto', async () => {
    const times = (random: number): number[] => {
      let inner!: FakeDatagramTransport;
      const at: number[] = [];
      const t = new DatagramSessionTransport(
        { onOpen() {}, onData() {}, onDrain() {}, onSoftError() {}, onClose() {} },
        {
          clock: systemClock,
          initialRto: 200,
          maxRto: 1000,
          random: () => random,
          open: (h) => {
            inner = new FakeDatagramTransport(h);
            const send = inner.send.bind(inner);
            inner.send = (d) => (at.push(Date.now()), send(d));
            return inner;
          },
        },
      );
      inner.handlers.onOpen();
      vi.advanceTimersByTime(4000);
      t.destroy();
      return at.map((x) => x - at[0]!);
    };
    expect(times(0)).toEqual([0, 200, 600, 1400, 2400, 3400]);
    expect(times(0.999)).toEqual([0, 100, 300, 700, 1200, 1700, 2200, 2700, 3200, 3700]);
  });

  it('without a reliable ACCEPT, sends what the session says is volatile unreliably, all else reliably, whatever the bytes', async () => {
    let inner!: FakeDatagramTransport;
    const t = new DatagramSessionTransport(
      { onOpen() {}, onData() {}, onDrain() {}, onSoftError() {}, onClose() {} },
      {
        clock: systemClock,
        reliable: false,
        randomBytes: () => CID.slice(),
        open: (h) => (inner = new FakeDatagramTransport(h)),
      },
    );
    inner.handlers.onOpen();
    inner.receive({ type: 'accept', cid: CID, reliable: false });
    // The flag decides, never the bytes: a frame that reads as a volatile DATA goes reliably
    // when the session did not say it may be lost, and the other way round.
    const writes: Array<[string, boolean]> = [
      ['01 00', false],
      ['10 00 0102', true],
      ['10 02 01 0102', false],
      ['11 00 01 61', true],
      ['12 00 01 61', false],
      ['30 00 01', false],
      ['10 00 0304', false],
      ['10 02 02 0304', true],
    ];
    for (const [hex, volatile] of writes) t.send(fromHex(hex), volatile);
    const packets = inner.sent.filter((p): p is Extract<Packet, { type: 'packet' }> => p.type === 'packet');
    expect(packets.map((p) => [toHex(p.payload), p.reliable, p.pn])).toEqual([
      ['0100', true, 1],
      ['10000102', false, 1],
      ['1002010102', true, 2],
      ['11000161', false, 2],
      ['12000161', true, 3],
      ['300001', true, 4],
      ['10000304', true, 5],
      ['1002020304', false, 3],
    ]);
    t.destroy();
  });
});
