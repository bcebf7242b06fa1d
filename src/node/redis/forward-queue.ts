import type { Queued } from './publish-order.js';

/** The counters the forward queue keeps (the adapter's metrics). */
export interface ForwardCounters {
  dropped: number;
  forwarded: number;
  published: number;
}

/**
 * What was published while Redis was away, to go to the bus once it answers again, in
 * order. Bounded by `maxForwardMessages` and `maxForwardBytes` (server-wide, like every
 * bound here): past either, the oldest is dropped and counted, so an outage of any length
 * costs bounded memory.
 *
 * @example
 * queue.push(queued);                          // while degraded
 * await queue.forward((q) => sendToRedis(q));  // on recovery, in batches
 */
export class ForwardQueue<Origin> {
  readonly #items: Array<Queued<Origin>> = [];
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #counters: ForwardCounters;
  #bytes = 0;

  constructor(
    limits: { readonly maxForwardMessages: number; readonly maxForwardBytes: number },
    counters: ForwardCounters,
  ) {
    this.#maxMessages = limits.maxForwardMessages;
    this.#maxBytes = limits.maxForwardBytes;
    this.#counters = counters;
  }

  /** Publishes waiting. */
  get length(): number {
    return this.#items.length;
  }

  /** Queues a publish; past a bound, the oldest are dropped (and counted). */
  push(q: Queued<Origin>): void {
    this.#items.push(q);
    this.#bytes += sizeOf(q);
    while (
      this.#items.length > this.#maxMessages ||
      (this.#bytes > this.#maxBytes && this.#items.length > 0)
    ) {
      const dropped = this.#items.shift()!;
      this.#bytes -= sizeOf(dropped);
      this.#counters.dropped++;
    }
  }

  /**
   * Sends everything queued, 256 at a time and in order, with `send` (rejects: Redis failed
   * again, and what is left stays queued). Publishes queued meanwhile go too.
   */
  async forward(send: (q: Queued<Origin>) => Promise<unknown>): Promise<void> {
    const items = this.#items;
    while (items.length > 0) {
      const batch = items.slice(0, 256);
      await Promise.all(batch.map(send));
      // Publishes went on meanwhile, and the bound may have dropped the oldest: those of this
      // batch, which went out all the same. What is left of it is the head of the queue.
      const left = items.indexOf(batch[batch.length - 1]!) + 1;
      this.#counters.dropped -= batch.length - left;
      for (const q of items.splice(0, left)) this.#bytes -= sizeOf(q);
      this.#counters.forwarded += batch.length;
      this.#counters.published += batch.length;
    }
  }

  /** The adapter closes: what is queued is dropped (and counted). */
  clear(): void {
    this.#counters.dropped += this.#items.length;
    this.#items.length = 0;
    this.#bytes = 0;
  }
}

function sizeOf(q: Queued<unknown>): number {
  return q.payload.byteLength + q.header.length;
}
