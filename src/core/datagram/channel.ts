import type { Clock, TimerHandle } from '../clock.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import {
  ackCovers,
  MAX_ACK_BITMAP_BYTES,
  encodePacket,
  MAX_PACKET_OVERHEAD,
  UNRELIABLE_PACKET_OVERHEAD,
  type AckInfo,
  type FragmentInfo,
  type Packet,
} from './packet.js';
import {
  datagramChannelDefaults,
  type DatagramChannelHooks,
  type DatagramChannelOptions,
  type DatagramChannelStats,
} from './channel-options.js';
import { Reassembly } from './reassembly.js';

export {
  datagramChannelDefaults,
  type DatagramChannelHooks,
  type DatagramChannelOptions,
  type DatagramChannelStats,
};

interface Chunk {
  readonly payload: Uint8Array;
  readonly fragment: FragmentInfo | undefined;
}

interface Sent extends Chunk {
  readonly pn: number;
  sentAt: number;
  deadline: number;
  tries: number;
  retransmitted: boolean;
  /** Order of the last transmission among all data transmissions (new or repeated). */
  sendOrder: number;
}

type DataPacket = Extract<Packet, { type: 'packet' }>;

const EMPTY = new Uint8Array(0);

/** Doublings of the timeout at most: far past any `maxRto`, and 2^n stays exact. */
const MAX_BACKOFF = 30;

/**
 * Turns an unreliable datagram pipe into a channel of whole messages, once a connection id is
 * agreed (docs/udp.md §5). A message goes reliably: acknowledged (cumulative + a selective
 * bitmap over the whole window), retransmitted on an RFC 6298 timeout with per-packet
 * exponential backoff and a fast retransmit after three later packets were acknowledged,
 * delivered in packet-number order through a bounded reorder window, and fragmented up to
 * `maxFragments`. A message sent `volatile` on a channel that is not `reliable` goes
 * unreliably instead: one packet, never retransmitted, stale or duplicate packets dropped.
 *
 * @example
 * const ch = new DatagramChannel(cid, { reliable: false }, systemClock, hooks);
 * ch.send(frame);              // reliable; false: wait for hooks.drain
 * ch.send(snapshot, true);     // volatile: may be lost, never holds anything up
 * ch.receive(decodePacket(d)); // for 'packet' and 'ack' packets of this connection
 */
export class DatagramChannel {
  readonly #cid: Uint8Array;
  readonly #o: DatagramChannelOptions;
  readonly #clock: Clock;
  readonly #hooks: DatagramChannelHooks;
  readonly stats: DatagramChannelStats;
  // sending
  #nextPn = 1;
  /** Unreliable PACKETs are numbered in their own space (docs/udp.md §5.1). */
  #nextVolatilePn = 1;
  #messageId = 0;
  #queue: Chunk[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  readonly #unacked = new Map<number, Sent>();
  #unackedBytes = 0;
  #rtoTimer: TimerHandle | undefined;
  #rtoDue = Infinity;
  #srtt: number | undefined;
  #rttvar = 0;
  #rto: number;
  /**
   * Timeouts since the last valid RTT sample (RFC 6298 §5.5): each doubles the timeout of
   * every packet, new ones included, until an ack of a packet sent once gives a sample.
   */
  #backoff = 0;
  #needDrain = false;
  #sendOrder = 0;
  /** The latest `sendOrder` the peer acknowledged: earlier transmissions 3 behind it are lost. */
  #ackedOrder = 0;
  // receiving
  #expected = 1;
  #largestSeen = 0;
  readonly #reorder = new Map<number, DataPacket>();
  readonly #reassembly: Reassembly;
  #unackedReceived = 0;
  #ackTimer: TimerHandle | undefined;
  #phase: 'open' | 'closing' | 'closed' = 'open';
  #closeTimer: TimerHandle | undefined;

  constructor(
    cid: Uint8Array,
    options: Partial<DatagramChannelOptions>,
    clock: Clock,
    hooks: DatagramChannelHooks,
  ) {
    this.#cid = cid;
    this.#o = { ...datagramChannelDefaults, ...options };
    if (this.#o.maxDatagramSize <= MAX_PACKET_OVERHEAD) {
      throw new RangeError(
        `maxDatagramSize must be above ${MAX_PACKET_OVERHEAD}, got ${this.#o.maxDatagramSize}`,
      );
    }
    this.#clock = clock;
    this.#hooks = hooks;
    this.#rto = this.#o.initialRto;
    this.#reassembly = new Reassembly(this.#o);
    this.stats = {
      sent: 0,
      retransmitted: 0,
      received: 0,
      duplicates: 0,
      stale: 0,
      dropped: 0,
      srtt: undefined,
      rto: this.#rto,
    };
  }

  get reliable(): boolean {
    return this.#o.reliable;
  }

  /** The largest message `send()` accepts (a volatile one over one datagram goes reliably). */
  get maxMessageSize(): number {
    return Math.min(this.#o.maxMessageSize, this.#o.maxFragments * this.#fragmentSize);
  }

  /** Bytes queued plus bytes sent and not yet acknowledged. */
  get bufferedAmount(): number {
    return this.#queuedBytes + this.#unackedBytes;
  }

  /** Packets sent and not yet acknowledged. */
  get inFlight(): number {
    return this.#unacked.size;
  }

  /** Messages held in the reorder window (reliable mode) */
  get reordering(): number {
    return this.#reorder.size;
  }

  /** Read through a getter so TypeScript does not narrow it across callbacks that may destroy. */
  get #dead(): boolean {
    return this.#phase === 'closed';
  }

  get #fragmentSize(): number {
    return this.#o.maxDatagramSize - MAX_PACKET_OVERHEAD;
  }

  /**
   * Sends one message. Returns false when the caller should wait for `drain` (or when the
   * channel is closing). Throws `ERR_DATAGRAM_TOO_LARGE` for a message over `maxMessageSize`.
   *
   * `volatile`: the message may be lost. Unless the channel is `reliable`, it then travels in
   * one unreliable packet, never retransmitted and never held back behind a lost one; a
   * volatile message too large for one datagram goes reliably (fragmented) instead.
   */
  send(message: Uint8Array, volatile = false): boolean {
    if (this.#phase !== 'open') return false;
    const max = this.maxMessageSize;
    if (message.byteLength > max) {
      throw new SocklineError(
        ErrorCodes.DATAGRAM_TOO_LARGE,
        `message of ${message.byteLength} bytes is over the message limit of ${max} bytes`,
      );
    }
    if (
      volatile &&
      !this.#o.reliable &&
      message.byteLength <= this.#o.maxDatagramSize - UNRELIABLE_PACKET_OVERHEAD
    ) {
      this.#transmit({ payload: message, fragment: undefined }, this.#nextVolatilePn++, false);
      return this.#belowHighWater();
    }
    const size = this.#fragmentSize;
    if (message.byteLength <= size) {
      this.#queue.push({ payload: message, fragment: undefined });
    } else {
      const count = Math.ceil(message.byteLength / size);
      const messageId = this.#messageId++;
      for (let index = 0; index < count; index++) {
        const payload = message.subarray(index * size, (index + 1) * size);
        this.#queue.push({ payload, fragment: { messageId, index, count } });
      }
    }
    this.#queuedBytes += message.byteLength;
    if (this.bufferedAmount > this.#o.maxBufferedBytes) {
      this.#fail(
        new SocklineError(ErrorCodes.QUEUE_FULL, `over ${this.#o.maxBufferedBytes} bytes held for the peer`),
      );
      return false;
    }
    this.#pump();
    return this.#belowHighWater();
  }

  #belowHighWater(): boolean {
    if (this.bufferedAmount <= this.#o.highWaterMark) return true;
    this.#needDrain = true;
    return false;
  }

  /** Handles a PACKET or ACK of this connection (others are ignored). */
  receive(packet: Packet): void {
    if (this.#phase === 'closed') return;
    if (packet.type === 'ack') {
      this.#onAck(packet.ack);
      return;
    }
    if (packet.type !== 'packet') return;
    this.stats.received++;
    if (!packet.reliable) {
      // A reliable channel sends nothing unreliably, so it takes nothing unreliable either.
      if (this.#o.reliable) {
        this.stats.dropped++;
        return;
      }
      // Strict order (docs/udp.md §5.1): anything not newer than the newest seen is stale.
      if (packet.pn <= this.#largestSeen) {
        this.stats.stale++;
        return;
      }
      this.#largestSeen = packet.pn;
      this.#hooks.deliver(packet.payload);
      return;
    }
    if (packet.ack) this.#onAck(packet.ack);
    const pn = packet.pn;
    if (pn < this.#expected || this.#reorder.has(pn)) {
      this.stats.duplicates++;
      this.#sendAck(); // our ack may have been lost
      return;
    }
    if (pn >= this.#expected + this.#o.window) {
      this.stats.dropped++;
      this.#sendAck();
      return;
    }
    if (pn > this.#expected) {
      this.#reorder.set(pn, packet);
      this.#sendAck();
      return;
    }
    this.#expected++;
    this.#unackedReceived++;
    this.#process(packet);
    for (
      let next = this.#reorder.get(this.#expected);
      next !== undefined;
      next = this.#reorder.get(this.#expected)
    ) {
      if (this.#dead) return;
      this.#reorder.delete(this.#expected);
      this.#expected++;
      this.#unackedReceived++;
      this.#process(next);
    }
    if (this.#dead) return;
    if (this.#unackedReceived >= 2 || this.#reorder.size > 0) this.#sendAck();
    else if (this.#ackTimer === undefined)
      this.#ackTimer = this.#clock.setTimeout(this.#onAckTimer, this.#o.ackDelay);
  }

  /** Graceful: stops taking messages, calls `flushed` once everything sent is acknowledged. */
  close(): void {
    if (this.#phase !== 'open') return;
    this.#phase = 'closing';
    if (this.bufferedAmount > 0) {
      this.#closeTimer = this.#clock.setTimeout(this.#flushed, this.#o.closeTimeout);
    } else {
      this.#flushed();
    }
  }

  /** Immediate: stops every timer and forgets what is held. Idempotent. */
  destroy(): void {
    this.#phase = 'closed';
    for (const t of [this.#rtoTimer, this.#ackTimer, this.#closeTimer])
      if (t !== undefined) this.#clock.clearTimeout(t);
    this.#rtoTimer = this.#ackTimer = this.#closeTimer = undefined;
    this.#queue = [];
    this.#queueHead = 0;
    this.#queuedBytes = this.#unackedBytes = 0;
    this.#unacked.clear();
    this.#reorder.clear();
    this.#reassembly.reset();
  }

  // --- sending -------------------------------------------------------------------------------

  #pump(): void {
    const now = this.#clock.now();
    // The window is a range of packet numbers, not a count: selective acks free packets in the
    // middle, but the receiver only holds `window` numbers past its first gap.
    const lowest = (this.#unacked.keys().next().value as number | undefined) ?? this.#nextPn;
    while (this.#queueHead < this.#queue.length && this.#nextPn < lowest + this.#o.window) {
      const chunk = this.#queue[this.#queueHead++]!;
      const pn = this.#nextPn++;
      const entry: Sent = {
        ...chunk,
        pn,
        sentAt: now,
        deadline: now + this.#currentRto(0),
        tries: 0,
        retransmitted: false,
        sendOrder: ++this.#sendOrder,
      };
      this.#queuedBytes -= chunk.payload.byteLength;
      this.#unacked.set(pn, entry);
      this.#unackedBytes += chunk.payload.byteLength;
      this.#transmit(chunk, pn, true);
      if (this.#dead) return;
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    this.#armRto();
  }

  #transmit(chunk: Chunk, pn: number, reliable: boolean): void {
    const ack = reliable ? this.#takeAck() : undefined;
    this.stats.sent++;
    this.#hooks.transmit(
      encodePacket({
        type: 'packet',
        cid: this.#cid,
        pn,
        reliable,
        ack,
        fragment: chunk.fragment,
        payload: chunk.payload,
      }),
    );
  }

  #armRto(): void {
    let due = Infinity;
    for (const s of this.#unacked.values()) if (s.deadline < due) due = s.deadline;
    if (due === this.#rtoDue && this.#rtoTimer !== undefined) return;
    if (this.#rtoTimer !== undefined) this.#clock.clearTimeout(this.#rtoTimer);
    this.#rtoTimer = undefined;
    this.#rtoDue = due;
    if (due === Infinity) return;
    this.#rtoTimer = this.#clock.setTimeout(this.#onRto, Math.max(0, due - this.#clock.now()));
  }

  #onRto = (): void => {
    this.#rtoTimer = undefined;
    this.#rtoDue = Infinity;
    if (this.#phase === 'closed') return;
    const now = this.#clock.now();
    let expired = false;
    for (const s of this.#unacked.values()) {
      if (s.deadline > now) continue;
      // RFC 6298 §5.5: back off on expiry, for the whole channel and not only this packet.
      // With Karn's rule a channel whose every packet times out would otherwise never get a
      // sample and keep a timeout that is too short: when a fan-out burst delays the acks of
      // hundreds of peers at once, each would go on resending every packet, and the copies
      // would delay the acks further. One expiry event backs off once, however many packets
      // it resends; the per-packet count keeps a packet lost again and again backing off
      // even after fresh samples reset the channel's timeout.
      if (!expired) {
        expired = true;
        if (this.#backoff < MAX_BACKOFF) this.#backoff++;
      }
      s.tries++;
      s.retransmitted = true;
      s.sentAt = now;
      s.deadline = now + this.#currentRto(s.tries);
      s.sendOrder = ++this.#sendOrder;
      this.stats.retransmitted++;
      this.#transmit(s, s.pn, true);
      if (this.#dead) return;
    }
    this.#armRto();
  };

  #onAck(ack: AckInfo): void {
    if (ack.cumulative >= this.#nextPn) return; // acknowledges what was never sent: ignore
    const now = this.#clock.now();
    let sample: Sent | undefined;
    for (const s of this.#unacked.values()) {
      const acked = ackCovers(ack, s.pn);
      if (!acked) continue;
      this.#unacked.delete(s.pn);
      this.#unackedBytes -= s.payload.byteLength;
      // Karn's rule: a retransmitted packet's ack is ambiguous (which copy arrived?), so it
      // gives neither an RTT sample nor evidence about what was sent before its last copy.
      if (s.retransmitted) continue;
      if (sample === undefined || s.pn > sample.pn) sample = s;
      if (s.sendOrder > this.#ackedOrder) this.#ackedOrder = s.sendOrder;
    }
    if (sample !== undefined) this.#rttSample(now - sample.sentAt);
    // Loss by packet threshold (RFC 9002 §6.1.1, as in TCP's fast retransmit): a transmission
    // that three later ones overtook is lost. Counting transmissions rather than packet numbers
    // also catches a lost retransmission without waiting for the backed-off timer.
    for (const s of this.#unacked.values()) {
      if (s.sendOrder + 3 > this.#ackedOrder) continue;
      s.retransmitted = true;
      s.sentAt = now;
      s.deadline = now + this.#currentRto(0);
      s.sendOrder = ++this.#sendOrder;
      this.stats.retransmitted++;
      this.#transmit(s, s.pn, true);
      if (this.#dead) return;
    }
    this.#pump();
    if (this.#dead) return;
    if (this.#needDrain && this.bufferedAmount <= this.#o.highWaterMark / 2) {
      this.#needDrain = false;
      this.#hooks.drain();
    }
    if (this.#phase === 'closing' && this.bufferedAmount === 0) this.#flushed();
  }

  /** RFC 6298 §2: srtt, rttvar, rto = srtt + 4·rttvar, clamped to [minRto, maxRto]. */
  #rttSample(r: number): void {
    if (this.#srtt === undefined) {
      this.#srtt = r;
      this.#rttvar = r / 2;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - r);
      this.#srtt = 0.875 * this.#srtt + 0.125 * r;
    }
    this.#rto = Math.min(
      this.#o.maxRto,
      Math.max(this.#o.minRto, this.#srtt + Math.max(1, 4 * this.#rttvar)),
    );
    this.#backoff = 0;
    this.stats.srtt = this.#srtt;
    this.stats.rto = this.#rto;
  }

  /** The timeout of a packet sent `tries` times before: backed off by the channel and by the packet. */
  #currentRto(tries: number): number {
    const rto = Math.min(this.#o.maxRto, this.#rto * 2 ** Math.max(tries, this.#backoff));
    this.stats.rto = rto;
    return rto;
  }

  // --- receiving -----------------------------------------------------------------------------

  #process(packet: DataPacket): void {
    const f = packet.fragment;
    if (f === undefined) {
      if (this.#reassembly.reset()) this.stats.dropped++;
      this.#hooks.deliver(packet.payload);
      return;
    }
    const result = this.#reassembly.add(f, packet.payload, this.#clock.now());
    if (result === 'dropped') this.stats.dropped++;
    else if (result !== 'partial') this.#hooks.deliver(result);
  }

  /** The ack to piggyback (clears the pending one), or undefined before anything arrived. */
  #takeAck(): AckInfo | undefined {
    if (this.#expected === 1 && this.#reorder.size === 0) return undefined;
    if (this.#ackTimer !== undefined) this.#clock.clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#unackedReceived = 0;
    let bitmap = EMPTY;
    if (this.#reorder.size > 0) {
      // Bit i stands for expected + 1 + i (expected itself is the gap, by definition).
      let highest = 0;
      for (const pn of this.#reorder.keys()) if (pn > highest) highest = pn;
      const bits = Math.min(highest - this.#expected, MAX_ACK_BITMAP_BYTES * 8);
      bitmap = new Uint8Array(Math.ceil(bits / 8));
      for (let i = 0; i < bits; i++)
        if (this.#reorder.has(this.#expected + 1 + i)) bitmap[i >> 3]! |= 1 << (i & 7);
    }
    return { cumulative: this.#expected - 1, bitmap };
  }

  #sendAck(): void {
    const ack = this.#takeAck();
    if (ack !== undefined) this.#hooks.transmit(encodePacket({ type: 'ack', cid: this.#cid, ack }));
  }

  #onAckTimer = (): void => {
    this.#ackTimer = undefined;
    if (this.#phase !== 'closed') this.#sendAck();
  };

  #flushed = (): void => {
    if (this.#phase === 'closed') return;
    this.destroy();
    this.#hooks.flushed();
  };

  #fail(error: SocklineError): void {
    this.destroy();
    this.#hooks.fail(error);
  }
}
