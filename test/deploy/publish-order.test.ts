import { describe, expect, it } from 'vitest';
import { PublishOrder, type Queued } from '../../src/node/redis/publish-order.js';

/** A publish named by its text, for reading the forward queue. */
const q = (name: string): Queued<undefined> => ({
  header: name,
  payload: new Uint8Array(0),
  origin: undefined,
});

function setup(): { order: PublishOrder<undefined>; forwarded: string[]; read: (id: string) => void } {
  let position = '0-0';
  const forwarded: string[] = [];
  const order = new PublishOrder<undefined>(
    (queued) => forwarded.push(queued.header),
    () => position,
  );
  return { order, forwarded, read: (id) => ((position = id), order.read()) };
}

describe('each publisher keeps its order across a Redis outage', () => {
  it('holds later publishes behind one in flight, and forwards them after it when it fails', () => {
    const { order, forwarded } = setup();
    const a = {};
    const first = order.sent(a, q('a1'));
    // Redis went away with a1 unanswered: a2 and a3 may not overtake it.
    expect(order.inDoubt(a)).toBe(true);
    order.hold(a, q('a2'));
    order.hold(a, q('a3'));
    expect(forwarded).toEqual([]);
    order.settle(a, first, undefined);
    expect(forwarded).toEqual(['a1', 'a2', 'a3']);
    // Still in doubt for this outage: a4 follows them through the bus too.
    expect(order.inDoubt(a)).toBe(true);
    order.hold(a, q('a4'));
    expect(forwarded).toEqual(['a1', 'a2', 'a3', 'a4']);
    order.recovered();
    expect(order.inDoubt(a)).toBe(false);
    expect(order.size).toBe(0);
  });

  it('forwards only what follows a publish Redis stored, and keeps that publisher in doubt until the reader read it back', () => {
    const { order, forwarded, read } = setup();
    const a = {};
    const stored = order.sent(a, q('a1'));
    order.hold(a, q('a2'));
    order.settle(a, stored, '100-0');
    expect(forwarded).toEqual(['a2']);
    order.recovered();
    // a1 is in Redis but not yet read back here: a later publish must not be delivered before it.
    const b = {};
    const other = order.sent(b, q('b1'));
    order.settle(b, other, '101-0');
    expect(order.inDoubt(b)).toBe(true);
    read('100-0');
    expect(order.inDoubt(b)).toBe(true);
    read('101-0');
    expect(order.inDoubt(b)).toBe(false);
    expect(order.size).toBe(0);
  });

  it('leaves a publisher with nothing on its way free to be delivered at once', () => {
    const { order, forwarded } = setup();
    const a = {};
    const b = {};
    const one = order.sent(a, q('a1'));
    expect(order.inDoubt(b)).toBe(false);
    order.settle(a, one, undefined);
    expect(forwarded).toEqual(['a1']);
    expect(order.inDoubt(b)).toBe(false);
  });

  it('forgets stored positions when Redis lost them', () => {
    const { order } = setup();
    const a = {};
    order.settle(a, order.sent(a, q('a1')), '900-0');
    expect(order.inDoubt(a)).toBe(true);
    order.reset();
    expect(order.inDoubt(a)).toBe(false);
    expect(order.size).toBe(0);
  });
});
