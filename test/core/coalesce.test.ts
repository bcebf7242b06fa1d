import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../src/core/coalesce.js';
import { lengthFraming } from '../../src/core/framing/index.js';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

function decodeAll(chunks: readonly Uint8Array[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const decoder = lengthFraming().createDecoder((f) => frames.push(f.slice()));
  for (const c of chunks) decoder.push(c);
  return frames;
}

describe('Coalescer.pushFramed', () => {
  it('writes the frames of one tick as one length-prefixed buffer, in one microtask', async () => {
    const writes: Array<[Uint8Array, number]> = [];
    const out = new Coalescer((chunk, count) => writes.push([chunk.slice(), count]));
    for (let i = 1; i <= 100; i++) out.pushFramed(bytes(i, i));
    expect(out.bytes).toBe(100 * 4 + 5050);
    expect(writes).toHaveLength(0);
    await Promise.resolve();
    expect(writes).toHaveLength(1);
    expect(writes[0]![1]).toBe(100);
    expect(out.bytes).toBe(0);
    expect(decodeAll([writes[0]![0]])).toEqual(Array.from({ length: 100 }, (_, i) => bytes(i + 1, i + 1)));
  });

  it('keeps the order of framed and ready-made buffers, and sends a large frame alone', async () => {
    const writes: Uint8Array[] = [];
    const framing = lengthFraming();
    const out = new Coalescer((chunk) => writes.push(chunk.slice()), undefined, 1024);
    out.pushFramed(bytes(3, 1));
    out.push(framing.encode(bytes(3, 2)));
    out.pushFramed(bytes(3, 3));
    out.pushFramed(bytes(2_000, 4)); // over directBytes: what is pending goes first
    out.pushFramed(bytes(3, 5));
    await tick();
    expect(decodeAll(writes)).toEqual([bytes(3, 1), bytes(3, 2), bytes(3, 3), bytes(2_000, 4), bytes(3, 5)]);
    expect(writes.length).toBeGreaterThanOrEqual(4);
  });

  it('forgets what is pending on clear', async () => {
    const writes: Uint8Array[] = [];
    const out = new Coalescer((chunk) => writes.push(chunk));
    out.pushFramed(bytes(10, 1));
    out.clear();
    expect(out.bytes).toBe(0);
    await tick();
    expect(writes).toEqual([]);
  });
});
