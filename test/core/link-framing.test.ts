import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lengthFraming, type Framing } from '../../src/core/framing/index.js';
import { bytes, concat, frame, harness, settle } from './link-helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** `lengthFraming()` with its calls counted, with or without its writer. */
function counted(options: { writer: boolean; maxFrameSize?: number }): {
  framing: Framing;
  calls: { encode: number; frameSize: number; writeFrame: number };
} {
  const inner = lengthFraming({ maxFrameSize: options.maxFrameSize });
  const calls = { encode: 0, frameSize: 0, writeFrame: 0 };
  const framing: Framing = {
    name: 'length',
    maxFrameSize: inner.maxFrameSize,
    encode: (payload) => (calls.encode++, inner.encode(payload)),
    createDecoder: (sink) => inner.createDecoder(sink),
    ...(options.writer && {
      writer: {
        frameSize: (payload) => (calls.frameSize++, inner.writer.frameSize(payload)),
        writeFrame: (payload, out, at) => (calls.writeFrame++, inner.writer.writeFrame(payload, out, at)),
      },
    }),
  };
  return { framing, calls };
}

const messages = Array.from({ length: 100 }, (_, i) => (i % 2 ? `text ${i}` : bytes(`bytes ${i}`)));

describe('Link: frames on a stream', () => {
  it('writes what is sent in one tick as one transport write, text and bytes alike', async () => {
    const h = harness();
    await settle();
    for (const m of messages) expect(h.link.send(m)).toBe('sent');
    await settle();
    expect(h.received[0]).toHaveLength(1);
    expect(concat(h.received[0]!)).toEqual(concat(messages.map(frame)));
    await h.link.close();
  });

  for (const writer of [true, false]) {
    it(`frames with ${writer ? 'the writer its framing offers' : 'encode() when the framing has no writer'}, in one write per tick either way`, async () => {
      const { framing, calls } = counted({ writer });
      const h = harness({ framing });
      await settle();
      for (const m of messages) h.link.send(m);
      await settle();
      expect(h.received[0]).toHaveLength(1);
      expect(concat(h.received[0]!)).toEqual(concat(messages.map(frame)));
      expect(calls).toEqual(
        writer
          ? { encode: 0, frameSize: 100, writeFrame: 100 }
          : { encode: 100, frameSize: 0, writeFrame: 0 },
      );
      await h.link.close();
    });
  }

  it('frames the outbox in place when it opens, dropping as invalid what the framing refuses', async () => {
    const { framing, calls } = counted({ writer: true, maxFrameSize: 8 });
    const h = harness({ framing });
    const errors: string[] = [];
    const drops: string[] = [];
    h.link.on('error', (e) => errors.push(e.code));
    h.link.on('drop', (m, reason) => drops.push(`${m.length}:${reason}`));
    for (const m of ['one', 'far too long', bytes('two')]) expect(h.link.send(m)).toBe('queued');
    await settle();
    expect(errors).toEqual(['ERR_FRAME_TOO_LARGE']);
    expect(drops).toEqual(['12:invalid']);
    expect(h.received[0]).toHaveLength(1);
    expect(concat(h.received[0]!)).toEqual(concat([frame('one'), frame('two')]));
    expect(calls.encode).toBe(0);
    await h.link.close();
  });

  it('refuses a message over maxFrameSize from send(), and writes nothing of it', async () => {
    const h = harness({ framing: lengthFraming({ maxFrameSize: 8 }) });
    await settle();
    h.link.send(bytes('before'));
    expect(() => h.link.send(new Uint8Array(9))).toThrowError(
      expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }),
    );
    expect(() => h.link.send('123456789')).toThrowError(
      expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }),
    );
    h.link.send('after');
    await settle();
    expect(h.received[0]).toHaveLength(1);
    expect(concat(h.received[0]!)).toEqual(concat([frame('before'), frame('after')]));
    await h.link.close();
  });
});
