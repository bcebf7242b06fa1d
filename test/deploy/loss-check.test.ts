import { describe, expect, it } from 'vitest';
import { LossCheck } from '../../src/node/redis/loss-check.js';

/**
 * The three commands LossCheck sends, answered from two values: the epoch key and the id of
 * the bus's last entry. `during` runs while XREVRANGE is on its way (the reader's connection
 * is independent of the one the check uses).
 */
function fakeRedis(end: string): {
  send: (args: string[]) => Promise<unknown>;
  set: (values: { end?: string; epoch?: string | null }) => void;
  during: (f: () => void) => void;
} {
  let epoch: string | null = null;
  let last = end;
  let during: (() => void) | undefined;
  return {
    send: (args) => {
      if (args[0] === 'SET') epoch ??= args[2]!;
      if (args[0] === 'GET') return Promise.resolve(epoch);
      if (args[0] === 'XREVRANGE') {
        const reply = last === '0-0' ? [] : [[last, []]];
        during?.();
        during = undefined;
        return Promise.resolve(reply);
      }
      return Promise.resolve('OK');
    },
    set: (values) => {
      if (values.end !== undefined) last = values.end;
      if (values.epoch !== undefined) epoch = values.epoch;
    },
    during: (f) => void (during = f),
  };
}

/** A check that asked Redis once (the first check only records what it finds). */
async function started(end: string): Promise<{ redis: ReturnType<typeof fakeRedis>; check: LossCheck }> {
  const redis = fakeRedis(end);
  const check = new LossCheck('p:epoch', 'p:bus');
  expect((await check.check(redis.send)).lost).toBeUndefined();
  return { redis, check };
}

describe('finding out whether Redis lost what it had acknowledged', () => {
  it('holds only what was seen before it asked against the bus end: an entry read meanwhile is no loss', async () => {
    const { redis, check } = await started('100-0');
    check.saw('100-0');
    // Another process writes 200-0 after Redis answered XREVRANGE; this process's reader
    // reads it before the answer is handled.
    redis.during(() => check.saw('200-0'));
    expect(await check.check(redis.send)).toEqual({ lost: undefined, end: '100-0' });
    // 200-0 counts from now on: a bus that ends before it has lost it.
    expect((await check.check(redis.send)).lost).toMatch(/ends at 100-0, before 200-0/);
  });

  it('reports a bus that went back, and a data set that is not the one it saw', async () => {
    const { redis, check } = await started('0-0');
    check.saw('300-0');
    redis.set({ end: '250-0' });
    expect((await check.check(redis.send)).lost).toMatch(/ends at 250-0, before 300-0/);
    // The loss is counted once: the bus as it is now is the new reference.
    expect((await check.check(redis.send)).lost).toBeUndefined();
    redis.set({ epoch: null, end: '0-0' });
    const report = await check.check(redis.send);
    expect(report.lost).toMatch(/not the one it was/);
    expect(report.end).toBe('0-0');
  });

  it('after a loss, keeps what was seen during the check that found it', async () => {
    const { redis, check } = await started('500-0');
    check.saw('500-0');
    redis.set({ end: '400-0' });
    redis.during(() => check.saw('450-0'));
    expect((await check.check(redis.send)).lost).toMatch(/before 500-0/);
    redis.set({ end: '440-0' });
    expect((await check.check(redis.send)).lost).toMatch(/ends at 440-0, before 450-0/);
  });
});
