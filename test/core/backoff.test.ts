import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/core/link/backoff.js';
import { canTransition, LinkStates, type LinkState } from '../../src/core/link/state.js';

const opts = { initialDelay: 500, maxDelay: 10_000, multiplier: 2, jitter: 0 };

describe('backoffDelay', () => {
  it('grows exponentially from initialDelay and stops at maxDelay when jitter is 0', () => {
    const delays = Array.from({ length: 8 }, (_, attempt) => backoffDelay(attempt, opts, () => 0.5));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it('with full jitter spreads the delay uniformly between 0 and the ceiling', () => {
    const full = { ...opts, jitter: 1 };
    expect(backoffDelay(3, full, () => 0)).toBe(4000);
    expect(backoffDelay(3, full, () => 0.5)).toBe(2000);
    expect(backoffDelay(3, full, () => 0.999999)).toBe(0);
  });

  it('draws jitter on every call', () => {
    let calls = 0;
    const random = (): number => (calls++ % 2 === 0 ? 0.1 : 0.9);
    const a = backoffDelay(2, { ...opts, jitter: 1 }, random);
    const b = backoffDelay(2, { ...opts, jitter: 1 }, random);
    expect(calls).toBe(2);
    expect(a).not.toBe(b);
  });

  it('partial jitter keeps at least (1 - jitter) of the delay', () => {
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(1, { ...opts, jitter: 0.25 }, Math.random);
      expect(d).toBeGreaterThanOrEqual(750);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});

describe('link state table', () => {
  const all = Object.values(LinkStates) as LinkState[];

  it('never allows a state to transition to itself', () => {
    for (const s of all) expect(canTransition(s, s)).toBe(false);
  });

  it('leaves closing only for closed, and closed only for connecting', () => {
    expect(all.filter((to) => canTransition('closing', to))).toEqual(['closed']);
    expect(all.filter((to) => canTransition('closed', to))).toEqual(['connecting']);
  });

  it('reaches open only from connecting', () => {
    expect(all.filter((from) => canTransition(from, 'open'))).toEqual(['connecting']);
  });
});
