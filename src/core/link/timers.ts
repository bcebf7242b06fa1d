import { unrefTimer, type Clock, type TimerHandle } from '../clock.js';

/** The link's timers: at most one of each runs at a time. */
export type TimerName = 'connect' | 'retry' | 'uptime' | 'idle' | 'close' | 'expiry';

/**
 * The named timers of one link, on its clock. A link has a handful of deadlines (the attempt,
 * the next retry, the uptime that resets the backoff, liveness, the graceful close, the
 * outbox's next expiry), each armed and cancelled from several places: keeping them by name
 * means replacing one never leaks the old handle, and `unref()` reaches every one of them.
 *
 * @example
 * const timers = new LinkTimers(clock);
 * timers.set('retry', () => attempt(), 500);
 * timers.clear('retry');
 */
export class LinkTimers {
  readonly #clock: Clock;
  readonly #handles: Partial<Record<TimerName, TimerHandle>> = {};
  /**
   * Whether the link lets a Node process exit (`unref()`): timers started from now on, and
   * the transports it adopts, do not keep the process alive.
   */
  unrefd = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Whether the named timer is running. */
  has(name: TimerName): boolean {
    return this.#handles[name] !== undefined;
  }

  /** Starts the named timer (replacing a running one); it forgets itself before the callback. */
  set(name: TimerName, callback: () => void, ms: number): void {
    const clock = this.#clock;
    const running = this.#handles[name];
    if (running !== undefined) clock.clearTimeout(running);
    // Beyond 2**31-1 ms runtimes fire at once; such a deadline means "never".
    if (!(ms <= 0x7fffffff)) return;
    const handle = clock.setTimeout(() => {
      this.#handles[name] = undefined;
      callback();
    }, ms);
    if (this.unrefd) unrefTimer(handle);
    this.#handles[name] = handle;
  }

  clear(name: TimerName): void {
    const handle = this.#handles[name];
    if (handle === undefined) return;
    this.#handles[name] = undefined;
    this.#clock.clearTimeout(handle);
  }

  /** Lets the running timers, and those started later, not keep a Node process alive. */
  unref(): void {
    this.unrefd = true;
    for (const t of Object.values(this.#handles)) if (t !== undefined) unrefTimer(t);
  }

  /** Timers started from now on keep the process alive again; running ones are short-lived. */
  ref(): void {
    this.unrefd = false;
  }
}
