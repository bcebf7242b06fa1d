import { describe, expect, it } from 'vitest';
import { taskClock } from '../../src/node/task-clock.js';

const busy = (ms: number): void => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};

describe('taskClock', () => {
  it('reads the time once per task: later reads in the same task return it', () => {
    const first = taskClock.now();
    busy(5);
    expect(taskClock.now()).toBe(first);
    expect(Date.now()).toBeGreaterThan(first);
  });

  it('reads the time again once the microtasks of the task ran', async () => {
    const first = taskClock.now();
    busy(5);
    await Promise.resolve();
    await Promise.resolve();
    const second = taskClock.now();
    expect(second).toBeGreaterThan(first);
    expect(second).toBeLessThanOrEqual(Date.now());
  });

  it('reads whole milliseconds since its origin, below 2^31, advancing with the system clock', async () => {
    const first = taskClock.now();
    const wall = Date.now();
    expect(Number.isInteger(first)).toBe(true);
    // Small integers: V8 keeps them in the field that holds them (no heap number per time).
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(2 ** 31);
    await new Promise((r) => setTimeout(r, 20));
    const later = taskClock.now();
    // It moves as Date.now() does: the same elapsed time, give or take the read of each.
    expect(later - first).toBeGreaterThanOrEqual(Date.now() - wall - 5);
    expect(later - first).toBeLessThanOrEqual(Date.now() - wall + 5);
  });

  it('runs timers as the system clock does', async () => {
    let fired = false;
    const done = new Promise<void>((resolve) => {
      taskClock.setTimeout(() => {
        fired = true;
        resolve();
      }, 5);
    });
    const cancelled = taskClock.setTimeout(() => expect.unreachable('a cleared timer fired'), 5);
    taskClock.clearTimeout(cancelled);
    await done;
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toBe(true);
  });
});
