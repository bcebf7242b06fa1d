import { describe, expect, it } from 'vitest';
import { ByteSlab } from '../../src/core/byte-slab.js';
import { systemClock } from '../../src/core/clock.js';
import { Delivery } from '../../src/core/protocol/endpoint/delivery.js';
import { decodeFrame } from '../../src/core/protocol/frames-decode.js';
import { limits } from './endpoint-helpers.js';

describe('ByteSlab', () => {
  it('cuts consecutive, non-overlapping views from one buffer', () => {
    const slab = new ByteSlab();
    const a = slab.alloc(70);
    const b = slab.alloc(70);
    expect(a.buffer).toBe(b.buffer);
    expect(a.byteLength).toBe(70);
    expect(b.byteOffset).toBe(a.byteOffset + 70);
    a.fill(1);
    expect([...b].every((x) => x === 0)).toBe(true);
  });

  it('starts a new buffer when the current one is full, never reusing bytes handed out', () => {
    const slab = new ByteSlab();
    const first = slab.alloc(70);
    const second = slab.alloc(190); // 256-byte first slab: 186 bytes left
    expect(second.buffer).not.toBe(first.buffer);
    expect(second.byteOffset).toBe(0);
    expect(first.buffer.byteLength).toBe(256);
  });

  it('grows its slabs for a busy sender (twice what it cut so far), up to 4 KiB', () => {
    const slab = new ByteSlab();
    const sizes = new Set<number>();
    for (let i = 0; i < 1_000; i++) sizes.add(slab.alloc(70).buffer.byteLength);
    expect([...sizes]).toEqual([256, 1024, 4096]);
  });

  it('after a release, never cuts from the old buffer again', () => {
    const slab = new ByteSlab();
    const held = slab.alloc(10);
    slab.release();
    const next = slab.alloc(10);
    expect(next.buffer).not.toBe(held.buffer);
  });

  it('sizes the first slab after a release from what was cut before it', () => {
    const slab = new ByteSlab();
    for (let i = 0; i < 100; i++) slab.alloc(70); // 7,000 bytes
    slab.release();
    expect(slab.alloc(70).buffer.byteLength).toBe(4096);
    slab.release(); // 70 bytes cut since the last release
    expect(slab.alloc(70).buffer.byteLength).toBe(256);
  });

  it('gives a request over 1 KiB a buffer of its own', () => {
    const slab = new ByteSlab();
    const small = slab.alloc(10);
    const large = slab.alloc(1025);
    expect(large.buffer.byteLength).toBe(1025);
    expect(slab.alloc(10).buffer).toBe(small.buffer);
  });
});

describe('the frames of a session', () => {
  function sender(): { delivery: Delivery; frames: Uint8Array[] } {
    const frames: Uint8Array[] = [];
    const delivery = new Delivery(limits, systemClock, {
      write: (frame) => void frames.push(frame),
      dropped: () => {},
    });
    delivery.attach(0);
    return { delivery, frames };
  }
  const payload = new Uint8Array(64).fill(9);
  const send = (delivery: Delivery): void =>
    void delivery.enqueue({ topic: undefined, kind: 'binary', payload, original: undefined }, Infinity);

  it('share buffers while unacknowledged, and stay intact', () => {
    const { delivery, frames } = sender();
    for (let i = 0; i < 20; i++) send(delivery);
    expect(new Set(frames.map((f) => f.buffer)).size).toBeLessThan(5);
    frames.forEach((frame, i) => {
      const f = decodeFrame(frame);
      expect(f.type === 'data' && f.seq).toBe(i + 1);
      expect(f.type === 'data' && [...f.payload]).toEqual([...payload]);
    });
  });

  it('go into a new buffer once the peer acknowledged every frame of the old one', () => {
    const { delivery, frames } = sender();
    send(delivery);
    send(delivery);
    delivery.acknowledged(1); // one frame still held: same buffer
    send(delivery);
    expect(frames[2]!.buffer).toBe(frames[0]!.buffer);
    delivery.acknowledged(3); // none held
    send(delivery);
    expect(frames[3]!.buffer).not.toBe(frames[0]!.buffer);
    expect(decodeFrame(frames[2]!)).toMatchObject({ seq: 3 });
  });
});
