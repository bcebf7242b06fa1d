import { systemClock, type Clock } from '../../clock.js';
import { ErrorCodes, SocklineError } from '../../errors.js';
import type { PayloadKind } from '../frames.js';
import { TopicIndex } from '../topic-index.js';
import type { Hub } from './options.js';
import type { SessionState } from './session-state.js';

/**
 * Where sessions live between connections. The in-memory store is the default; a shared
 * store (Redis) lets another server process resume a session.
 */
export interface SessionStore {
  readonly size: number;
  /**
   * The subscriptions of the sessions held, matched on every publish. A store puts each
   * session it adds in it (`state.indexIn(topics)`) and takes each one it deletes out of it
   * (`state.indexIn(null)`).
   */
  readonly topics: TopicIndex<SessionState>;
  get(id: string): SessionState | undefined;
  all(): IterableIterator<SessionState>;
  /** Adds a new session (a full store may evict its oldest). */
  add(state: SessionState): void;
  /** The session's connection ended: keep it `ms` for a resume, then forget it (calling `expired`). */
  expire(state: SessionState, ms: number, expired?: (state: SessionState) => void): void;
  /** The session was resumed: stop its expiry. */
  keep(state: SessionState): void;
  delete(id: string): void;
  clear(): void;
}

/** Sessions waiting to be resumed, bounded in count, each for `resumeWindow` ms. */
export class MemorySessionStore implements SessionStore {
  readonly topics = new TopicIndex<SessionState>();
  readonly #sessions = new Map<string, SessionState>();
  readonly #max: number;
  readonly #clock: Clock;

  constructor(options: { maxSessions?: number; clock?: Clock } = {}) {
    this.#max = options.maxSessions ?? 10_000;
    this.#clock = options.clock ?? systemClock;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(id: string): SessionState | undefined {
    return this.#sessions.get(id);
  }

  all(): IterableIterator<SessionState> {
    return this.#sessions.values();
  }

  /** Adds a session; the oldest one is evicted if the store is full. */
  add(state: SessionState): void {
    if (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value as string;
      this.delete(oldest);
    }
    this.#sessions.set(state.id, state);
    state.indexIn(this.topics);
  }

  /** Keeps a detached session for `ms`, then forgets it (and calls `expired`, if given). */
  expire(state: SessionState, ms: number, expired?: (state: SessionState) => void): void {
    if (state.expiry !== undefined) this.#clock.clearTimeout(state.expiry);
    state.expiry = this.#clock.setTimeout(() => {
      this.delete(state.id);
      expired?.(state);
    }, ms);
  }

  keep(state: SessionState): void {
    if (state.expiry !== undefined) this.#clock.clearTimeout(state.expiry);
    state.expiry = undefined;
  }

  delete(id: string): void {
    const state = this.#sessions.get(id);
    if (state === undefined) return;
    if (state.expiry !== undefined) this.#clock.clearTimeout(state.expiry);
    state.endpoint.close(new SocklineError(ErrorCodes.SESSION_LOST, 'the session ended'));
    state.indexIn(null);
    this.#sessions.delete(id);
  }

  clear(): void {
    for (const id of [...this.#sessions.keys()]) this.delete(id);
  }
}

/** The simplest hub: every session in one store, all in this process, no network between. */
export function localHub(store: SessionStore): Hub {
  return {
    publish(topic, kind, payload) {
      publishTo(store, topic, kind, payload);
    },
  };
}

/**
 * Queues a publish for every session of `store` with a matching subscription, once per
 * session, through the store's topic index (the cost follows the subscribers reached, not
 * the patterns held). `source` is its position on a shared bus. Returns how many sessions.
 */
export function publishTo(
  store: SessionStore,
  topic: string,
  kind: PayloadKind,
  payload: Uint8Array,
  source?: string,
): number {
  return store.topics.forEachMatch(topic, (state) => state.push(topic, kind, payload, source));
}
