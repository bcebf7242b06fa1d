import { systemClock, type Clock } from '../core/clock.js';

/**
 * Where the clock's time starts: a day before this module was loaded, so that a wall clock
 * set back by less than that still reads a positive time.
 */
const ORIGIN = Date.now() - 86_400_000;

/** The time read in the current task, or -1 when it must be read again. */
let now = -1;

/**
 * Settled once: `then` on it queues a microtask. Node's `queueMicrotask` makes an async
 * resource and a bound function each call, several hundred bytes and a few times the time.
 */
const settled = Promise.resolve();

function forget(): void {
  now = -1;
}

/**
 * The system clock in ms since {@link ORIGIN}, with `now()` read once per task. Small
 * integers, not milliseconds since 1970: V8 keeps an integer below 2^31 in the field that
 * holds it, while a larger one is a heap number of its own (16 B), and every idle session
 * holds a few times (its heartbeat, its slot in the server's deadlines). Under 2^31 ms for the
 * first 23 days of the process; later times are as correct, only boxed. Nothing the server
 * times leaves the process: every time is compared with another read from this clock.
 *
 * Read once per task: the first call reads `Date.now()` and
 * every call until the task's microtasks run returns that value. A server session notes the
 * time of every frame it reads (its heartbeat ends a connection silent too long), and a
 * socket read holds a hundred frames of a busy connection: one read of the clock for them
 * instead of a hundred (about 50 ns each, 5% of the CPU of an echo). What a task sees is the
 * time it started, late by the task's own length: nothing the server times (acks, heartbeats,
 * handshake and resume deadlines) is that fine.
 */
export const taskClock: Clock = Object.freeze({
  now(): number {
    if (now < 0) {
      now = Date.now() - ORIGIN;
      void settled.then(forget);
    }
    return now;
  },
  setTimeout: systemClock.setTimeout,
  clearTimeout: systemClock.clearTimeout,
});
