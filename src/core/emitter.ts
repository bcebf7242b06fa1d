/**
 * A small typed event emitter. Listener arrays are copy-on-write, so `emit` allocates
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

export class Emitter<Events extends EventMap<Events>> {
  #listeners: Partial<Record<keyof Events, readonly Listener[]>> = Object.create(null);

  /** Adds a listener and returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: Events[E]): Disposer {
    const list = this.#listeners[event];
    this.#listeners[event] = list ? [...list, listener] : [listener];
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
    const list = this.#listeners[event];
    if (!list) return;
    const i = list.indexOf(listener);
    if (i === -1) return;
    if (list.length === 1) delete this.#listeners[event];
    else this.#listeners[event] = [...list.slice(0, i), ...list.slice(i + 1)];
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners[event]?.length ?? 0;
  }

  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: keyof Events): void {
    if (event === undefined) this.#listeners = Object.create(null);
    else delete this.#listeners[event];
  }

  /** Calls every listener of `event` in order; one that throws is handed to {@link listenerError}. */
  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const list = this.#listeners[event];
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as (...a: Parameters<Events[E]>) => void)(...args);
      } catch (error) {
        this.listenerError(error, event);
      }
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
