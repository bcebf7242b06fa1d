import { unrefTimer, type Clock, type TimerHandle } from '../clock.js';

/** A timer armed for one deadline. */
interface ArmedTimer {
  readonly due: number;
  handle: TimerHandle;
}

/** The longest a runtime timer can wait; a later deadline is re-armed when this one fires. */
const MAX_TIMER = 0x7fffffff;

/**
 * The runtime timers behind a client endpoint's deadlines (the endpoint has no timers of its
 * own): `arm(at)` when it has something to do at `at`; when a timer fires, `tick(now)` runs
 * and the deadline it returns is armed in turn. A deadline earlier than every armed one adds a
 * timer rather than moving one (an ack due in 20 ms leaves the PING due in 10 s armed), so a
 * deadline costs one timer operation, not three.
 */
export class DeadlineTimers {
  readonly #clock: Clock;
  readonly #tick: (now: number) => number;
  /** Armed timers, latest first. */
  #timers: ArmedTimer[] = [];
  #unref = false;

  constructor(clock: Clock, tick: (now: number) => number) {
    this.#clock = clock;
    this.#tick = tick;
  }

  /** Something is due at `at`: a timer, unless one fires by then already. */
  arm(at: number): void {
    const timers = this.#timers;
    if (timers.length > 0 && timers[timers.length - 1]!.due <= at) return;
    const clock = this.#clock;
    const timer: ArmedTimer = { due: at, handle: undefined };
    timer.handle = clock.setTimeout(
      () => this.#fire(timer),
      Math.min(MAX_TIMER, Math.max(0, at - clock.now())),
    );
    if (this.#unref) unrefTimer(timer.handle);
    timers.push(timer);
  }

  /** From now on no timer keeps the process alive (Node). */
  unref(): void {
    this.#unref = true;
    for (const timer of this.#timers) unrefTimer(timer.handle);
  }

  /** Clears every timer. */
  clear(): void {
    for (const timer of this.#timers) this.#clock.clearTimeout(timer.handle);
    this.#timers = [];
  }

  #fire(timer: ArmedTimer): void {
    const timers = this.#timers;
    timers.splice(timers.indexOf(timer), 1);
    const next = this.#tick(this.#clock.now());
    if (next !== Infinity) this.arm(next);
  }
}
