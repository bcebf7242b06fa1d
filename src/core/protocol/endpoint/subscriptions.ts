import { callbackError } from '../../errors.js';
import { topicMatches } from '../topics.js';
import type { EndpointHost } from './host.js';

/**
 * Called with each message published on a matching topic. `T` is what the application
 * expects there; nothing checks it (the value comes from the network).
 */
export type SubscriptionHandler<T = unknown> = (value: T, meta: { topic: string }) => void;

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

  /**
   * Calls every handler whose pattern matches `topic`. One that throws is reported to `host`
   * (`ERR_CALLBACK`) and the others still run: the application's code must cost neither the
   * rest of a batch nor the connection.
   */
  deliver(topic: string, value: unknown, host: Pick<EndpointHost, 'error'>): void {
    const meta = { topic };
    for (const [pattern, handlers] of this.#handlers) {
      if (!topicMatches(pattern, topic)) continue;
      for (const handler of handlers) {
        try {
          handler(value, meta);
        } catch (err) {
          host.error?.(callbackError(`the subscription handler of '${pattern}'`, err));
        }
      }
    }
  }
}
