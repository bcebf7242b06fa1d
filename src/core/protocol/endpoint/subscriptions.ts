import { topicMatches } from '../topics.js';

export type SubscriptionHandler = (value: unknown, meta: { topic: string }) => void;

/**
 * The subscriptions a client holds at its server (docs/protocol.md §10): handlers by topic
 * pattern, and the patterns given up while no connection could say so. They are part of the
 * session: a resumed session keeps them at the server; after a lost one they are all sent again.
 */
export class Subscriptions {
  readonly #handlers = new Map<string, Set<SubscriptionHandler>>();
  /** Patterns to unsubscribe from at the server at the next chance. */
  readonly #stale = new Set<string>();

  /** The patterns subscribed to. */
  patterns(): IterableIterator<string> {
    return this.#handlers.keys();
  }

  /** The patterns given up while detached: UNSUBSCRIBE them once attached. */
  stale(): IterableIterator<string> {
    return this.#stale.keys();
  }

  clearStale(): void {
    this.#stale.clear();
  }

  /** Adds a handler; true when the pattern is new (a SUBSCRIBE is due). */
  add(pattern: string, handler: SubscriptionHandler): boolean {
    let set = this.#handlers.get(pattern);
    const fresh = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(pattern, set);
      this.#stale.delete(pattern);
    }
    set.add(handler);
    return fresh;
  }

  /**
   * Removes a handler; true when that was the pattern's last (an UNSUBSCRIBE is due: now when
   * `attached`, else it is remembered as stale).
   */
  remove(pattern: string, handler: SubscriptionHandler, attached: boolean): boolean {
    const set = this.#handlers.get(pattern);
    if (!set?.delete(handler) || set.size > 0) return false;
    this.#handlers.delete(pattern);
    if (!attached) this.#stale.add(pattern);
    return attached;
  }

  /** Calls every handler whose pattern matches `topic`. */
  deliver(topic: string, value: unknown): void {
    const meta = { topic };
    for (const [pattern, handlers] of this.#handlers) {
      if (!topicMatches(pattern, topic)) continue;
      for (const handler of handlers) handler(value, meta);
    }
  }
}
