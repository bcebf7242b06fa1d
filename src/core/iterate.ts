import type { Disposer } from './emitter.js';

/** Where an async iterator's values come from. */
export interface IterationSource<T> {
  /** Starts delivering values; returns the function that stops it. */
  subscribe(push: (value: T) => void): Disposer;
  /** Calls `end` once the source is finished; returns the function that stops listening. */
  onEnd(end: () => void): Disposer;
  readonly ended: boolean;
  /** Called when `limit` values wait unread, and again when half of them were read. */
  pause(): void;
  resume(): void;
}

/**
 * An event stream as an async iterator. Values wait in a buffer; when `limit` of them wait
 * unread the source is paused (stops reading from its socket) until the consumer catches
 * up, so a slow `for await` loop cannot make memory grow without bound.
 */
export async function* iterate<T>(
  source: IterationSource<T>,
  limit = 1024,
): AsyncGenerator<T, void, undefined> {
  let buffer: T[] = [];
  let head = 0;
  let wake: (() => void) | null = null;
  let done = source.ended;
  let paused = false;
  const offValue = source.subscribe((value) => {
    buffer.push(value);
    if (!paused && buffer.length - head >= limit) {
      paused = true;
      source.pause();
    }
    wake?.();
  });
  const offEnd = source.onEnd(() => {
    done = true;
    wake?.();
  });
  try {
    for (;;) {
      if (head < buffer.length) {
        const value = buffer[head++]!;
        if (head === buffer.length) {
          buffer = [];
          head = 0;
        }
        if (paused && buffer.length - head < limit / 2) {
          paused = false;
          source.resume();
        }
        yield value;
        continue;
      }
      if (done) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    offValue();
    offEnd();
    if (paused) source.resume();
  }
}
