import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ProxyHeaderReader, type ProxyParsed } from '../../src/node/proxy-protocol.js';
import { badProxyHeaders, proxyVectors } from '../fixtures/proxy-headers.js';

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const TAIL = Uint8Array.of(0, 0, 0, 4, 1, 2, 3, 4); // what a client sends after the header

/** Feeds `chunks` to a fresh reader; returns the result and every byte it handed back. */
function feed(chunks: readonly Uint8Array[]): { parsed: ProxyParsed | undefined; after: number[] } {
  const reader = new ProxyHeaderReader();
  let parsed: ProxyParsed | undefined;
  const after: number[] = [];
  for (const chunk of chunks) {
    if (parsed !== undefined) {
      after.push(...chunk);
      continue;
    }
    parsed = reader.push(chunk);
    if (parsed !== undefined) after.push(...parsed.rest);
  }
  return { parsed, after };
}

function expectHeader(parsed: ProxyParsed | undefined, v: (typeof proxyVectors)[number]): void {
  expect(parsed).toBeDefined();
  const h = parsed!.header;
  expect(h.version).toBe(v.version);
  if (v.source === undefined) expect(h.command).toBe('local');
  else
    expect(h).toEqual({ version: v.version, command: 'proxy', source: v.source, destination: v.destination });
}

describe('the PROXY header reader', () => {
  for (const v of proxyVectors) {
    it(`reads ${v.name}: whole, byte by byte, and split at every index, handing back what follows`, () => {
      const wire = new Uint8Array([...bytes(v.hex), ...TAIL]);
      const header = bytes(v.hex).length;
      const whole = feed([wire]);
      expectHeader(whole.parsed, v);
      expect(whole.after).toEqual([...TAIL]);
      const single = feed([...wire].map((b) => Uint8Array.of(b)));
      expectHeader(single.parsed, v);
      expect(single.after).toEqual([...TAIL]);
      for (let at = 0; at <= wire.length; at++) {
        const split = feed([wire.subarray(0, at), wire.subarray(at)]);
        expectHeader(split.parsed, v);
        expect(split.after).toEqual([...TAIL]);
      }
      // Nothing is answered before the last byte of the header.
      expect(new ProxyHeaderReader().push(wire.subarray(0, header - 1))).toBeUndefined();
    });
  }

  for (const bad of badProxyHeaders) {
    it(`refuses ${bad.name} with ERR_PROTOCOL, byte by byte as at once`, () => {
      const wire = bytes(bad.hex);
      expect(() => new ProxyHeaderReader().push(wire)).toThrow(
        expect.objectContaining({ code: 'ERR_PROTOCOL' }),
      );
      const reader = new ProxyHeaderReader();
      expect(() => {
        for (const b of wire) reader.push(Uint8Array.of(b));
      }).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
    });
  }

  it('refuses bytes that cannot start a header at the first one, not at a deadline', () => {
    expect(() => new ProxyHeaderReader().push(Uint8Array.of(0x00))).toThrow(
      /does not start with a PROXY header/,
    );
    expect(() => new ProxyHeaderReader().push(bytes('50524f5859'))).not.toThrow(); // "PROXY", more to come
    expect(() => new ProxyHeaderReader().push(bytes('50524f5820'))).toThrow(); // "PROX "
  });

  it('skips a v2 block of 65535 bytes (TLVs) without keeping it', () => {
    const head = bytes(`0d0a0d0a000d0a515549540a2111ffff7f0000027f000001b1b94973`);
    const reader = new ProxyHeaderReader();
    expect(reader.push(head)).toBeUndefined();
    const tlvs = new Uint8Array(0xffff - 12);
    for (let at = 0; at < tlvs.length - 1; at += 4096)
      expect(reader.push(tlvs.subarray(at, Math.min(at + 4096, tlvs.length - 1)))).toBeUndefined();
    const parsed = reader.push(new Uint8Array([0, ...TAIL]));
    expect(parsed?.header).toMatchObject({ command: 'proxy', source: { address: '127.0.0.2', port: 45497 } });
    expect([...parsed!.rest]).toEqual([...TAIL]);
  });

  it('reads any valid v1 TCP4 or v2 TCP6 header under any chunking (property)', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const port = fc.integer({ min: 0, max: 65535 });
    fc.assert(
      fc.property(
        fc.tuple(octet, octet, octet, octet),
        port,
        port,
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 8 }),
        fc.boolean(),
        (ip, sport, dport, cuts, v2) => {
          const address = ip.join('.');
          const header = v2
            ? Uint8Array.of(
                ...bytes('0d0a0d0a000d0a515549540a2111000c'),
                ...ip,
                10,
                0,
                0,
                1,
                sport >> 8,
                sport & 0xff,
                dport >> 8,
                dport & 0xff,
              )
            : Uint8Array.from(Buffer.from(`PROXY TCP4 ${address} 10.0.0.1 ${sport} ${dport}\r\n`));
          const wire = new Uint8Array([...header, ...TAIL]);
          const chunks: Uint8Array[] = [];
          let at = 0;
          for (const cut of cuts) {
            chunks.push(wire.subarray(at, Math.min(wire.length, at + cut)));
            at = Math.min(wire.length, at + cut);
          }
          chunks.push(wire.subarray(at));
          const { parsed, after } = feed(chunks);
          expect(parsed?.header).toEqual({
            version: v2 ? 2 : 1,
            command: 'proxy',
            source: { address, port: sport },
            destination: { address: '10.0.0.1', port: dport },
          });
          expect(after).toEqual([...TAIL]);
        },
      ),
    );
  });
});
