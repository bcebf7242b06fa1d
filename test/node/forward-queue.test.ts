import { describe, expect, it } from 'vitest';
import { ForwardQueue, type ForwardCounters } from '../../src/node/redis/forward-queue.js';
import type { Queued } from '../../src/node/redis/publish-order.js';

/** A publish named by its header, `bytes` of payload. */
const q = (name: string, bytes = 0): Queued<undefined> => ({
  header: name,
  payload: new Uint8Array(bytes),
  origin: undefined,
});

function setup(maxForwardMessages = 100, maxForwardBytes = 1 << 20) {
  const counters: ForwardCounters = { dropped: 0, forwarded: 0, published: 0 };
  const queue = new ForwardQueue<undefined>({ maxForwardMessages, maxForwardBytes }, counters);
  return { queue, counters };
}

describe('the queue of publishes made while Redis is away', () => {
  it('drops the oldest past maxForwardMessages, and counts them', () => {
    const { queue, counters } = setup(3);
    for (const name of ['a', 'b', 'c', 'd', 'e']) queue.push(q(name));
    expect(queue.length).toBe(3);
    expect(counters.dropped).toBe(2);
    const sent: string[] = [];
    return queue
      .forward(async (item) => void sent.push(item.header))
      .then(() => expect(sent).toEqual(['c', 'd', 'e']));
  });

  it('drops the oldest past maxForwardBytes (payload and header), a lone oversized one too', () => {
    const { queue, counters } = setup(100, 25);
    queue.push(q('a', 10)); // 11 bytes
    queue.push(q('b', 10)); // 22
    queue.push(q('c', 10)); // 33: a goes
    expect(queue.length).toBe(2);
    expect(counters.dropped).toBe(1);
    queue.push(q('big', 40)); // alone above the bound: everything goes, itself included
    expect(queue.length).toBe(0);
    expect(counters.dropped).toBe(4);
    // The byte count went back to 0: the bound holds again from scratch.
    queue.push(q('d', 10));
    queue.push(q('e', 10));
    expect(queue.length).toBe(2);
  });

  it('forwards in order, in batches of 256, and counts them as forwarded and published', async () => {
    const { queue, counters } = setup(1000);
    for (let i = 0; i < 600; i++) queue.push(q(String(i)));
    const batches: number[] = [];
    let inFlight = 0;
    const sent: string[] = [];
    await queue.forward(async (item) => {
      if (inFlight++ === 0) batches.push(0);
      batches[batches.length - 1]!++;
      sent.push(item.header);
      await Promise.resolve();
      inFlight--;
    });
    expect(batches).toEqual([256, 256, 88]);
    expect(sent).toEqual(Array.from({ length: 600 }, (_, i) => String(i)));
    expect(queue.length).toBe(0);
    expect(counters).toEqual({ dropped: 0, forwarded: 600, published: 600 });
  });

  it('keeps what is left when a send fails, for the next recovery', async () => {
    const { queue } = setup();
    for (const name of ['a', 'b', 'c']) queue.push(q(name));
    await expect(
      queue.forward(async (item) => {
        if (item.header === 'b') throw new Error('Redis went away again');
      }),
    ).rejects.toThrow('Redis went away again');
    expect(queue.length).toBe(3);
    const sent: string[] = [];
    await queue.forward(async (item) => void sent.push(item.header));
    expect(sent).toEqual(['a', 'b', 'c']);
  });

  it('publishes queued during a batch go out after it; ones the bound dropped meanwhile are not counted twice', async () => {
    const { queue, counters } = setup(3);
    for (const name of ['a', 'b', 'c']) queue.push(q(name));
    const sent: string[] = [];
    let pushed = false;
    await queue.forward(async (item) => {
      sent.push(item.header);
      if (!pushed) {
        pushed = true;
        // Two more while the batch is out: the bound drops a and b, which went out anyway.
        queue.push(q('d'));
        queue.push(q('e'));
      }
    });
    expect(sent).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(counters.dropped).toBe(0);
    expect(counters.forwarded).toBe(5);
  });

  it('clear drops what is queued and counts it', () => {
    const { queue, counters } = setup();
    queue.push(q('a'));
    queue.push(q('b'));
    queue.clear();
    expect(queue.length).toBe(0);
    expect(counters.dropped).toBe(2);
  });
});
