import { systemClock, type Clock } from '../core/clock.js';

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
 * The system clock, with `now()` read once per task: the first call reads `Date.now()` and
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
      now = Date.now();
      void settled.then(forget);
    }
    return now;
  },
  setTimeout: systemClock.setTimeout,
  clearTimeout: systemClock.clearTimeout,
});
