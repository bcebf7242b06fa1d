/**
 * Time as the core sees it. Everything in `src/core` takes a `Clock` so tests can drive it
 * with fake timers, and so `unref()` can reach the timers the core creates.
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque: a number in browsers, a `Timeout` object in Node. */
export type TimerHandle = unknown;

/** The runtime's own timers. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => setTimeout(callback, ms),
  clearTimeout: (handle: TimerHandle): void => clearTimeout(handle as number),
});

/** Lets a Node timer stop keeping the process alive; a no-op where timers are numbers. */
export function unrefTimer(handle: TimerHandle): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}
