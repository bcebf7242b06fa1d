import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkBuffer, MAX_RETAINED_CHUNKS } from '../../src/core/framing/chunk-buffer.js';
import { createFraming, lengthFraming, linesFraming, noneFraming } from '../../src/core/framing/index.js';
import { createLengthDecoder } from '../../src/core/framing/length.js';
import type { FrameDecoder, Framing } from '../../src/core/framing/index.js';
import {
  blankLineGoldenFrames,
  fromHex,
  lengthGoldenFrames,
  lineGoldenFrames,
  toHex,
} from '../fixtures/frames.js';
import type { GoldenFrame } from '../fixtures/frames.js';
// Option errors in full: the sockline/verbose opt-in.
import '../../src/core/opt-in/verbose.js';

/** Fixed so that a failure replays; fast-check prints the seed and path of a failure too. */
const SEED = 0x50c4_1e;
const MiB = 1_048_576;
const utf8 = new TextEncoder();

/** A decoder that records each frame as hex (a copy: a view is only valid in the sink). */
function recorder(framing: Framing): { decoder: FrameDecoder; frames: string[] } {
  const frames: string[] = [];
  const decoder = framing.createDecoder((frame) => frames.push(toHex(frame)));
  return { decoder, frames };
}

function decode(framing: Framing, chunks: readonly Uint8Array[]): string[] {
  const { decoder, frames } = recorder(framing);
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  return frames;
}

function byteByByte(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

/** Cuts `bytes` into chunks of the given sizes, cycling through them. */
function chunkBy(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const size = sizes[k % sizes.length]!;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

/** The split-everywhere checks every golden frame goes through (STYLE habit 3). */
function describeGoldenFrames(framing: Framing, goldens: readonly GoldenFrame[]): void {
  for (const golden of goldens) {
    const wire = fromHex(golden.wire);
    const payload = golden.payload.replace(/\s+/g, '');

    it(`decodes ${golden.name} fed whole`, () => {
      expect(decode(framing, [wire])).toEqual([payload]);
    });

    it(`decodes ${golden.name} fed byte by byte`, () => {
      expect(decode(framing, byteByByte(wire))).toEqual([payload]);
    });

    it(`decodes ${golden.name} split at every index`, () => {
      for (let i = 0; i <= wire.length; i++) {
        expect(decode(framing, [wire.subarray(0, i), wire.subarray(i)]), `split at ${i}`).toEqual([payload]);
      }
    });

    if (golden.canonical) {
      it(`encodes ${golden.name} to the golden bytes`, () => {
        expect(toHex(framing.encode(fromHex(golden.payload)))).toBe(toHex(wire));
      });
    }
  }

  it('decodes all golden frames concatenated, split at every index and byte by byte', () => {
    const wire = concat(goldens.map((g) => fromHex(g.wire)));
    const payloads = goldens.map((g) => g.payload.replace(/\s+/g, ''));
    for (let i = 0; i <= wire.length; i++) {
      expect(decode(framing, [wire.subarray(0, i), wire.subarray(i)]), `split at ${i}`).toEqual(payloads);
    }
    expect(decode(framing, byteByByte(wire))).toEqual(payloads);
    expect(decode(framing, chunkBy(wire, [3, 1, 7, 2]))).toEqual(payloads);
  });
}

describe('length framing', () => {
  const framing = lengthFraming();

  describeGoldenFrames(framing, lengthGoldenFrames);

  it('decodes 10,000 small frames packed into one chunk, in order', () => {
    const wire = concat(Array.from({ length: 10_000 }, (_, i) => framing.encode(utf8.encode(String(i)))));
    const frames = decode(framing, [wire]);
    expect(frames).toHaveLength(10_000);
    expect(frames[9_999]).toBe(toHex(utf8.encode('9999')));
  });

  it('decodes 1,000,000 empty frames in one chunk without growing the stack', () => {
    let count = 0;
    const decoder = framing.createDecoder((frame) => {
      if (frame.length === 0) count++;
    });
    decoder.push(new Uint8Array(4 * 1_000_000));
    decoder.end();
    expect(count).toBe(1_000_000);
  });

  it('delivers a frame that lies in one chunk as a view of that chunk, without copying', () => {
    const chunk = concat([framing.encode(utf8.encode('first')), framing.encode(utf8.encode('second'))]);
    const views: Uint8Array[] = [];
    framing.createDecoder((frame) => views.push(frame)).push(chunk);
    expect(views.map((v) => v.buffer)).toEqual([chunk.buffer, chunk.buffer]);
    expect(views.map((v) => v.byteOffset)).toEqual([4, 13]);
  });

  it('delivers a view of the payload chunk when only the header came in an earlier chunk', () => {
    const payload = utf8.encode('payload');
    const views: Uint8Array[] = [];
    const decoder = framing.createDecoder((frame) => views.push(frame));
    decoder.push(fromHex('00000007'));
    decoder.push(payload);
    expect(views[0]!.buffer).toBe(payload.buffer);
  });

  it('accepts Node Buffers and delivers views into them', () => {
    const chunk = Buffer.from(framing.encode(utf8.encode('buf')));
    const views: Uint8Array[] = [];
    framing.createDecoder((frame) => views.push(frame)).push(chunk);
    expect(views[0]!.buffer).toBe(chunk.buffer);
    expect(toHex(views[0]!)).toBe(toHex(utf8.encode('buf')));
  });

  it('rejects a frame whose header exceeds maxFrameSize before buffering its payload', () => {
    const { decoder, frames } = recorder(framing);
    const header = fromHex('ffffffff');
    for (let i = 0; i < 3; i++) decoder.push(header.subarray(i, i + 1));
    expect(decoder.bufferedBytes).toBe(3);
    let error: unknown;
    try {
      decoder.push(header.subarray(3));
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' });
    expect(String((error as Error).message)).toMatch(/4294967295.*1048576/);
    expect(decoder.bufferedBytes).toBe(0);
    expect(frames).toEqual([]);
  });

  it('rejects an oversized header at once even when payload bytes follow it in the same chunk', () => {
    const decoder = framing.createDecoder(() => {});
    const chunk = new Uint8Array(4 + 65_536);
    chunk.set(fromHex('7fffffff'));
    expect(codeOf(() => decoder.push(chunk))).toBe('ERR_FRAME_TOO_LARGE');
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('refuses a declared length of 1 MiB + 1 and accepts exactly 1 MiB', () => {
    expect(codeOf(() => framing.createDecoder(() => {}).push(fromHex('00100001')))).toBe(
      'ERR_FRAME_TOO_LARGE',
    );
    const wire = framing.encode(new Uint8Array(MiB).fill(7));
    const sizes: number[] = [];
    const decoder = framing.createDecoder((frame) => sizes.push(frame.length));
    for (const chunk of chunkBy(wire, [65_536])) decoder.push(chunk);
    expect(sizes).toEqual([MiB]);
  });

  it('delivers the frames before an oversized header in the same chunk, then throws', () => {
    const { decoder, frames } = recorder(framing);
    const chunk = concat([framing.encode(fromHex('01')), fromHex('ffffffff')]);
    expect(codeOf(() => decoder.push(chunk))).toBe('ERR_FRAME_TOO_LARGE');
    expect(frames).toEqual(['01']);
  });

  it('stays unusable after a limit error until reset()', () => {
    const { decoder, frames } = recorder(lengthFraming({ maxFrameSize: 8 }));
    expect(codeOf(() => decoder.push(fromHex('00000009')))).toBe('ERR_FRAME_TOO_LARGE');
    expect(codeOf(() => decoder.push(fromHex('00000001 aa')))).toBe('ERR_FRAME_TOO_LARGE');
    decoder.reset();
    decoder.push(fromHex('00000001 aa'));
    expect(frames).toEqual(['aa']);
  });

  it('refuses to encode a payload over maxFrameSize', () => {
    const small = lengthFraming({ maxFrameSize: 4 });
    expect(toHex(small.encode(fromHex('01020304')))).toBe('0000000401020304');
    expect(codeOf(() => small.encode(new Uint8Array(5)))).toBe('ERR_FRAME_TOO_LARGE');
  });

  it('throws ERR_TRUNCATED when the stream ends mid-frame and delivers nothing partial', () => {
    for (const cut of ['000000', '00000005', '00000005 6865']) {
      const { decoder, frames } = recorder(framing);
      decoder.push(fromHex(cut));
      expect(
        codeOf(() => decoder.end()),
        cut,
      ).toBe('ERR_TRUNCATED');
      expect(frames).toEqual([]);
      expect(decoder.bufferedBytes).toBe(0);
      // end() clears: the same decoder reads a new stream.
      decoder.push(fromHex('00000001 61'));
      decoder.end();
      expect(frames).toEqual(['61']);
    }
  });

  it('ends a stream cut at a frame boundary without error', () => {
    const { decoder } = recorder(framing);
    decoder.push(fromHex('00000001 61'));
    expect(() => decoder.end()).not.toThrow();
  });

  it('drops a partial frame on reset()', () => {
    const { decoder, frames } = recorder(framing);
    decoder.push(fromHex('00000005 6865'));
    decoder.reset();
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(fromHex('00000001 61'));
    expect(frames).toEqual(['61']);
  });

  it('stops delivering the rest of a chunk when the sink calls reset()', () => {
    const frames: string[] = [];
    const decoder: FrameDecoder = framing.createDecoder((frame) => {
      frames.push(toHex(frame));
      decoder.reset();
    });
    decoder.push(fromHex('00000001 61 00000001 62'));
    expect(frames).toEqual(['61']);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('propagates an error thrown by the sink and stays unusable until reset()', () => {
    const boom = new Error('boom');
    const decoder = framing.createDecoder(() => {
      throw boom;
    });
    expect(() => decoder.push(fromHex('00000001 61 00000001 62'))).toThrow(boom);
    expect(() => decoder.push(fromHex('00000001 61'))).toThrow(boom);
    decoder.reset();
    expect(() => decoder.end()).not.toThrow();
  });

  it('decodes a 256 KiB frame fed one byte at a time', () => {
    const payload = Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 31) & 0xff);
    const wire = framing.encode(payload);
    const got: Uint8Array[] = [];
    const decoder = framing.createDecoder((frame) => got.push(frame.slice()));
    for (let i = 0; i < wire.length; i++) decoder.push(wire.subarray(i, i + 1));
    expect(got).toHaveLength(1);
    expect(got[0]!.every((b, i) => b === payload[i])).toBe(true);
  });

  it('keeps views handed out earlier intact while later bytes are compacted into the same store', () => {
    // One byte per push forces compaction; frames then come out as views of the store,
    // and later compactions append to it. Views kept without copying must not change.
    const payloads = Array.from({ length: 2_000 }, (_, i) => utf8.encode(`frame-${i}`));
    const wire = concat(payloads.map((p) => framing.encode(p)));
    const kept: Uint8Array[] = [];
    const decoder = framing.createDecoder((frame) => kept.push(frame));
    for (let i = 0; i < wire.length; i++) decoder.push(wire.subarray(i, i + 1));
    expect(kept.map(toHex)).toEqual(payloads.map(toHex));
  });

  it('hands a receiver with receiveRange the frames that lie whole in a chunk in place, the others as views', () => {
    const payloads = [utf8.encode('alpha'), utf8.encode(''), utf8.encode('gamma-gamma')];
    const wire = concat(payloads.map((p) => framing.encode(p)));
    // Whole in the first push: the first two frames; the third is cut across two pushes.
    const cut = wire.length - 3;
    const got: Array<{ how: 'range' | 'view'; hex: string }> = [];
    const decoder = createLengthDecoder(
      {
        receive: (frame) => got.push({ how: 'view', hex: toHex(frame) }),
        receiveRange: (chunk, start, end) =>
          got.push({ how: 'range', hex: toHex(chunk.subarray(start, end)) }),
      },
      1024,
    );
    decoder.push(wire.subarray(0, cut));
    decoder.push(wire.subarray(cut));
    expect(got).toEqual([
      { how: 'range', hex: toHex(payloads[0]!) },
      { how: 'range', hex: toHex(payloads[1]!) },
      { how: 'view', hex: toHex(payloads[2]!) },
    ]);
  });
});

describe('ChunkBuffer', () => {
  it('retains a bounded number of chunks when fed a large frame one byte at a time', () => {
    const buffer = new ChunkBuffer();
    let maxChunks = 0;
    for (let i = 0; i < 200_000; i++) {
      buffer.push(Uint8Array.of(i & 0xff));
      maxChunks = Math.max(maxChunks, buffer.chunkCount);
    }
    expect(maxChunks).toBeLessThanOrEqual(MAX_RETAINED_CHUNKS);
    expect(buffer.length).toBe(200_000);
    const all = buffer.consume(200_000);
    expect(all.every((b, i) => b === (i & 0xff))).toBe(true);
    expect(buffer.length).toBe(0);
    expect(buffer.chunkCount).toBe(0);
  });

  it('returns a view inside one chunk and a copy across chunks', () => {
    const a = fromHex('01020304');
    const b = fromHex('0506');
    const buffer = new ChunkBuffer();
    buffer.push(a);
    buffer.push(b);
    const view = buffer.consume(2);
    expect(view.buffer).toBe(a.buffer);
    const copy = buffer.consume(3);
    expect(toHex(copy)).toBe('030405');
    expect(copy.buffer).not.toBe(a.buffer);
    expect(buffer.length).toBe(1);
    expect(buffer.byteAt(0)).toBe(6);
  });

  it('peeks a u32 header that straddles chunks', () => {
    const buffer = new ChunkBuffer();
    for (const byte of fromHex('80 01 02 ff')) buffer.push(Uint8Array.of(byte));
    expect(buffer.peekUint32BE()).toBe(0x800102ff);
    expect(buffer.length).toBe(4);
  });

  it('skips across chunks', () => {
    const buffer = new ChunkBuffer();
    buffer.push(fromHex('0102'));
    buffer.push(fromHex('030405'));
    buffer.skip(3);
    expect(toHex(buffer.consume(2))).toBe('0405');
  });
});

describe('lines framing', () => {
  const framing = linesFraming();

  describeGoldenFrames(framing, lineGoldenFrames);

  it('decodes 10,000 lines packed into one chunk, in order', () => {
    const wire = utf8.encode(Array.from({ length: 10_000 }, (_, i) => `line ${i}\n`).join(''));
    const frames = decode(framing, [wire]);
    expect(frames).toHaveLength(10_000);
    expect(frames[9_999]).toBe(toHex(utf8.encode('line 9999')));
  });

  it('delivers a line that lies in one chunk as a view of that chunk', () => {
    const chunk = utf8.encode('one\r\ntwo\n');
    const views: Uint8Array[] = [];
    framing.createDecoder((frame) => views.push(frame)).push(chunk);
    expect(views.map((v) => v.buffer)).toEqual([chunk.buffer, chunk.buffer]);
    expect(views.map((v) => v.length)).toEqual([3, 3]);
  });

  it('strips only one carriage return before the newline', () => {
    expect(decode(framing, [fromHex('61 0d 0d 0a')])).toEqual(['610d']);
    expect(decode(framing, [fromHex('61 0d'), fromHex('0d'), fromHex('0a')])).toEqual(['610d']);
  });

  it('rejects a line that grows past maxFrameSize without a delimiter, never buffering past limit + chunk', () => {
    const limit = 1_000;
    const chunkSize = 7;
    const decoder = linesFraming({ maxFrameSize: limit }).createDecoder(() => {});
    const chunk = new Uint8Array(chunkSize).fill(0x61);
    let most = 0;
    let code: string | undefined;
    for (let i = 0; i < 10_000 && code === undefined; i++) {
      code = codeOf(() => decoder.push(chunk));
      most = Math.max(most, decoder.bufferedBytes);
    }
    expect(code).toBe('ERR_FRAME_TOO_LARGE');
    expect(most).toBeLessThanOrEqual(limit + chunkSize);
    expect(most).toBeGreaterThan(limit - chunkSize);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('rejects a complete line over maxFrameSize that arrives in one chunk', () => {
    const decoder = linesFraming({ maxFrameSize: 3 }).createDecoder(() => {});
    expect(codeOf(() => decoder.push(utf8.encode('abcd\n')))).toBe('ERR_FRAME_TOO_LARGE');
  });

  it('accepts a CRLF line of exactly maxFrameSize even when the CR arrives at the limit', () => {
    const { decoder, frames } = recorder(linesFraming({ maxFrameSize: 3 }));
    decoder.push(utf8.encode('abc'));
    decoder.push(utf8.encode('\r'));
    decoder.push(utf8.encode('\n'));
    expect(frames).toEqual([toHex(utf8.encode('abc'))]);
    expect(codeOf(() => decoder.push(utf8.encode('abcd\r')))).toBe('ERR_FRAME_TOO_LARGE');
  });

  it('throws ERR_TRUNCATED when the stream ends inside a line and delivers nothing partial', () => {
    const { decoder, frames } = recorder(framing);
    decoder.push(utf8.encode('complete\npart'));
    expect(codeOf(() => decoder.end())).toBe('ERR_TRUNCATED');
    expect(frames).toEqual([toHex(utf8.encode('complete'))]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it("splits on a custom one-byte delimiter '\\0' and keeps carriage returns", () => {
    const nul = linesFraming({ delimiter: '\0' });
    expect(decode(nul, [fromHex('61 0d 00 0a 00 00')])).toEqual(['610d', '0a', '']);
    expect(toHex(nul.encode(fromHex('610d')))).toBe('610d00');
  });

  it('accepts the delimiter as bytes', () => {
    const framingBytes = linesFraming({ delimiter: fromHex('ff fe') });
    expect(decode(framingBytes, byteByByte(fromHex('61 fffe 62 ff 63 fffe')))).toEqual(['61', '62ff63']);
  });

  it('finds the earliest match of a delimiter that overlaps itself, at every split', () => {
    // 'aab' in 'xaaab': a naive restart after the failed 'aa|a' would miss it.
    const overlapping = linesFraming({ delimiter: 'aab' });
    const wire = utf8.encode('xaaabyaab');
    for (let i = 0; i <= wire.length; i++) {
      expect(decode(overlapping, [wire.subarray(0, i), wire.subarray(i)]), `split at ${i}`).toEqual([
        toHex(utf8.encode('xa')),
        toHex(utf8.encode('y')),
      ]);
    }
    expect(decode(overlapping, byteByByte(wire))).toHaveLength(2);
  });

  it('refuses (ERR_BAD_PAYLOAD) to encode a payload that contains the delimiter or would lose a trailing CR', () => {
    expect(() => framing.encode(utf8.encode('a\nb'))).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_PAYLOAD' }),
    );
    expect(() => framing.encode(utf8.encode('a\r'))).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_PAYLOAD' }),
    );
    const blank = linesFraming({ delimiter: '\r\n\r\n' });
    expect(() => blank.encode(utf8.encode('a\r\n\r\nb'))).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_PAYLOAD' }),
    );
    // Not in the payload, but the payload's tail plus the delimiter would end the frame early.
    expect(() => blank.encode(utf8.encode('a\r\n'))).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_PAYLOAD' }),
    );
    expect(toHex(blank.encode(utf8.encode('a\r\n\r')))).toBe('610d0a0d0d0a0d0a');
  });

  it('refuses to encode a payload over maxFrameSize', () => {
    expect(codeOf(() => linesFraming({ maxFrameSize: 2 }).encode(utf8.encode('abc')))).toBe(
      'ERR_FRAME_TOO_LARGE',
    );
  });

  it('stops delivering the rest of a chunk when the sink calls reset()', () => {
    const frames: string[] = [];
    const decoder: FrameDecoder = framing.createDecoder((frame) => {
      frames.push(toHex(frame));
      decoder.reset();
    });
    decoder.push(utf8.encode('a\nb\nc'));
    expect(frames).toEqual(['61']);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('propagates an error thrown by the sink and stays unusable until reset()', () => {
    const boom = new Error('boom');
    const decoder = framing.createDecoder(() => {
      throw boom;
    });
    expect(() => decoder.push(utf8.encode('a\nb\n'))).toThrow(boom);
    expect(() => decoder.push(utf8.encode('c\n'))).toThrow(boom);
    decoder.reset();
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes a 100 KiB line fed one byte at a time', () => {
    const line = new Uint8Array(100 * 1024).fill(0x62);
    const wire = framing.encode(line);
    const sizes: number[] = [];
    const decoder = framing.createDecoder((frame) => sizes.push(frame.length));
    for (let i = 0; i < wire.length; i++) decoder.push(wire.subarray(i, i + 1));
    expect(sizes).toEqual([line.length]);
  });
});

describe("lines framing with the multi-byte delimiter '\\r\\n\\r\\n'", () => {
  describeGoldenFrames(linesFraming({ delimiter: '\r\n\r\n' }), blankLineGoldenFrames);

  it('rejects a block that grows past maxFrameSize, allowing a partial delimiter past the limit', () => {
    const blank = linesFraming({ delimiter: '\r\n\r\n', maxFrameSize: 4 });
    const { decoder, frames } = recorder(blank);
    decoder.push(utf8.encode('abcd\r\n\r'));
    expect(decoder.bufferedBytes).toBe(7);
    decoder.push(utf8.encode('\n'));
    expect(frames).toEqual([toHex(utf8.encode('abcd'))]);
    // Up to maxFrameSize + 3 bytes may be held (the line plus a partial delimiter); one more is refused.
    decoder.push(utf8.encode('abcde\r\n'));
    expect(decoder.bufferedBytes).toBe(7);
    expect(codeOf(() => decoder.push(utf8.encode('\r')))).toBe('ERR_FRAME_TOO_LARGE');
    expect(frames).toHaveLength(1);
  });
});

describe('none framing', () => {
  it('delivers every chunk as it is, empty ones included, and encodes by identity', () => {
    const framing = noneFraming();
    const seen: Uint8Array[] = [];
    const decoder = framing.createDecoder((frame) => seen.push(frame));
    const chunks = [fromHex('00000005'), new Uint8Array(0), utf8.encode('a\nb')];
    for (const chunk of chunks) decoder.push(chunk);
    expect(seen).toEqual(chunks);
    expect(seen[0]).toBe(chunks[0]);
    expect(decoder.bufferedBytes).toBe(0);
    expect(() => decoder.end()).not.toThrow();
    expect(framing.encode(chunks[2]!)).toBe(chunks[2]);
  });

  it('enforces a finite maxFrameSize on both sides when given one', () => {
    const framing = noneFraming({ maxFrameSize: 2 });
    expect(codeOf(() => framing.encode(new Uint8Array(3)))).toBe('ERR_FRAME_TOO_LARGE');
    expect(codeOf(() => framing.createDecoder(() => {}).push(new Uint8Array(3)))).toBe('ERR_FRAME_TOO_LARGE');
  });
});

describe('createFraming', () => {
  it('builds each framing from its name or an options object', () => {
    expect(createFraming('length').name).toBe('length');
    expect(createFraming('lines').name).toBe('lines');
    expect(createFraming('none').name).toBe('none');
    const nul = createFraming({ type: 'lines', delimiter: '\0', maxFrameSize: Infinity });
    expect(toHex(nul.encode(fromHex('61')))).toBe('6100');
    const small = createFraming({ type: 'length', maxFrameSize: 2 ** 32 - 1 });
    expect(small.name).toBe('length');
  });

  it('returns a ready Framing as it is', () => {
    const custom: Framing = {
      name: 'none',
      encode: (p) => p,
      createDecoder: (sink) => noneFraming().createDecoder(sink),
    };
    expect(createFraming(custom)).toBe(custom);
    const withWriter: Framing = {
      ...custom,
      writer: { frameSize: (p) => p.length, writeFrame: (p, o, at) => o.set(p, at) },
    };
    expect(createFraming(withWriter)).toBe(withWriter);
  });

  it('throws a TypeError naming framing.writer for a writer without frameSize() and writeFrame()', () => {
    const custom = lengthFraming();
    for (const writer of [null, 1, {}, { frameSize: () => 4 }, { writeFrame: () => {} }]) {
      expect(() => createFraming({ ...custom, writer } as never)).toThrow(TypeError);
      expect(() => createFraming({ ...custom, writer } as never)).toThrow('Invalid option framing.writer');
    }
  });

  it('throws a TypeError for an unknown framing name', () => {
    expect(() => createFraming('json' as never)).toThrow(TypeError);
    expect(() => createFraming({ type: 'csv' } as never)).toThrow(
      "Invalid option framing: expected 'length', 'lines' or 'none', got 'csv'",
    );
    expect(() => createFraming({ type: 'csv' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
    expect(() => createFraming(null as never)).toThrow(TypeError);
  });

  it.each([
    ['length', 0],
    ['length', -1],
    ['length', 1.5],
    ['length', Number.NaN],
    ['length', 2 ** 32],
    ['length', Infinity],
    ['lines', 0],
    ['lines', -Infinity],
    ['none', 0.5],
  ] as const)('throws a RangeError naming maxFrameSize for %s with %s', (type, maxFrameSize) => {
    expect(() => createFraming({ type, maxFrameSize })).toThrow(RangeError);
    expect(() => createFraming({ type, maxFrameSize })).toThrow(`maxFrameSize: ${String(maxFrameSize)}`);
  });

  it('accepts Infinity as maxFrameSize for lines and none', () => {
    expect(() => createFraming({ type: 'lines', maxFrameSize: Infinity })).not.toThrow();
    expect(() => createFraming({ type: 'none', maxFrameSize: Infinity })).not.toThrow();
  });

  it('throws a TypeError for a maxFrameSize that is not a number, or a delimiter on the wrong framing', () => {
    expect(() => createFraming({ type: 'length', maxFrameSize: '1024' as never })).toThrow(TypeError);
    expect(() => createFraming({ type: 'length', delimiter: '\n' })).toThrow(/delimiter/);
    expect(() => createFraming({ type: 'lines', delimiter: 10 as never })).toThrow(TypeError);
    expect(() => createFraming({ type: 'lines', delimiter: '' })).toThrow(RangeError);
  });
});

describe('framing properties', () => {
  const chunkSizes = fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 });

  it('length framing decodes exactly the encoded frames under any chunking', () => {
    const framing = lengthFraming();
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 }),
        chunkSizes,
        (payloads, sizes) => {
          const wire = concat(payloads.map((p) => framing.encode(p)));
          expect(decode(framing, chunkBy(wire, sizes))).toEqual(payloads.map(toHex));
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('lines framing decodes exactly the encoded lines under any chunking', () => {
    const framing = linesFraming();
    // No '\n' inside, and no trailing '\r' (the receiver would strip it): encode refuses both.
    const line = fc
      .uint8Array({ maxLength: 200 })
      .map((bytes) => bytes.map((b) => (b === 0x0a ? 0x0d : b)))
      .filter((bytes) => bytes[bytes.length - 1] !== 0x0d);
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), chunkSizes, (payloads, sizes) => {
        const wire = concat(payloads.map((p) => framing.encode(p)));
        expect(decode(framing, chunkBy(wire, sizes))).toEqual(payloads.map(toHex));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('a multi-byte delimiter decodes exactly the encoded blocks under any chunking', () => {
    const framing = linesFraming({ delimiter: '\r\n\r\n' });
    // Built from the delimiter's own bytes, so near-misses and overlaps are common.
    const block = fc
      .array(fc.constantFrom(0x0d, 0x0a, 0x61), { maxLength: 12 })
      .map((b) => Uint8Array.from(b));
    fc.assert(
      fc.property(fc.array(block, { maxLength: 20 }), chunkSizes, (blocks, sizes) => {
        const encodable = blocks.filter((b) => canEncode(framing, b));
        const wire = concat(encodable.map((b) => framing.encode(b)));
        expect(decode(framing, chunkBy(wire, sizes))).toEqual(encodable.map(toHex));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('splits any byte stream like a naive whole-buffer scan, for self-overlapping delimiters too', () => {
    const delimiters = ['aab', 'abab', '\r\n\r\n', 'a'];
    fc.assert(
      fc.property(
        fc.constantFrom(...delimiters),
        fc.array(fc.constantFrom(0x61, 0x62, 0x0d, 0x0a), { maxLength: 120 }),
        chunkSizes,
        (delimiterText, stream, sizes) => {
          const delimiter = utf8.encode(delimiterText);
          const bytes = Uint8Array.from(stream);
          const expected: string[] = [];
          let start = 0;
          for (let i = 0; i + delimiter.length <= bytes.length;) {
            if (delimiter.every((d, k) => bytes[i + k] === d)) {
              expected.push(toHex(bytes.subarray(start, i)));
              i += delimiter.length;
              start = i;
            } else {
              i++;
            }
          }
          const { decoder, frames } = recorder(linesFraming({ delimiter, maxFrameSize: Infinity }));
          for (const chunk of chunkBy(bytes, sizes)) decoder.push(chunk);
          expect(frames).toEqual(expected);
          expect(decoder.bufferedBytes).toBe(bytes.length - start);
        },
      ),
      { seed: SEED, numRuns: 1_000 },
    );
  });

  it('random bytes into the length decoder only ever throw a SocklineError with an ERR_ code', () => {
    const maxFrameSize = 512;
    const framing = lengthFraming({ maxFrameSize });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2_000 }), chunkSizes, (bytes, sizes) => {
        const decoder = framing.createDecoder(() => {});
        for (const chunk of chunkBy(bytes, sizes)) {
          try {
            decoder.push(chunk);
          } catch (err) {
            expect(err).toMatchObject({ name: 'SocklineError', code: 'ERR_FRAME_TOO_LARGE' });
            return;
          }
          // Never more than one incomplete frame is held.
          expect(decoder.bufferedBytes).toBeLessThan(4 + maxFrameSize);
        }
        const code = codeOf(() => decoder.end());
        expect(code === undefined || code === 'ERR_TRUNCATED').toBe(true);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

function canEncode(framing: Framing, payload: Uint8Array): boolean {
  try {
    framing.encode(payload);
    return true;
  } catch {
    return false;
  }
}
