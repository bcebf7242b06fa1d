import { describe, expect, it } from 'vitest';
import { Outbox, type OverflowPolicy } from '../../src/core/link/outbox.js';

const item = (message: string, size = message.length, expiresAt = Infinity) => ({ message, size, expiresAt });
const make = (overflow: OverflowPolicy, maxMessages = 3, maxBytes = 100) =>
  new Outbox<string>({ maxMessages, maxBytes, overflow });

describe('Outbox', () => {
  it('is FIFO and tracks count and bytes', () => {
    const q = make('reject');
    q.push(item('a'));
    q.push(item('bb'));
    expect(q.length).toBe(2);
    expect(q.bytes).toBe(3);
    expect(q.shift()?.message).toBe('a');
    expect(q.shift()?.message).toBe('bb');
    expect(q.shift()).toBeUndefined();
    expect(q.bytes).toBe(0);
  });

  it('rejects with ERR_QUEUE_FULL at maxMessages and keeps what it had', () => {
    const q = make('reject');
    for (const m of ['a', 'b', 'c']) q.push(item(m));
    expect(() => q.push(item('d'))).toThrowError(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
    expect(q.clear().map((i) => i.message)).toEqual(['a', 'b', 'c']);
  });

  it('rejects at maxBytes', () => {
    const q = make('reject', 100, 10);
    q.push(item('x', 8));
    expect(() => q.push(item('y', 3))).toThrowError(/outbox is full/);
    expect(q.push(item('z', 2))).toEqual([]);
  });

  it('drop-oldest evicts from the head until the new message fits, and returns what it evicted', () => {
    const q = make('drop-oldest', 10, 10);
    q.push(item('a', 4));
    q.push(item('b', 4));
    const dropped = q.push(item('c', 7));
    expect(dropped.map((i) => i.message)).toEqual(['a', 'b']);
    expect(q.clear().map((i) => i.message)).toEqual(['c']);
    q.push(item('d', 4));
    q.push(item('e', 4));
    expect(q.push(item('f', 6)).map((i) => i.message)).toEqual(['d']);
    expect(q.clear().map((i) => i.message)).toEqual(['e', 'f']);
  });

  it('drop-newest refuses the new message and keeps the queue', () => {
    const q = make('drop-newest', 1);
    q.push(item('a'));
    const newest = item('b');
    expect(q.push(newest)).toEqual([newest]);
    expect(q.length).toBe(1);
  });

  it('refuses a message larger than maxBytes under every policy', () => {
    for (const policy of ['drop-oldest', 'drop-newest'] as const) {
      const q = make(policy, 10, 5);
      q.push(item('a', 1));
      const big = item('big', 6);
      expect(q.push(big)).toEqual([big]);
      expect(q.length).toBe(1);
    }
    expect(() => make('reject', 10, 5).push(item('big', 6))).toThrowError(/outbox is full/);
  });

  it('expires by time, keeps the order of the rest, and reports the next expiry', () => {
    const q = make('reject', 10);
    q.push(item('a', 1, 100));
    q.push(item('b', 1, Infinity));
    q.push(item('c', 1, 50));
    expect(q.nextExpiry).toBe(50);
    expect(q.expire(49)).toEqual([]);
    expect(q.expire(100).map((i) => i.message)).toEqual(['a', 'c']);
    expect(q.nextExpiry).toBe(Infinity);
    expect(q.clear().map((i) => i.message)).toEqual(['b']);
  });

  it('stays O(1) amortised and bounded over many push/shift cycles', () => {
    const q = make('reject', 10, 1000);
    const out: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      q.push(item(String(i), 1));
      if (i % 2 === 1) out.push(q.shift()!.message, q.shift()!.message);
    }
    expect(q.length).toBe(0);
    expect(out.length).toBe(100_000);
    expect(out.every((m, i) => m === String(i))).toBe(true);
  });
});
