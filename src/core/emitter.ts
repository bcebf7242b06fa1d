/**
 * A small typed event emitter. Listener arrays are copy-on-write, so `emit` allocates
 * nothing and a listener may add or remove listeners while an event is being delivered.
 *
 * Unlike Node's `EventEmitter`, an `error` event with no listener is not thrown: I/O errors
 * never escape as exceptions; they also arrive as the `cause` of the `close` event.
 */
export type EventMap = { [event: string]: (...args: never[]) => void };

/** Removes the listener it was returned for. Calling it twice is harmless. */
export type Disposer = () => void;

type AnyListener = (...args: never[]) => void;

export class Emitter<Events extends EventMap> {
  #listeners: Partial<Record<keyof Events, readonly AnyListener[]>> = Object.create(null);

  /** Adds a listener and returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: Events[E]): Disposer {
    const list = this.#listeners[event];
    this.#listeners[event] = list ? [...list, listener as AnyListener] : [listener as AnyListener];
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
    const i = list.indexOf(listener as AnyListener);
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

  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const list = this.#listeners[event];
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      (list[i] as (...a: Parameters<Events[E]>) => void)(...args);
    }
  }
}
