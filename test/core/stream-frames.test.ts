import { describe, expect, it } from 'vitest';
import { isSocklineError } from '../../src/core/errors.js';
import { decodeFrame, isStreamFrame } from '../../src/core/protocol/frames-decode.js';
import {
  StreamFrameTypes,
  decodeStreamFrame,
  encodeChunk,
  encodeStreamFrame,
} from '../../src/core/protocol/frames-stream.js';
import { fromHex, toHex } from '../fixtures/frames.js';
import { streamVectors } from '../fixtures/protocol-vectors.js';

function protocolError(bytes: Uint8Array | string): string {
  const input = typeof bytes === 'string' ? fromHex(bytes) : bytes;
  try {
    decodeStreamFrame(input);
  } catch (error) {
    expect(isSocklineError(error, 'ERR_PROTOCOL'), String(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`decoded ${toHex(input)}`);
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/** The frames whose last field is bytes: anything after the fields belongs to it. */
const withPayload = (hex: string): boolean => {
  const bytes = fromHex(hex);
  return (
    bytes[0] === StreamFrameTypes.chunk || (bytes[0] === StreamFrameTypes.open && (bytes[1]! & 0x04) === 0)
  );
};

describe('stream frames (docs/protocol.md §13): golden vectors', () => {
  it('covers every stream frame type', () => {
    const types = new Set(streamVectors.map((v) => v.frame.type));
    expect([...types].sort()).toEqual(Object.keys(StreamFrameTypes).sort());
  });

  for (const vector of streamVectors) {
    const wire = fromHex(vector.hex);
    it(`decodes ${vector.name}`, () => {
      expect(isStreamFrame(wire)).toBe(true);
      expect(decodeStreamFrame(wire)).toEqual(vector.frame);
    });
    it(`encodes ${vector.name} to the golden bytes`, () => {
      expect(toHex(encodeStreamFrame(vector.frame))).toBe(toHex(wire));
    });
    if (withPayload(vector.hex)) {
      it(`refuses ${vector.name} cut inside its fields`, () => {
        const payload = (vector.frame as { payload: Uint8Array }).payload.length;
        for (let n = 0; n < wire.length - payload; n++) protocolError(wire.subarray(0, n));
      });
    } else {
      it(`refuses ${vector.name} with a trailing byte, and every truncation`, () => {
        expect(protocolError(concat(wire, fromHex('00')))).toMatch(/trailing byte/);
        for (let n = 0; n < wire.length; n++) protocolError(wire.subarray(0, n));
      });
    }
  }

  it('refuses every flag bit a type does not define, and a message stream with a payload kind', () => {
    const defined: Record<string, number> = { open: 0x35, chunk: 0x05, reset: 0x01, cancel: 0x01, credit: 0 };
    for (const vector of streamVectors) {
      const wire = fromHex(vector.hex);
      for (let bit = 0; bit < 8; bit++) {
        if ((defined[vector.frame.type]! & (1 << bit)) !== 0) continue;
        const bad = wire.slice();
        bad[1] = bad[1]! | (1 << bit);
        expect(protocolError(bad), `${vector.name}, bit ${bit}`).toMatch(/does not define/);
      }
    }
    expect(protocolError('40 24 02 03 80808001 02 1020')).toMatch(/does not define/);
    expect(protocolError('40 30 01 01')).toMatch(/reserved/);
  });

  it('refuses a seq or an id of 0, a header longer than the frame, a code over its limit', () => {
    expect(protocolError('41 00 00 01 61')).toMatch(/seq at byte 2 is 0/);
    expect(protocolError('41 00 01 00 61')).toMatch(/id at byte 3 is 0/);
    expect(protocolError('44 00 00 05')).toMatch(/id at byte 2 is 0/);
    expect(protocolError('40 04 01 01 05 09 1020')).toMatch(/declares 9 bytes but only 2 remain/);
    expect(protocolError(`43 00 01 01 ${'8202'} ${'61'.repeat(258)} 00`)).toMatch(/over maxNameBytes/);
  });

  it('is not a frame the session core decodes: decodeFrame refuses every stream type', () => {
    for (const vector of streamVectors)
      expect(() => decodeFrame(fromHex(vector.hex))).toThrow(/unknown type/);
  });

  it('writes a chunk in one buffer, its length prefix before it, as encodeStreamFrame does', () => {
    const payload = new Uint8Array(70_000).fill(7);
    const frame = encodeChunk(300, 7, 2, true, payload);
    expect(frame.byteLength).toBe(2 + 2 + 1 + 1 + 70_000);
    expect(frame).toEqual(encodeStreamFrame({ type: 'chunk', seq: 300, ack: 7, id: 2, fin: true, payload }));
    expect(decodeStreamFrame(frame)).toMatchObject({ seq: 300, ack: 7, id: 2, fin: true });
    // The buffer holds the frame's u32 length right before it, and nothing after it.
    expect(frame.byteOffset).toBe(4);
    expect(frame.buffer.byteLength).toBe(4 + frame.byteLength);
    expect([...new Uint8Array(frame.buffer, 0, 4)]).toEqual([0, 1, 0x11, 0x76]);
  });

  it('refuses to encode what the peer would refuse, naming the field', () => {
    expect(() => encodeStreamFrame({ type: 'credit', id: 0, limit: 1 })).toThrow(/credit frame: id must be/);
    expect(() => encodeStreamFrame({ type: 'chunk', seq: 0, id: 1, payload: new Uint8Array(0) })).toThrow(
      RangeError,
    );
    expect(() => encodeStreamFrame({ type: 'reset', seq: 1, id: 1, code: '\ud800', message: '' })).toThrow(
      TypeError,
    );
  });
});
