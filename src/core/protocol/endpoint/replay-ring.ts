import type { OutgoingMessage } from './sequenced.js';

/** A slot of a {@link ReplayRing}: a seq, a frame or a message. */
type Slot = number | Uint8Array | OutgoingMessage;

/** The entries a ring starts with, and the most it keeps once empty (see {@link ReplayRing.shrinks}). */
export const RING_MIN = 16;

/** What a freed slot holds until it is written again: nothing of its own. */
const EMPTY = new Uint8Array(0);
const FREED: OutgoingMessage = Object.freeze({
  topic: undefined,
  kind: 'binary',
  payload: EMPTY,
  original: undefined,
});

/**
 * The frames a session wrote and its peer has not acknowledged, oldest first: each entry is
 * a seq, its frame and its message, in three slots of one array used as a ring whose size is
 * a power of two. Entries are added at the back and freed from the front as cumulative acks
 * come, so a sender that keeps a steady number of messages in flight allocates nothing per
 * message (a growing array compacted from time to time copies, and grows again, all the time).
 * The ring doubles when full; its owner drops a large one once it is empty (`shrinks`).
 */
export class ReplayRing {
  #slots: Slot[];
  /** Entries the ring holds at most, less one: capacities are powers of two. */
  #mask: number;
  /** The oldest entry's index. */
  #head = 0;
  #count = 0;
  #bytes = 0;

  constructor(capacity = RING_MIN) {
    this.#slots = new Array<Slot>(3 * capacity).fill(0);
    this.#mask = capacity - 1;
  }

  /** Entries held. */
  get length(): number {
    return this.#count;
  }

  /** The bytes of the frames held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether an empty ring is larger than worth keeping (a burst is over). */
  get shrinks(): boolean {
    return this.#mask >= RING_MIN;
  }

  /** Whether it holds fewer than `messages` entries and fewer than `bytes` bytes. */
  fits(messages: number, bytes: number): boolean {
    return this.#count < messages && this.#bytes < bytes;
  }

  /** Whether its oldest entry is one of those up to `seq` (the next `shiftUpTo(seq)` frees one). */
  holds(seq: number): boolean {
    return this.#count > 0 && (this.#slots[3 * this.#head] as number) <= seq;
  }

  push(seq: number, frame: Uint8Array, message: OutgoingMessage): void {
    if (this.#count > this.#mask) this.#grow();
    const at = 3 * ((this.#head + this.#count) & this.#mask);
    const slots = this.#slots;
    slots[at] = seq;
    slots[at + 1] = frame;
    slots[at + 2] = message;
    this.#count++;
    this.#bytes += frame.byteLength;
  }

  /** Entry `i` from the oldest: its seq, frame and message. */
  seq(i: number): number {
    return this.#slots[3 * ((this.#head + i) & this.#mask)] as number;
  }

  frame(i: number): Uint8Array {
    return this.#slots[3 * ((this.#head + i) & this.#mask) + 1] as Uint8Array;
  }

  message(i: number): OutgoingMessage {
    return this.#slots[3 * ((this.#head + i) & this.#mask) + 2] as OutgoingMessage;
  }

  /** Frees the oldest entry if its seq is up to `seq`, and returns its message; else undefined. */
  shiftUpTo(seq: number): OutgoingMessage | undefined {
    const at = 3 * this.#head;
    const slots = this.#slots;
    if (this.#count === 0 || (slots[at] as number) > seq) return undefined;
    const message = slots[at + 2] as OutgoingMessage;
    this.#bytes -= (slots[at + 1] as Uint8Array).byteLength;
    // What the slots held is freed now, not when they are written again.
    slots[at + 1] = EMPTY;
    slots[at + 2] = FREED;
    this.#head = (this.#head + 1) & this.#mask;
    this.#count--;
    return message;
  }

  #grow(): void {
    const old = this.#slots;
    const capacity = 2 * (this.#mask + 1);
    const slots = new Array<Slot>(3 * capacity).fill(0);
    for (let i = 0; i < this.#count; i++) {
      const from = 3 * ((this.#head + i) & this.#mask);
      slots[3 * i] = old[from]!;
      slots[3 * i + 1] = old[from + 1]!;
      slots[3 * i + 2] = old[from + 2]!;
    }
    this.#slots = slots;
    this.#mask = capacity - 1;
    this.#head = 0;
  }
}
