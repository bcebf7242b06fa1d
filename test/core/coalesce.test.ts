import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../src/core/coalesce.js';
import { lengthFraming, type FrameWriter } from '../../src/core/framing/index.js';
import { isSocklineError } from '../../src/core/errors.js';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

function decodeAll(chunks: readonly Uint8Array[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const decoder = lengthFraming().createDecoder((f) => frames.push(f.slice()));
  for (const c of chunks) decoder.push(c);
  return frames;
}

const { writer } = lengthFraming({ maxFrameSize: 4096 });

describe('Coalescer.pushFrame', () => {
  it('writes the frames of one tick as one length-prefixed buffer, in one microtask', async () => {
    const writes: Array<[Uint8Array, number]> = [];
    const out = new Coalescer((chunk, count) => writes.push([chunk.slice(), count]));
    for (let i = 1; i <= 100; i++) out.pushFrame(bytes(i, i), writer);
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
    out.pushFrame(bytes(3, 1), writer);
    out.push(framing.encode(bytes(3, 2)));
    out.pushFrame(bytes(3, 3), writer);
    out.pushFrame(bytes(2_000, 4), writer); // over directBytes: what is pending goes first
    out.pushFrame(bytes(3, 5), writer);
    await tick();
    expect(decodeAll(writes)).toEqual([bytes(3, 1), bytes(3, 2), bytes(3, 3), bytes(2_000, 4), bytes(3, 5)]);
    expect(writes.length).toBeGreaterThanOrEqual(4);
  });

  it('writes a large payload whose buffer holds its header right before it as one view', async () => {
    const writes: Uint8Array[] = [];
    const out = new Coalescer((chunk) => writes.push(chunk), undefined, 1024);
    const buffer = new Uint8Array(4 + 2_000).fill(4);
    buffer.set([0, 0, 0x07, 0xd0]);
    const large = buffer.subarray(4);
    const other = new Uint8Array(4 + 2_000).fill(6).subarray(4); // not its header: copied
    out.pushFrame(bytes(3, 1), writer);
    out.pushFrame(large, writer);
    out.pushFrame(other, writer);
    await tick();
    expect(decodeAll(writes)).toEqual([bytes(3, 1), bytes(2_000, 4), bytes(2_000, 6)]);
    expect(writes).toHaveLength(3);
    expect(writes[1]!.buffer).toBe(buffer.buffer);
    expect(writes[1]!.byteLength).toBe(buffer.byteLength);
    expect(writes[2]!.buffer).not.toBe(other.buffer);
  });

  it('forgets what is pending on clear', async () => {
    const writes: Uint8Array[] = [];
    const out = new Coalescer((chunk) => writes.push(chunk));
    out.pushFrame(bytes(10, 1), writer);
    out.clear();
    expect(out.bytes).toBe(0);
    await tick();
    expect(writes).toEqual([]);
  });

  it('pushes nothing for a payload its framing refuses, and goes on with the next', async () => {
    const writes: Uint8Array[] = [];
    const out = new Coalescer((chunk) => writes.push(chunk.slice()));
    out.pushFrame(bytes(5, 1), writer);
    let error: unknown;
    try {
      out.pushFrame(bytes(4097, 2), writer);
    } catch (err) {
      error = err;
    }
    expect(isSocklineError(error, 'ERR_FRAME_TOO_LARGE')).toBe(true);
    expect(out.bytes).toBe(4 + 5);
    out.pushFrame(bytes(6, 3), writer);
    await tick();
    expect(writes).toHaveLength(1);
    expect(decodeAll(writes)).toEqual([bytes(5, 1), bytes(6, 3)]);
  });

  it("writes with any framing's writer: one buffer per tick, grown as frames come", async () => {
    // A framing of its own: a one-byte length, then the payload.
    const tiny: FrameWriter = {
      frameSize: (payload) => 1 + payload.length,
      writeFrame(payload, out, at) {
        out[at] = payload.length;
        out.set(payload, at + 1);
      },
    };
    const writes: Array<[Uint8Array, number]> = [];
    const out = new Coalescer((chunk, count) => writes.push([chunk.slice(), count]));
    const expected: number[] = [];
    for (let i = 0; i < 300; i++) {
      out.pushFrame(bytes(i % 7, i % 256), tiny);
      expected.push(i % 7, ...bytes(i % 7, i % 256));
    }
    await tick();
    expect(writes).toHaveLength(1);
    expect(writes[0]![1]).toBe(300);
    expect([...writes[0]![0]]).toEqual(expected);
  });
});
