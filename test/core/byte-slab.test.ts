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

  it('after a release, cuts the next views from the rest of the buffer, never from what it handed out', () => {
    const slab = new ByteSlab();
    const held = slab.alloc(70).fill(1);
    slab.release();
    const next = slab.alloc(70);
    expect(next.buffer).toBe(held.buffer);
    expect(next.byteOffset).toBe(held.byteOffset + 70);
    expect([...next].every((x) => x === 0)).toBe(true);
    expect([...held].every((x) => x === 1)).toBe(true);
  });

  it('lets go of its buffer on trim only when nothing was cut since the last release', () => {
    const slab = new ByteSlab();
    const first = slab.alloc(70);
    slab.trim(); // a view cut since the last release (none yet): the buffer stays
    expect(slab.alloc(70).buffer).toBe(first.buffer);
    slab.release();
    slab.trim(); // idle since the release: let go
    const next = slab.alloc(70);
    expect(next.buffer).not.toBe(first.buffer);
    expect(next.byteOffset).toBe(0);
  });

  it('sizes the first slab after a release and a trim from what was cut before the release', () => {
    const slab = new ByteSlab();
    for (let i = 0; i < 100; i++) slab.alloc(70); // 7,000 bytes
    slab.release();
    slab.trim();
    expect(slab.alloc(70).buffer.byteLength).toBe(4096);
    slab.release(); // 70 bytes cut since the last release
    slab.trim();
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

  it('take the rest of the buffer once every frame is acknowledged, and a new one after an idle tick', () => {
    const { delivery, frames } = sender();
    send(delivery);
    delivery.acknowledged(1); // none held: the part never handed out still serves
    send(delivery);
    expect(frames[1]!.buffer).toBe(frames[0]!.buffer);
    expect(frames[1]!.byteOffset).toBe(frames[0]!.byteOffset + frames[0]!.byteLength);
    delivery.acknowledged(2);
    delivery.tick(0); // nothing sent since the last frame was acknowledged: the slab is let go
    send(delivery);
    expect(frames[2]!.buffer).not.toBe(frames[0]!.buffer);
    expect(frames[2]!.byteOffset).toBe(0);
    expect(decodeFrame(frames[1]!)).toMatchObject({ seq: 2 });
    expect(decodeFrame(frames[2]!)).toMatchObject({ seq: 3 });
  });

  it('let go of their slab when the connection ends with every frame acknowledged', () => {
    const { delivery, frames } = sender();
    send(delivery);
    delivery.acknowledged(1);
    delivery.detach(); // waiting for a resume: no ticks would trim it
    delivery.attach(1);
    send(delivery);
    expect(frames).toHaveLength(2);
    expect(frames[1]!.buffer).not.toBe(frames[0]!.buffer);
    expect(decodeFrame(frames[1]!)).toMatchObject({ seq: 2 });
  });
});
