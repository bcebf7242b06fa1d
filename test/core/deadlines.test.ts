import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { DUE, Deadlines, UNSCHEDULED, type Timed } from '../../src/core/protocol/server/deadlines.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
});

function entry(fired: Array<[string, number]>, name: string): Timed {
  return { [DUE]: () => void fired.push([name, Date.now()]) };
}

describe("Deadlines: one timer for every session's deadlines", () => {
  it('rounds a deadline up to a sixteenth of its delay (at most 250 ms): never early, never later than that', async () => {
    const wheel = new Deadlines(systemClock);
    const fired: Array<[string, number]> = [];
    wheel.schedule(entry(fired, 'ack'), 20, UNSCHEDULED);
    wheel.schedule(entry(fired, 'ping'), 15_010, UNSCHEDULED);
    wheel.schedule(entry(fired, 'timeout'), 1_605, UNSCHEDULED);
    await vi.advanceTimersByTimeAsync(19);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual([['ack', 20]]);
    // 1,605 ms away: rounded to a multiple of 100 ms.
    await vi.advanceTimersByTimeAsync(1_700 - 20 - 1);
    expect(fired).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired.at(-1)).toEqual(['timeout', 1_700]);
    // 15,010 ms away: rounded to a multiple of 250 ms.
    await vi.advanceTimersByTimeAsync(15_249 - 1_700);
    expect(fired).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired.at(-1)).toEqual(['ping', 15_250]);
    expect(wheel.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('wakes once for the entries of one slot, whatever their number', async () => {
    const wheel = new Deadlines(systemClock);
    const fired: Array<[string, number]> = [];
    for (let i = 0; i < 1_000; i++) wheel.schedule(entry(fired, `s${i}`), 10_001 + (i % 200), UNSCHEDULED);
    expect(vi.getTimerCount()).toBe(1);
    expect(wheel.size).toBe(1_000);
    await vi.advanceTimersByTimeAsync(10_250);
    expect(fired).toHaveLength(1_000);
    expect(new Set(fired.map(([, at]) => at))).toEqual(new Set([10_250]));
  });

  it('moves an entry to its new deadline and leaves no timer when the last one is cancelled', async () => {
    const wheel = new Deadlines(systemClock);
    const fired: Array<[string, number]> = [];
    const e = entry(fired, 'e');
    const first = wheel.schedule(e, 5_000, UNSCHEDULED);
    // 100 ms away: rounded up to a multiple of 6 ms.
    wheel.schedule(e, 100, first);
    expect(wheel.size).toBe(1);
    await vi.advanceTimersByTimeAsync(101);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual([['e', 102]]);
    const slot = wheel.schedule(e, 9_000, UNSCHEDULED);
    wheel.cancel(e, slot);
    expect(wheel.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fired).toHaveLength(1);
  });

  it('meets the other deadlines of a slot when one entry throws, then rethrows', async () => {
    const wheel = new Deadlines(systemClock);
    const fired: Array<[string, number]> = [];
    wheel.schedule(
      {
        [DUE]: () => {
          throw new Error('boom');
        },
      },
      48,
      UNSCHEDULED,
    );
    wheel.schedule(entry(fired, 'other'), 48, UNSCHEDULED);
    const errors: unknown[] = [];
    const onError = (e: unknown): void => void errors.push(e);
    process.on('uncaughtException', onError);
    try {
      await vi.advanceTimersByTimeAsync(48).catch((e: unknown) => errors.push(e));
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(fired).toEqual([['other', 48]]);
    expect(errors).toMatchObject([{ message: 'boom' }]);
  });
});
