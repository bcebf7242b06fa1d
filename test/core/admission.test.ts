import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { TokenBucketAdmission } from '../../src/core/protocol/admission.js';

/** A clock that only moves when told: the gate reads `now()` and sets no timer. */
function manualClock(): Clock & { t: number } {
  return {
    t: 0,
    now() {
      return this.t;
    },
    setTimeout: () => {
      throw new Error('the admission gate sets no timer');
    },
    clearTimeout: () => {},
  };
}

/** The most admissions, over all intervals, above `burst + rate × t`. */
function worstExcess(times: readonly number[], rate: number, burst: number): number {
  let worst = -Infinity;
  for (let i = 0; i < times.length; i++)
    for (let j = i; j < times.length; j++)
      worst = Math.max(worst, j - i + 1 - burst - (rate * (times[j]! - times[i]!)) / 1000);
  return worst;
}

describe('TokenBucketAdmission', () => {
  it('admits at most burst + rate × t in any interval, whatever the arrivals', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 50 }),
        (gaps, rate, burst) => {
          const clock = manualClock();
          const gate = new TokenBucketAdmission({ rate, burst, maxWait: 60_000 }, clock, () => 0.5);
          const admitted: number[] = [];
          for (const gap of gaps) {
            clock.t += gap;
            if (gate.admit() === 0) admitted.push(clock.t);
          }
          expect(worstExcess(admitted, rate, burst)).toBeLessThanOrEqual(1e-9);
        },
      ),
    );
  });

  it('gives a storm of HELLOs evenly spaced slots, and each client is admitted when it returns at its slot', () => {
    const clock = manualClock();
    const rate = 500;
    const gate = new TokenBucketAdmission({ rate, burst: 20, maxWait: 30_000 }, clock, () => 0.999);
    const waits: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const wait = gate.admit();
      if (wait > 0) waits.push(wait);
    }
    expect(waits).toHaveLength(980);
    expect(gate.refused).toBe(980);
    // One slot every 2 ms, in order, each with less than one slot of jitter.
    waits.forEach((w, k) => expect(w).toBe(Math.ceil(2 * (k + 1) + 0.999 * 2)));
    // Each comes back when told (in order of return): admitted the first time.
    for (const w of [...waits].sort((a, b) => a - b)) {
      clock.t = w;
      expect(gate.admit()).toBe(0);
    }
    expect(gate.refused).toBe(980);
    expect(gate.waiting).toBe(0);
  });

  it('makes a newcomer queue behind waiting slots even when a token is there', () => {
    const clock = manualClock();
    const gate = new TokenBucketAdmission({ rate: 10, burst: 1, maxWait: 30_000 }, clock, () => 0);
    expect(gate.admit()).toBe(0);
    expect(gate.admit()).toBe(100); // slot at 100 ms
    clock.t = 50;
    expect(gate.admit()).toBe(150); // slot at 200 ms: behind the first
    clock.t = 100;
    expect(gate.admit()).toBe(0); // the slot at 100 is due: its token is there
    expect(gate.waiting).toBe(1);
  });

  it('gives no slot beyond maxWait: the client is told to come back within [maxWait / 2, maxWait]', () => {
    const clock = manualClock();
    const gate = new TokenBucketAdmission({ rate: 1, burst: 1, maxWait: 10_000 }, clock, () => 0.5);
    expect(gate.admit()).toBe(0);
    for (let i = 1; i <= 10; i++) expect(gate.admit()).toBe(Math.ceil(i * 1000 + 500));
    expect(gate.admit()).toBe(7_500);
    expect(gate.waiting).toBe(10);
  });

  it('forgets a slot whose client did not come back, so later clients are not held behind it', () => {
    const clock = manualClock();
    const gate = new TokenBucketAdmission({ rate: 10, burst: 1, maxWait: 30_000 }, clock, () => 0);
    expect(gate.admit()).toBe(0);
    expect(gate.admit()).toBe(100);
    expect(gate.waiting).toBe(1);
    clock.t = 5_000;
    expect(gate.admit()).toBe(0);
    expect(gate.waiting).toBe(0);
  });

  it('refuses invalid options with a RangeError naming them', () => {
    expect(() => new TokenBucketAdmission({ rate: 0, burst: 1, maxWait: 1 })).toThrow(/admission\.rate/);
    expect(() => new TokenBucketAdmission({ rate: NaN, burst: 1, maxWait: 1 })).toThrow(/admission\.rate/);
    expect(() => new TokenBucketAdmission({ rate: 1, burst: 0, maxWait: 1 })).toThrow(/admission\.burst/);
    expect(() => new TokenBucketAdmission({ rate: 1, burst: 1, maxWait: 0 })).toThrow(/maxWait/);
  });
});
