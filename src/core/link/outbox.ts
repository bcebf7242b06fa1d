import { ErrorCodes, SocklineError } from '../errors.js';

/** What happens when a message arrives at a full outbox. */
export type OverflowPolicy = 'reject' | 'drop-oldest' | 'drop-newest';

export interface OutboxLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly overflow: OverflowPolicy;
}

/** One message waiting for the link to open. */
export interface QueuedMessage<T> {
  readonly message: T;
  readonly size: number;
  /** Absolute time (clock ms) after which the message is discarded; `Infinity` for never. */
  readonly expiresAt: number;
}

/**
 * A FIFO bounded by message count and bytes. Pushing into a full outbox applies the policy:
 * `reject` throws `ERR_QUEUE_FULL` and keeps the queue as it was; `drop-oldest` evicts from
 * the head until the new message fits; `drop-newest` refuses the new message. Evicted and
 * refused messages are handed back so the caller can report them — nothing leaves silently.
 *
 * The queue is an array with a moving head (compacted when half of it is dead), so pushes
 * and shifts are O(1) amortised.
 */
export class Outbox<T> {
  readonly #limits: OutboxLimits;
  #items: Array<QueuedMessage<T> | undefined> = [];
  #head = 0;
  #bytes = 0;
  /** Earliest `expiresAt` in the queue (a lower bound: it is not raised when that item leaves). */
  #nextExpiry = Infinity;

  constructor(limits: OutboxLimits) {
    this.#limits = limits;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The earliest time at which something may expire (`Infinity` if nothing can). */
  get nextExpiry(): number {
    return this.length === 0 ? Infinity : this.#nextExpiry;
  }

  /**
   * Queues `item`. Returns the messages that the policy dropped to make room (possibly the
   * new one itself, under `drop-newest`), or throws `ERR_QUEUE_FULL` under `reject`.
   */
  push(item: QueuedMessage<T>): Array<QueuedMessage<T>> {
    const { maxMessages, maxBytes, overflow } = this.#limits;
    const fits = (): boolean => this.length < maxMessages && this.#bytes + item.size <= maxBytes;
    if (item.size > maxBytes) {
      // It could never fit: refusing it is the only honest answer whatever the policy.
      if (overflow === 'reject') throw this.#full(item);
      return [item];
    }
    const dropped: Array<QueuedMessage<T>> = [];
    if (!fits()) {
      if (overflow === 'reject') throw this.#full(item);
      if (overflow === 'drop-newest') return [item];
      while (!fits()) dropped.push(this.shift()!);
    }
    this.#items.push(item);
    this.#bytes += item.size;
    if (item.expiresAt < this.#nextExpiry) this.#nextExpiry = item.expiresAt;
    return dropped;
  }

  shift(): QueuedMessage<T> | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    this.#bytes -= item!.size;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
      this.#nextExpiry = Infinity;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes and returns every message whose `expiresAt` is at or before `now`, in order. */
  expire(now: number): Array<QueuedMessage<T>> {
    if (now < this.#nextExpiry || this.length === 0) return [];
    const expired: Array<QueuedMessage<T>> = [];
    const kept: Array<QueuedMessage<T>> = [];
    let next = Infinity;
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (item.expiresAt <= now) {
        expired.push(item);
        this.#bytes -= item.size;
      } else {
        kept.push(item);
        if (item.expiresAt < next) next = item.expiresAt;
      }
    }
    this.#items = kept;
    this.#head = 0;
    this.#nextExpiry = next;
    return expired;
  }

  /**
   * Puts messages that were already admitted once back at the head, in order (a session
   * that must send them again). The limits are not applied a second time: refusing now
   * would lose what the caller was told was accepted.
   */
  requeue(items: ReadonlyArray<QueuedMessage<T>>): void {
    if (items.length === 0) return;
    this.#items = [...items, ...this.#items.slice(this.#head)];
    this.#head = 0;
    for (const item of items) {
      this.#bytes += item.size;
      if (item.expiresAt < this.#nextExpiry) this.#nextExpiry = item.expiresAt;
    }
  }

  /** Empties the queue and returns what it held, in order. */
  clear(): Array<QueuedMessage<T>> {
    const all = this.#items.slice(this.#head) as Array<QueuedMessage<T>>;
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#nextExpiry = Infinity;
    return all;
  }

  #full(item: QueuedMessage<T>): SocklineError {
    const { maxMessages, maxBytes } = this.#limits;
    return new SocklineError(
      ErrorCodes.QUEUE_FULL,
      `outbox is full (${this.length}/${maxMessages} messages, ${this.#bytes}/${maxBytes} bytes; ` +
        `message of ${item.size} bytes refused)`,
    );
  }
}
