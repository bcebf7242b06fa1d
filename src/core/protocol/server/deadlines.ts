import type { Clock, TimerHandle } from '../../clock.js';

/** The method a {@link Deadlines} calls on an entry whose time came. */
export const DUE: unique symbol = Symbol('due');

/** An entry of a {@link Deadlines}. */
export interface Timed {
  [DUE](): void;
}

/** The slot of an entry that is not scheduled. */
export const UNSCHEDULED = -1;

/** The coarsest rounding, in ms: no deadline is met more than this late. */
const MAX_RESOLUTION = 250;

/**
 * One timer for the deadlines of every session of a server (a HELLO deadline, then each
 * session endpoint's next deadline: a heartbeat, a delayed ack, a request timeout), instead
 * of a timer object and a callback per session: idle connections are many, and a Node
 * `Timeout` with its closure costs more than the rest of an idle session's state.
 *
 * A deadline `d` ms away is rounded up to a multiple of `d / 16` (at least 1 ms, at most
 * 250 ms), and the entries due in one slot share one wake-up: a heartbeat 15 s away shares
 * its slot with those of every session due in the same quarter second, a 20 ms ack is met
 * within a millisecond. Nothing fires early; nothing fires more than a sixteenth of its
 * delay (or 250 ms) late.
 */
export class Deadlines {
  readonly #clock: Clock;
  /** Entries by slot: the time (ms on the clock) they are due, rounded up. */
  readonly #slots = new Map<number, Set<Timed>>();
  #timer: TimerHandle | undefined;
  #armed = Infinity;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Entries waiting (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.#slots.values()) n += set.size;
    return n;
  }

  /**
   * Calls `entry[DUE]()` at `at` (ms on the clock, rounded up as above), instead of at the
   * slot it had (`previous`, from an earlier call, or UNSCHEDULED). Returns its new slot.
   */
  schedule(entry: Timed, at: number, previous: number): number {
    this.cancel(entry, previous);
    const resolution = Math.min(MAX_RESOLUTION, Math.max(1, Math.floor((at - this.#clock.now()) / 16)));
    const slot = Math.ceil(at / resolution) * resolution;
    let set = this.#slots.get(slot);
    if (set === undefined) this.#slots.set(slot, (set = new Set()));
    set.add(entry);
    if (slot < this.#armed) this.#arm(slot);
    return slot;
  }

  /** Forgets `entry`, scheduled at `slot` (UNSCHEDULED: nothing to do). */
  cancel(entry: Timed, slot: number): void {
    if (slot === UNSCHEDULED) return;
    const set = this.#slots.get(slot);
    if (set === undefined || !set.delete(entry) || set.size > 0) return;
    this.#slots.delete(slot);
    // An emptied earliest slot keeps its wake-up: it finds nothing and arms for the next one.
    if (this.#slots.size === 0 && this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#armed = Infinity;
    }
  }

  #arm(slot: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#armed = slot;
    this.#timer = this.#clock.setTimeout(this.#fire, Math.max(1, slot - this.#clock.now()));
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#armed = Infinity;
    const now = this.#clock.now();
    const due: number[] = [];
    for (const slot of this.#slots.keys()) if (slot <= now) due.push(slot);
    due.sort((a, b) => a - b);
    let failure: { error: unknown } | undefined;
    for (const slot of due) {
      const set = this.#slots.get(slot)!;
      this.#slots.delete(slot);
      for (const entry of set) {
        // One entry that throws must not cost the others their deadline.
        try {
          entry[DUE]();
        } catch (error) {
          failure ??= { error };
        }
      }
    }
    let next = Infinity;
    for (const slot of this.#slots.keys()) if (slot < next) next = slot;
    if (next < this.#armed) this.#arm(next);
    if (failure !== undefined) throw failure.error;
  };
}
