import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/node/index.js';
import { ErrorCodes, SocklineError } from '../../src/core/errors.js';
import type { FrameDecoder, FrameSink, FrameWriter, Framing } from '../../src/core/framing/index.js';
import type { LinkMessage } from '../../src/core/link/link.js';
import { tcpServer } from '../support/scripted-servers.js';

/**
 * An application's own framing in raw mode over a real TCP socket: a u16 big-endian length
 * prefix. The link writes it with the framing's writer when the framing has one, with
 * `encode` when not; the peer sees the same bytes either way.
 */

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const MAX = 0xffff;

function u16Framing(withWriter: boolean): { framing: Framing; written: () => number } {
  let written = 0;
  const frameSize = (payload: Uint8Array): number => {
    if (payload.length > MAX)
      throw new SocklineError(ErrorCodes.FRAME_TOO_LARGE, `${payload.length} > ${MAX}`);
    return 2 + payload.length;
  };
  const writer: FrameWriter = {
    frameSize,
    writeFrame(payload, out, at) {
      written++;
      out[at] = payload.length >>> 8;
      out[at + 1] = payload.length;
      out.set(payload, at + 2);
    },
  };
  const framing: Framing = {
    name: 'length',
    maxFrameSize: MAX,
    encode(payload) {
      const out = new Uint8Array(frameSize(payload));
      out[0] = payload.length >>> 8;
      out[1] = payload.length;
      out.set(payload, 2);
      return out;
    },
    createDecoder: (sink) => new U16Decoder(sink),
    ...(withWriter && { writer }),
  };
  return { framing, written: () => written };
}

/** A plain decoder of the u16 prefix: bytes held in an array, one frame at a time. */
class U16Decoder implements FrameDecoder {
  readonly #held: number[] = [];
  readonly #sink: FrameSink;
  constructor(sink: FrameSink) {
    this.#sink = sink;
  }
  get bufferedBytes(): number {
    return this.#held.length;
  }
  push(chunk: Uint8Array): void {
    this.#held.push(...chunk);
    while (this.#held.length >= 2) {
      const size = (this.#held[0]! << 8) | this.#held[1]!;
      if (this.#held.length < 2 + size) return;
      this.#sink(Uint8Array.from(this.#held.splice(0, 2 + size).slice(2)));
    }
  }
  end(): void {
    this.#held.length = 0;
  }
  reset(): void {
    this.#held.length = 0;
  }
}

describe('a framing of its own over tcp://', () => {
  for (const withWriter of [true, false]) {
    it(`round-trips through an echo ${withWriter ? 'written in place by its writer' : 'with encode() (no writer)'}, the same bytes on the wire`, async () => {
      const wire: Buffer[] = [];
      const server = await tcpServer((socket) => {
        socket.on('data', (d) => wire.push(d));
        socket.pipe(socket);
      });
      closers.push(() => server.close());
      const { framing, written } = u16Framing(withWriter);
      const link = connect(server.url, { protocol: 'raw', framing, text: false });
      closers.push(() => link.close());
      const got: LinkMessage[] = [];
      link.on('message', (m) => got.push(m));
      await link.opened;
      const sent = Array.from({ length: 200 }, (_, i) => new Uint8Array(i).fill(i));
      for (const m of sent) link.send(m);
      await expect.poll(() => got.length).toBe(200);
      expect(got.map((m) => Array.from(m as Uint8Array))).toEqual(sent.map((m) => Array.from(m)));
      expect(new Uint8Array(Buffer.concat(wire))).toEqual(
        Uint8Array.from(sent.flatMap((m) => [m.length >>> 8, m.length & 0xff, ...m])),
      );
      expect(written()).toBe(withWriter ? 200 : 0);
    });
  }
});
