/**
 * A small typed event emitter. Its listener table is copy-on-write, so `emit` allocates
 * nothing and a listener may add or remove listeners while an event is being delivered.
 *
 * Unlike Node's `EventEmitter`, an `error` event with no listener is not thrown: I/O errors
 * never escape as exceptions; they also arrive as the `cause` of the `close` event.
 */

import { callbackError, reportUncaught, type SocklineError } from './errors.js';

/** Any listener. */
export type Listener = (...args: never[]) => void;

/**
 * The shape of an event map: each event name maps to its listener's signature. Only the names
 * it lists are accepted by `on`, so a misspelt event name does not compile.
 */
export type EventMap<Events> = { [E in keyof Events]: Listener };

/** Removes the listener it was returned for. Calling it twice is harmless. */
export type Disposer = () => void;

/**
 * The listener methods of everything that emits to the application (a link, a client): one
 * shape, so each interface states its events only.
 *
 * @example
 * interface Ticker extends Listenable<{ tick: (n: number) => void }> {}
 */
export interface Listenable<Events extends EventMap<Events>> {
  /** Adds a listener and returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: Events[E]): Disposer;
  /** Adds a listener that is removed before its first call. */
  once<E extends keyof Events>(event: E, listener: Events[E]): Disposer;
  /** Removes a listener added with `on` (a listener added with `once` is removed by its disposer). */
  off<E extends keyof Events>(event: E, listener: Events[E]): void;
  listenerCount(event: keyof Events): number;
  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: keyof Events): void;
}

export class Emitter<Events extends EventMap<Events>> implements Listenable<Events> {
  /**
   * Event names and their listeners, alternating: `[name, listeners, name, listeners, …]`, where
   * `listeners` is the one function of an event that has one, or an array of them. Null until a
   * first listener: an object that is never listened to (most server peers) holds nothing, and a
   * few names in a short array take less than a dictionary (`Object.create(null)` is one, of a
   * few hundred bytes even when empty) and are found as fast. Copied on every change, like the
   * arrays of listeners, so `emit` allocates nothing and a listener may add or remove others
   * while an event is being delivered.
   */
  #table: ReadonlyArray<keyof Events | Listener | readonly Listener[]> | null = null;

  /** Adds a listener and returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: Events[E]): Disposer {
    const table = this.#table;
    const at = table === null ? -1 : indexOf(table, event);
    if (at === -1) this.#table = table === null ? [event, listener] : [...table, event, listener];
    else {
      const held = table![at + 1] as Listener | readonly Listener[];
      const next = typeof held === 'function' ? [held, listener] : [...held, listener];
      this.#table = table!.map((entry, i) => (i === at + 1 ? next : entry));
    }
    return () => this.off(event, listener);
  }

  /** Adds a listener that is removed before its first call. */
  once<E extends keyof Events>(event: E, listener: Events[E]): Disposer {
    const wrapper = ((...args: Parameters<Events[E]>) => {
      this.off(event, wrapper);
      (listener as (...a: Parameters<Events[E]>) => void)(...args);
    }) as Events[E];
    return this.on(event, wrapper);
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): void {
    const table = this.#table;
    const at = table === null ? -1 : indexOf(table, event);
    if (at === -1) return;
    const held = table![at + 1] as Listener | readonly Listener[];
    let next: Listener | readonly Listener[] | undefined;
    if (typeof held === 'function') {
      if (held !== listener) return;
    } else {
      const i = held.indexOf(listener);
      if (i === -1) return;
      next = held.length === 2 ? held[1 - i] : [...held.slice(0, i), ...held.slice(i + 1)];
    }
    if (next !== undefined) this.#table = table!.map((entry, i) => (i === at + 1 ? next : entry));
    else if (table!.length === 2) this.#table = null;
    else this.#table = [...table!.slice(0, at), ...table!.slice(at + 2)];
  }

  listenerCount(event: keyof Events): number {
    const table = this.#table;
    const at = table === null ? -1 : indexOf(table, event);
    if (at === -1) return 0;
    const held = table![at + 1] as Listener | readonly Listener[];
    return typeof held === 'function' ? 1 : held.length;
  }

  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: keyof Events): void {
    const table = this.#table;
    if (table === null) return;
    if (event === undefined) {
      this.#table = null;
      return;
    }
    const at = indexOf(table, event);
    if (at === -1) return;
    this.#table = table.length === 2 ? null : [...table.slice(0, at), ...table.slice(at + 2)];
  }

  /** Calls every listener of `event` in order; one that throws is handed to {@link listenerError}. */
  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const table = this.#table;
    if (table === null) return;
    for (let at = 0; at < table.length; at += 2) {
      if (table[at] !== event) continue;
      const held = table[at + 1] as Listener | readonly Listener[];
      if (typeof held === 'function') {
        try {
          (held as (...a: Parameters<Events[E]>) => void)(...args);
        } catch (error) {
          this.listenerError(error, event);
        }
        return;
      }
      for (let i = 0; i < held.length; i++) {
        try {
          (held[i] as (...a: Parameters<Events[E]>) => void)(...args);
        } catch (error) {
          this.listenerError(error, event);
        }
      }
      return;
    }
  }

  /**
   * A listener of `event` threw `error`. Here the error propagates to the code that emitted
   * (the listeners after it are skipped); a subclass that must not be broken by its users'
   * code reports it instead and lets the other listeners run.
   */
  protected listenerError(error: unknown, _event: keyof Events): void {
    throw error;
  }
}

/** Where `event` is in a listener table (see `Emitter`), or -1. */
function indexOf<K>(table: ReadonlyArray<unknown>, event: K): number {
  for (let at = 0; at < table.length; at += 2) if (table[at] === event) return at;
  return -1;
}

/**
 * An emitter whose listeners are the application's code, which must not break the object
 * that emits (a link, a client): a listener that throws is reported as an `error` event
 * (`ERR_CALLBACK`, what it threw as `cause`) and the other listeners still run. A throwing
 * `error` listener has nowhere left to report to: it surfaces as an uncaught exception.
 */
export class GuardedEmitter<
  Events extends EventMap<Events> & { error: (error: SocklineError) => void },
> extends Emitter<Events> {
  protected override listenerError(error: unknown, event: keyof Events): void {
    if (event === 'error') return reportUncaught(error);
    const emit = this.emit as unknown as (event: 'error', error: SocklineError) => void;
    emit.call(this, 'error', callbackError(`a '${String(event)}' listener`, error));
  }
}

/**
 * The emitter of the browser's compact link and client: what `GuardedEmitter` does
 * (copy-on-write listener lists, so a listener may add or remove others while it runs; a
 * throwing listener reported as an `error` event, `ERR_CALLBACK`, while the others still run;
 * a throwing `error` listener as an uncaught exception) in far less code. `Emitter`'s
 * listener table saves memory on a server holding many peers; a page holds one or two of
 * these, and downloads every byte of them.
 *
 * @example
 * class Ticker extends SmallEmitter<{ tick: (n: number) => void; error: (e: SocklineError) => void }> {
 *   start(): void {
 *     this.emit('tick', 1);
 *   }
 * }
 */
export class SmallEmitter<
  Events extends EventMap<Events> & { error: (error: SocklineError) => void },
> implements Listenable<Events> {
  #lists: { [E in keyof Events]?: readonly Listener[] } = {};

  on<E extends keyof Events>(event: E, listener: Events[E]): Disposer {
    this.#lists[event] = [...(this.#lists[event] ?? []), listener];
    return () => this.off(event, listener);
  }

  once<E extends keyof Events>(event: E, listener: Events[E]): Disposer {
    const once = ((...args: never[]) => {
      this.off(event, once);
      (listener as Listener)(...args);
    }) as Events[E];
    return this.on(event, once);
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): void {
    const list = this.#lists[event];
    const at = list?.indexOf(listener) ?? -1;
    if (at >= 0) this.#lists[event] = list!.filter((_, i) => i !== at);
  }

  listenerCount(event: keyof Events): number {
    return this.#lists[event]?.length ?? 0;
  }

  removeAllListeners(event?: keyof Events): void {
    if (event === undefined) this.#lists = {};
    else delete this.#lists[event];
  }

  /** Calls every listener of `event` in order, as `GuardedEmitter` does. */
  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of this.#lists[event] ?? []) {
      try {
        (listener as (...a: Parameters<Events[E]>) => void)(...args);
      } catch (thrown) {
        if (event === 'error') reportUncaught(thrown);
        else {
          const self = this as unknown as SmallEmitter<{ error: (error: SocklineError) => void }>;
          self.emit('error', callbackError(`a '${event as string}' listener`, thrown));
        }
      }
    }
  }
}
