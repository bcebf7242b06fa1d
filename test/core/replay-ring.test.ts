import { describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '../../src/core/protocol/endpoint/sequenced.js';
import { RING_MIN, ReplayRing } from '../../src/core/protocol/endpoint/replay-ring.js';

const message = (n: number): OutgoingMessage => ({
  topic: undefined,
  kind: 'binary',
  payload: new Uint8Array(n),
  original: n,
});

/** Every entry as [seq, frame size, original], oldest first. */
function entries(ring: ReplayRing): Array<[number, number, unknown]> {
  const out: Array<[number, number, unknown]> = [];
  for (let i = 0; i < ring.length; i++)
    out.push([ring.seq(i), ring.frame(i).byteLength, ring.message(i).original]);
  return out;
}

describe('ReplayRing', () => {
  it('gives entries back oldest first and counts the bytes of their frames', () => {
    const ring = new ReplayRing();
    ring.push(1, new Uint8Array(10), message(1));
    ring.push(2, new Uint8Array(20), message(2));
    expect(entries(ring)).toEqual([
      [1, 10, 1],
      [2, 20, 2],
    ]);
    expect(ring.bytes).toBe(30);
    expect(ring.fits(3, 31)).toBe(true);
    expect(ring.fits(2, 31)).toBe(false);
    expect(ring.fits(3, 30)).toBe(false);
    expect(ring.holds(0)).toBe(false);
    expect(ring.shiftUpTo(0)).toBeUndefined();
    expect(ring.holds(1)).toBe(true);
    expect(ring.shiftUpTo(5)?.original).toBe(1);
    expect(ring.length).toBe(1);
    expect(ring.bytes).toBe(20);
    expect(ring.shiftUpTo(1)).toBeUndefined();
    expect(ring.holds(2)).toBe(true);
  });

  it('keeps the order when it grows while its entries wrap around the end', () => {
    const ring = new ReplayRing(4);
    let seq = 1;
    let first = 1;
    // Wrap the head past the end several times, then grow from a wrapped state.
    for (let round = 0; round < 10; round++) {
      ring.push(seq, new Uint8Array(seq), message(seq));
      seq++;
      ring.push(seq, new Uint8Array(seq), message(seq));
      seq++;
      expect(ring.shiftUpTo(seq)?.original).toBe(first++);
    }
    for (let i = 0; i < 40; i++, seq++) ring.push(seq, new Uint8Array(seq), message(seq));
    const held = entries(ring);
    expect(held.map(([s]) => s)).toEqual(Array.from({ length: seq - first }, (_, i) => first + i));
    expect(held.every(([s, size, original]) => size === s && original === s)).toBe(true);
    expect(ring.bytes).toBe(held.reduce((n, [, size]) => n + size, 0));
    while (ring.length > 0) expect(ring.shiftUpTo(seq)?.original).toBe(first++);
    expect(ring.holds(seq)).toBe(false);
    expect(ring.bytes).toBe(0);
  });

  it('says a ring that grew past its first size is worth dropping once empty', () => {
    const ring = new ReplayRing();
    for (let i = 1; i <= RING_MIN; i++) ring.push(i, new Uint8Array(1), message(i));
    expect(ring.shrinks).toBe(false);
    ring.push(RING_MIN + 1, new Uint8Array(1), message(0));
    expect(ring.shrinks).toBe(true);
  });
});
