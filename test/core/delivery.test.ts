import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { Delivery, type OutgoingMessage } from '../../src/core/protocol/endpoint/delivery.js';
import { decodeFrame } from '../../src/core/protocol/frames-decode.js';
import { limits } from './endpoint-helpers.js';

const message = (n: number): OutgoingMessage => ({
  topic: undefined,
  kind: 'text',
  payload: new TextEncoder().encode(String(n)),
  original: n,
});

function harness(): { delivery: Delivery; written: number[] } {
  const written: number[] = [];
  const delivery = new Delivery(limits, systemClock, {
    write: (frame) => {
      const f = decodeFrame(frame);
      if (f.type === 'data') written.push(f.seq!);
    },
    dropped: () => {},
  });
  return { delivery, written };
}

describe('Delivery', () => {
  it('numbers messages from 1 and writes them while attached', () => {
    const { delivery, written } = harness();
    delivery.attach(0);
    for (let n = 1; n <= 3; n++) delivery.enqueue(message(n), Infinity);
    expect(written).toEqual([1, 2, 3]);
    expect(delivery.outstanding).toBe(3);
    expect(delivery.acknowledged(2)).toBe(true);
    expect(delivery.outstanding).toBe(1);
  });

  it('on resume retransmits what the peer lacks before anything queued while detached', () => {
    const { delivery, written } = harness();
    delivery.attach(0);
    for (let n = 1; n <= 5; n++) delivery.enqueue(message(n), Infinity);
    delivery.detach();
    // Queued while the connection was down: no sequence numbers yet.
    for (let n = 6; n <= 8; n++) delivery.enqueue(message(n), Infinity);
    written.length = 0;
    delivery.attach(2); // the peer had received 1 and 2
    expect(written).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it('refuses an ack of a sequence number never sent', () => {
    const { delivery } = harness();
    delivery.attach(0);
    delivery.enqueue(message(1), Infinity);
    expect(delivery.acknowledged(2)).toBe(false);
    expect(delivery.acknowledged(1)).toBe(true);
  });

  it('accepts only the next sequence number: duplicates and gaps are told apart', () => {
    const { delivery } = harness();
    expect(delivery.accept(1)).toBe('deliver');
    expect(delivery.accept(1)).toBe('duplicate');
    expect(delivery.accept(3)).toBe('gap');
    expect(delivery.accept(2)).toBe('deliver');
    expect(delivery.received).toBe(2);
  });

  it('after the peer lost the session, sends unacknowledged messages again from sequence 1', () => {
    const { delivery, written } = harness();
    delivery.attach(0);
    for (let n = 1; n <= 4; n++) delivery.enqueue(message(n), Infinity);
    delivery.acknowledged(1);
    delivery.detach();
    expect(delivery.restart()).toBe(3);
    written.length = 0;
    delivery.attach(0);
    expect(written).toEqual([1, 2, 3]);
  });
});
