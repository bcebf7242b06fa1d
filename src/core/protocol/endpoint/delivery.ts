import { ByteSlab } from '../../byte-slab.js';
import type { Clock } from '../../clock.js';
import { Outbox, type OutboxLimits } from '../../link/outbox.js';
import { encodeFrame } from '../frames-encode.js';
import { ReplayRing } from './replay-ring.js';
import {
  sequencedFits,
  sequencedFrame,
  sequencedSize,
  type OutgoingMessage,
  type SequencedSource,
} from './sequenced.js';

export type { OutgoingMessage, SequencedFrame, SequencedSource } from './sequenced.js';

export interface DeliveryLimits extends OutboxLimits {
  /** Sent but unacknowledged messages kept for retransmission (count). */
  readonly replayMessages: number;
  /** ... and bytes. Above either, sending pauses until the peer acknowledges. */
  readonly replayBytes: number;
  /** How long a received message may wait for an acknowledgement, in ms. */
  readonly ackDelay: number;
  /**
   * The largest frame the peer accepts, in bytes: a message whose frame could be larger is
   * dropped (`too-large`) rather than numbered and written. @default Infinity
   */
  readonly maxFrameSize?: number;
}

export interface DeliveryHooks {
  /** Writes one encoded frame to the current connection; `seq` is given for sequenced frames. */
  write(frame: Uint8Array, seq?: number): void;
  /**
   * An acknowledgement is owed: call `tick()` at `at` (ms on the clock) or soon after. Absent:
   * acks only ride on outgoing messages or go out with `flushAck()`.
   */
  wake?(at: number): void;
  /**
   * A message left the pending queue unsent (overflow policy), expired, or was refused because
   * its frame could be over `frameLimit` (`too-large`); or a large message was refused by the
   * peer (`refused`: nothing of it was delivered) or was still on its way when the session
   * ended (`closed`).
   */
  dropped(
    message: OutgoingMessage,
    reason: 'overflow' | 'expired' | 'too-large' | 'refused' | 'closed',
  ): void;
  /** A message got sequence number `seq` and entered the replay buffer (before it is written). */
  sent?(seq: number, frame: Uint8Array, message: OutgoingMessage): void;
  /** The peer acknowledged everything up to `seq` (the replay buffer was trimmed to it). */
  trimmed?(seq: number): void;
  /**
   * Bytes the connection takes before it is over its high-water mark (what a
   * {@link SequencedSource} is told); absent: no limit.
   */
  room?(): number;
}

/** What became of a message handed to {@link Delivery.enqueue}, as `send()` tells its caller. */
export type SendOutcome = 'sent' | 'queued' | 'dropped';

/** A replayable frame: what {@link Delivery.unacknowledged} returns and {@link Delivery.restore} takes. */
export interface SentFrame {
  readonly seq: number;
  readonly frame: Uint8Array;
  readonly message: OutgoingMessage;
}

/** Acknowledge at once after this many unacknowledged receipts, without waiting for the delay. */
const ACK_EVERY = 32;

/**
 * One direction pair of a session's exactly-once delivery, the same on both sides:
 *
 * - outbound: messages wait in a bounded `pending` queue until the connection is up, get a
 *   sequence number when written, and stay in a bounded `replay` buffer until the peer's
 *   cumulative ack covers them; on resume, whatever the peer had not received is written
 *   again, in order;
 * - inbound: `accept(seq)` lets through only the next sequence number, so duplicates from a
 *   retransmission are dropped; acks ride on outgoing frames or follow after `ackDelay`.
 *
 * The state outlives connections: it is what a resumed session resumes. It has no timers: the
 * delayed ack is a deadline its driver learns from `hooks.wake` and meets with `tick(now)`.
 * It never looks inside a message: `sequenced.ts` makes the frames of the sequenced stream.
 */
export class Delivery {
  readonly #limits: DeliveryLimits;
  readonly #clock: Clock;
  readonly #hooks: DeliveryHooks;
  /** Made when a first message has to wait: an idle session never queues anything. */
  #pending: Outbox<OutgoingMessage> | null = null;
  /**
   * Frames written and not acknowledged, oldest first: made on the first, dropped when it
   * empties after a burst (an idle session holds none, see {@link ReplayRing}).
   */
  #replay: ReplayRing | null = null;
  /**
   * Where the frames of the replay buffer are cut from: one allocation for many small frames.
   * Made on the first message; released when the replay buffer empties, so it pins no more
   * than two slabs beyond the frames it holds (see {@link ByteSlab}), and trimmed on every tick
   * and when the connection ends, so a session idle since its replay buffer emptied holds no
   * slab after its next deadline, nor while it waits for a resume.
   */
  #slab: ByteSlab | null = null;
  #nextSeq = 1;
  /** Highest sequence number received in order. */
  #received = 0;
  /** Highest sequence number we have acknowledged to the peer. */
  #ackSent = 0;
  /**
   * When the owed acknowledgement goes out alone (undefined: none scheduled). Numbers that
   * are not small integers take a box of their own: what most sessions never set stays undefined.
   */
  #ackDue: number | undefined;
  #attached = false;
  /** Highest received seq that may be acknowledged (`holdAcks`): undefined when not held. */
  #ackCeiling: number | undefined;
  /** `pump` is running; `#again`: it was asked to run meanwhile, and goes round once more. */
  #pumping = false;
  #again = false;
  /**
   * Frames written besides the pending queue's (requests, responses, streams), pulled by
   * `pump`; null while there is none (a session that only sends messages).
   */
  source: SequencedSource | null = null;
  /**
   * The largest frame the peer accepts (see `DeliveryLimits.maxFrameSize`); a client lowers
   * it to what the server announced. Callers check it first (`assertMessageFits`) to throw;
   * here it only keeps a frame the peer would refuse off the wire and out of the replay buffer.
   */
  frameLimit: number;

  constructor(limits: DeliveryLimits, clock: Clock, hooks: DeliveryHooks) {
    this.#limits = limits;
    this.frameLimit = limits.maxFrameSize ?? Infinity;
    this.#clock = clock;
    this.#hooks = hooks;
  }

  /** The highest sequence number received in order: sent as `lastSeq` when resuming. */
  get received(): number {
    return this.#received;
  }

  /** The highest received seq that may be acknowledged: `received`, or less under `holdAcks`. */
  get confirmed(): number {
    const ceiling = this.#ackCeiling;
    return ceiling === undefined || this.#received < ceiling ? this.#received : ceiling;
  }

  /** The sequence number the next written message gets. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /**
   * From now on, a received seq is acknowledged only once `confirm()` covers it: for a
   * receiver that must make a message durable (a shared store) before the sender may forget it.
   */
  holdAcks(): void {
    this.#ackCeiling = Math.min(this.#ackCeiling ?? Infinity, this.#received);
  }

  /** Acknowledges now after ACK_EVERY messages, otherwise within `ackDelay` (one deadline). */
  #ackSoon(): void {
    const confirmed = this.confirmed;
    if (confirmed - this.#ackSent >= ACK_EVERY) this.flushAck();
    else if (this.#ackDue === undefined && this.#attached && confirmed > this.#ackSent) {
      this.#ackDue = this.#clock.now() + this.#limits.ackDelay;
      this.#hooks.wake?.(this.#ackDue);
    }
  }

  /** When `tick` has something to do next: the delayed ack; Infinity for nothing. */
  get deadline(): number {
    return this.#ackDue ?? Infinity;
  }

  /**
   * The clock reached `now`: an acknowledgement that waited `ackDelay` goes out alone (unless
   * an outgoing message carried it meanwhile: the deadline stays set when one does, since
   * moving it for every piggybacked ack would cost two operations per message).
   */
  tick(now: number): void {
    this.#slab?.trim();
    if (this.#ackDue === undefined || now < this.#ackDue) return;
    this.#ackDue = undefined;
    this.flushAck();
  }

  /** Received messages up to `seq` are durable: they may be acknowledged (see `holdAcks`). */
  confirm(seq: number): void {
    if (this.#ackCeiling === undefined || seq <= this.#ackCeiling) return;
    this.#ackCeiling = Math.min(seq, this.#received);
    this.#ackSoon();
  }

  /** The frames written but not acknowledged, oldest first (a copy). */
  unacknowledged(): SentFrame[] {
    const sent: SentFrame[] = [];
    const replay = this.#replay;
    const n = replay?.length ?? 0;
    for (let i = 0; i < n; i++)
      sent.push({ seq: replay!.seq(i), frame: replay!.frame(i), message: replay!.message(i) });
    return sent;
  }

  /**
   * Takes over a session's delivery state kept elsewhere (another process): the next seq to
   * send, the highest seq received, and the unacknowledged frames to replay on `attach`.
   * Only for a fresh, detached Delivery.
   */
  restore(snapshot: { nextSeq: number; received: number; replay: readonly SentFrame[] }): void {
    this.#replay = null;
    for (const sent of snapshot.replay)
      (this.#replay ??= new ReplayRing()).push(sent.seq, sent.frame, sent.message);
    this.#nextSeq = snapshot.nextSeq;
    this.#received = snapshot.received;
    this.#ackSent = snapshot.received;
    if (this.#ackCeiling !== undefined) this.#ackCeiling = snapshot.received;
  }

  /** Messages not yet written plus messages written but not acknowledged. */
  get outstanding(): number {
    return (this.#pending?.length ?? 0) + (this.#replay?.length ?? 0);
  }

  /** Bytes held for the peer: pending plus unacknowledged. */
  get bufferedBytes(): number {
    return (this.#pending?.bytes ?? 0) + (this.#replay?.bytes ?? 0);
  }

  /**
   * Queues a message (throws `ERR_QUEUE_FULL` under the `reject` policy) and writes it at
   * once if the connection is up. Says what became of it: written now (`sent`), waiting
   * (`queued`), or dropped (`dropped`: the overflow policy or the frame limit, reported to
   * `hooks.dropped`). `fits`: the caller checked the message against `frameLimit` just now
   * (it is not checked again unless it waits).
   */
  enqueue(message: OutgoingMessage, ttl: number, fits = false): SendOutcome {
    const pending = this.#pending;
    if (
      (pending === null || pending.length === 0) &&
      this.#hasRoom() &&
      sequencedSize(message) <= this.#limits.maxBytes
    ) {
      // Nothing waits and the connection is up: written now, the queue is not involved.
      if (!fits && this.#tooLarge(message)) return 'dropped';
      this.#transmit(message);
      return 'sent';
    }
    return this.#queue(message, ttl);
  }

  #queue(message: OutgoingMessage, ttl: number): SendOutcome {
    if (this.#tooLarge(message)) return 'dropped';
    const pending = (this.#pending ??= new Outbox(this.#limits));
    const dropped = pending.push({
      message,
      size: sequencedSize(message),
      expiresAt: ttl === Infinity ? Infinity : this.#clock.now() + ttl,
    });
    for (const d of dropped) this.#hooks.dropped(d.message, 'overflow');
    if (dropped.some((d) => d.message === message)) return 'dropped';
    const before = this.#nextSeq;
    this.pump();
    return this.#nextSeq !== before && pending.length === 0 ? 'sent' : 'queued';
  }

  /**
   * Writes what waits while the connection is up and the replay buffer has room: the pending
   * queue and the {@link SequencedSource} take turns, one frame each, so a large message or a
   * stream never holds a small message back for more than one frame (and a busy sender
   * never starves a request or a stream).
   */
  pump(): void {
    if (!this.#attached) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        this.#pumpOnce();
      } while (this.#again && this.#attached);
    } finally {
      this.#pumping = false;
    }
  }

  #pumpOnce(): void {
    const pending = this.#pending;
    if (pending !== null && pending.nextExpiry !== Infinity) {
      for (const item of pending.expire(this.#clock.now())) this.#hooks.dropped(item.message, 'expired');
    }
    const source = this.source;
    let sourceTurn = false;
    while (this.#attached && this.#hasRoom()) {
      const waiting = pending !== null && pending.length > 0;
      let message: OutgoingMessage | undefined;
      if (source !== null && (sourceTurn || !waiting)) message = source.next();
      sourceTurn = !sourceTurn;
      if (message !== undefined) this.#transmit(message);
      else if (waiting) this.#send(pending.shift()!.message);
      else return;
    }
  }

  /** Whether a message may be written now: connected, and room in the replay buffer. */
  #hasRoom(): boolean {
    const replay = this.#replay;
    return (
      this.#attached &&
      (replay === null || replay.fits(this.#limits.replayMessages, this.#limits.replayBytes))
    );
  }

  /** Drops a message whose frame could be over `frameLimit` (see there); true if it did. */
  #tooLarge(message: OutgoingMessage): boolean {
    if (this.frameLimit === Infinity || sequencedFits(message, this.frameLimit)) return false;
    this.#hooks.dropped(message, 'too-large');
    return true;
  }

  /** Sends a message that waited; false if it was dropped instead (see `#tooLarge`). */
  #send(message: OutgoingMessage): boolean {
    // The limit may have dropped since the message was queued (a client learns the server's).
    return !this.#tooLarge(message) && this.#transmit(message);
  }

  /** Numbers `message`, keeps it for replay and writes it. */
  #transmit(message: OutgoingMessage): boolean {
    const seq = this.#nextSeq++;
    const frame = sequencedFrame(message, seq, this.#takeAck(), (this.#slab ??= new ByteSlab()));
    (this.#replay ??= new ReplayRing()).push(seq, frame, message);
    this.#hooks.sent?.(seq, frame, message);
    this.#hooks.write(frame, seq);
    return true;
  }

  /**
   * What the connection takes, in bytes, before it is over its high-water mark (see
   * {@link SequencedSource}): asked only by a source that writes bulk frames.
   */
  room(): number {
    return this.#hooks.room?.() ?? Infinity;
  }

  /**
   * The peer's cumulative acknowledgement: frees the replay buffer up to `seq`. Returns false
   * for an ack of a sequence number never sent (a broken peer).
   */
  acknowledged(seq: number): boolean {
    if (!this.#trim(seq)) return false;
    // The room it made is for what waits: the pending queue, or a source's frames.
    const pending = this.#pending;
    if (this.source !== null || (pending !== null && pending.length > 0)) this.pump();
    return true;
  }

  /** Drops replay entries up to `seq`; false for an ack of a sequence number never sent. */
  #trim(seq: number): boolean {
    if (seq >= this.#nextSeq) return false;
    const replay = this.#replay;
    if (replay === null || !replay.holds(seq)) return true;
    this.#hooks.trimmed?.(seq);
    // An acknowledged frame's owner may write more meanwhile (into this ring, or a new one).
    for (let message = replay.shiftUpTo(seq); message !== undefined; message = this.#replay?.shiftUpTo(seq))
      message.other?.acknowledged?.();
    const left = this.#replay;
    if (left !== null && left.length === 0) {
      if (left.shrinks) this.#replay = null;
      this.#slab?.release();
    }
    return true;
  }

  /**
   * An inbound sequenced message: `deliver` if it is the next one, `duplicate` if already
   * received (a retransmission), `gap` if messages are missing before it.
   */
  accept(seq: number): 'deliver' | 'duplicate' | 'gap' {
    if (seq <= this.#received) return 'duplicate';
    if (seq !== this.#received + 1) return 'gap';
    this.#received = seq;
    this.#ackSoon();
    return 'deliver';
  }

  /** Sends a standalone ACK if one is owed. */
  flushAck(): void {
    const ack = this.#takeAck();
    if (ack !== undefined && this.#attached) this.#hooks.write(encodeFrame({ type: 'ack', seq: ack }));
  }

  /**
   * A connection is up and the session was resumed: everything the peer had not received
   * (after its `lastSeq`) is written again in order, then the pending queue.
   */
  attach(peerReceived: number): void {
    this.#attached = true;
    // Trim without pumping: the retransmissions must go out before anything new.
    this.#trim(Math.min(peerReceived, this.#nextSeq - 1));
    const replay = this.#replay;
    for (let i = 0; replay !== null && i < replay.length && this.#attached; i++) {
      this.#hooks.write(replay.frame(i), replay.seq(i));
    }
    this.pump();
  }

  /** The connection went down: nothing is written until the next `attach`. */
  detach(): void {
    this.#attached = false;
    this.#ackDue = undefined;
    // A detached session has no ticks to trim its slab on: let it go now if nothing holds it.
    this.#slab?.trim();
    // Whatever we had acknowledged may not have reached the peer; it is in `lastSeq` anyway.
    this.#ackSent = Math.min(this.#ackSent, this.confirmed);
  }

  /**
   * The peer lost the session: numbering starts again. Unacknowledged messages go back to
   * the front of the pending queue, so they are sent again in the new session (at least
   * once: the peer may have had some). Returns how many that was. Other frames (requests,
   * responses, streams) are not sent again: their owners decide what the loss means.
   */
  restart(): number {
    const unacked = this.unacknowledged()
      .map((s) => s.message)
      .filter((m) => m.other === undefined);
    this.#replay = null;
    this.#nextSeq = 1;
    this.#received = 0;
    this.#ackSent = 0;
    if (this.#ackCeiling !== undefined) this.#ackCeiling = 0;
    this.#ackDue = undefined;
    (this.#pending ??= new Outbox(this.#limits)).requeue(
      unacked.map((message) => ({ message, size: sequencedSize(message), expiresAt: Infinity })),
    );
    return unacked.length;
  }

  /** The messages still held, for `drop` events when the session ends for good. */
  drain(): OutgoingMessage[] {
    const held = [
      ...this.unacknowledged()
        .map((s) => s.message)
        .filter((m) => m.other === undefined),
      ...(this.#pending?.clear() ?? []).map((i) => i.message),
    ];
    this.#replay = null;
    this.#ackDue = undefined;
    return held;
  }

  /** The ack to piggyback on an outgoing frame, if one is owed. */
  #takeAck(): number | undefined {
    const received = this.#received;
    const ceiling = this.#ackCeiling;
    const ack = ceiling === undefined || received < ceiling ? received : ceiling;
    if (ack <= this.#ackSent) return undefined;
    this.#ackSent = ack;
    // The ack deadline stays set: when it comes with nothing owed, nothing is written.
    return ack;
  }
}
