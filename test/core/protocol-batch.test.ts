import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Coalescer, concat } from '../../src/core/coalesce.js';
import { isSocklineError } from '../../src/core/errors.js';
import { BATCH_TYPE, encodeBatch, splitBatch } from '../../src/core/protocol/batch.js';
import { Capabilities, decodeFrame, encodeFrame } from '../../src/core/protocol/frames.js';
import { fromHex, toHex } from '../fixtures/frames.js';

/** Fixed so that a failure replays; fast-check prints the seed and path of a failure too. */
const SEED = 0xba7c_0001;

/** Golden BATCH messages (docs/protocol.md §1.1), with the bodies they carry. */
const vectors: Array<{ name: string; hex: string; bodies: string[] }> = [
  {
    name: 'two DATA frames (the example of §1.1)',
    hex: '0f 00 04 10020161 04 10020262',
    bodies: ['10 02 01 61', '10 02 02 62'],
  },
  {
    name: 'a WELCOME with BATCH on, then an ACK',
    hex: '0f 00 16 0202 01 06 736573732d31 904e 8827 00 808040 64 b0ea01 03 30 00 2a',
    bodies: ['02 02 01 06 736573732d31 904e 8827 00 808040 64 b0ea01', '30 00 2a'],
  },
  {
    name: 'a body of 200 bytes (a 2-byte length)',
    hex: `0f 00 c801 1000${'ab'.repeat(198)}`,
    bodies: [`1000${'ab'.repeat(198)}`],
  },
];

const hex = (s: string): string => toHex(fromHex(s));

function expectProtocolError(input: string): string {
  try {
    splitBatch(fromHex(input));
  } catch (error) {
    expect(isSocklineError(error, 'ERR_PROTOCOL'), String(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`expected ${input} to be refused`);
}

describe('BATCH messages (docs/protocol.md §1.1)', () => {
  for (const v of vectors) {
    it(`encodes and splits the golden vector: ${v.name}`, () => {
      const bodies = v.bodies.map(fromHex);
      const bytes = bodies.reduce((n, b) => n + b.byteLength, 0);
      expect(toHex(encodeBatch(bodies, bytes))).toBe(hex(v.hex));
      expect(splitBatch(fromHex(v.hex)).map(toHex)).toEqual(v.bodies.map(hex));
    });
  }

  it('hands out views of the message, not copies', () => {
    const message = fromHex('0f 00 04 10020161 04 10020262');
    const [first] = splitBatch(message);
    expect(first!.buffer).toBe(message.buffer);
    expect(first!.byteOffset).toBe(3);
  });

  it('decodes the WELCOME flag and HELLO capability that turn batches on', () => {
    expect(Capabilities.BATCH).toBe(8);
    const welcome = decodeFrame(fromHex('02 02 02 06 736573732d31 904e 8827 00 808040 64 b0ea01 00 00'));
    expect(welcome).toMatchObject({ type: 'welcome', batch: true, resumed: false });
    expect(toHex(encodeFrame(welcome))).toBe(
      hex('02 02 02 06 736573732d31 904e 8827 00 808040 64 b0ea01 00 00'),
    );
    // Without the flag the field is absent.
    const plain = decodeFrame(fromHex('02 00 02 06 736573732d31 904e 8827 00 808040 64 b0ea01 00 00'));
    expect(plain).not.toHaveProperty('batch');
  });

  it('is not a frame: decodeFrame refuses type 0x0f', () => {
    expect(() => decodeFrame(fromHex('0f 00 04 10020161'))).toThrow(/unknown type 0x0f/);
  });

  it('refuses malformed batches before handing out any body', () => {
    expect(expectProtocolError('0f 00')).toMatch(/bodies at byte 2 are missing/);
    expect(expectProtocolError('0f 01 04 10020161')).toMatch(/flags at byte 1 must be 00/);
    expect(expectProtocolError('0f')).toMatch(/flags at byte 1 must be 00/);
    expect(expectProtocolError('0f 00 01 10')).toMatch(/body length at byte 2 is 1, below the minimum 2/);
    expect(expectProtocolError('0f 00 00')).toMatch(/below the minimum 2/);
    expect(expectProtocolError('0f 00 04 10020161 05 10020262')).toMatch(
      /declares 5 bytes but only 4 remain/,
    );
    expect(expectProtocolError('0f 00 80 00')).toMatch(/non-minimal varint/);
    expect(expectProtocolError(`0f 00 ${'ff'.repeat(20)}`)).toMatch(/longer than 8 bytes/);
    expect(expectProtocolError('10 00 04 10020161')).toMatch(/type at byte 0 is not BATCH/);
  });

  it('round-trips any list of bodies, and refuses every truncation of it', () => {
    const body = fc.uint8Array({ minLength: 2, maxLength: 300 });
    fc.assert(
      fc.property(fc.array(body, { minLength: 1, maxLength: 20 }), (bodies) => {
        const bytes = bodies.reduce((n, b) => n + b.byteLength, 0);
        const message = encodeBatch(bodies, bytes);
        expect(message[0]).toBe(BATCH_TYPE);
        expect(splitBatch(message).map(toHex)).toEqual(bodies.map(toHex));
        for (const cut of [message.length - 1, 3, 2]) {
          if (cut >= message.length) continue;
          // A cut inside an entry is refused; a cut exactly after an entry is a shorter batch.
          let result: Uint8Array[] | undefined;
          try {
            result = splitBatch(message.subarray(0, cut));
          } catch (error) {
            expect(isSocklineError(error, 'ERR_PROTOCOL')).toBe(true);
          }
          if (result !== undefined) {
            expect(result.length).toBeLessThan(bodies.length);
            result.forEach((b, i) => expect(toHex(b)).toBe(toHex(bodies[i]!)));
          }
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('Coalescer', () => {
  it('joins what is pushed in one tick into one write, in order, after the tick', async () => {
    const writes: Array<{ hex: string; count: number }> = [];
    const c = new Coalescer((chunk, count) => writes.push({ hex: toHex(chunk), count }));
    c.push(fromHex('01 02'));
    c.push(fromHex('03'));
    c.push(fromHex('04 05'));
    expect(writes).toEqual([]);
    expect(c.bytes).toBe(5);
    await Promise.resolve();
    expect(writes).toEqual([{ hex: '0102030405', count: 3 }]);
    expect(c.bytes).toBe(0);
    c.push(fromHex('06'));
    await Promise.resolve();
    expect(writes[1]).toEqual({ hex: '06', count: 1 });
  });

  it('writes a large buffer alone and unchanged, after what was pending', () => {
    const writes: Uint8Array[] = [];
    const c = new Coalescer((chunk) => writes.push(chunk), concat, 8);
    const big = new Uint8Array(8).fill(7);
    c.push(fromHex('01'));
    c.push(big);
    expect(writes.map(toHex)).toEqual(['01', '0707070707070707']);
    expect(writes[1]).toBe(big);
  });

  it('joins with the given function (a BATCH on WebSocket) and forgets what is cleared', async () => {
    const writes: string[] = [];
    const c = new Coalescer((chunk) => writes.push(toHex(chunk)), encodeBatch);
    c.push(fromHex('10020161'));
    c.push(fromHex('10020262'));
    c.flush();
    expect(writes).toEqual([hex('0f 00 04 10020161 04 10020262')]);
    c.push(fromHex('10020363'));
    c.clear();
    await Promise.resolve();
    expect(writes).toHaveLength(1);
  });
});
