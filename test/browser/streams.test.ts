import { describe, expect, inject, it } from 'vitest';
import { connect as connectCompactOrFull } from '../../src/browser/index.js';
import { connect, streams } from '../../src/browser/streams.js';
import type { IncomingStream } from '../../src/core/streams/types.js';

/** `size` bytes of a counter, in 64 KiB pieces: the same bytes every time. */
function* pieces(size: number): Generator<Uint8Array> {
  for (let at = 0; at < size; at += 65_536) {
    const n = Math.min(65_536, size - at);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (at + i) % 251;
    yield out;
  }
}

describe('streams in Chromium over the native WebSocket', () => {
  it('connect from sockline/streams is the full client; connect from sockline takes streams too once they are imported', async () => {
    for (const open of [connect, connectCompactOrFull]) {
      const client = open(inject('hubWsUrl'), { streams });
      const big = new Uint8Array(2 * 1024 * 1024).fill(7);
      const back = (await client.request('echo', big)) as Uint8Array;
      expect(back.byteLength).toBe(big.byteLength);
      expect(back.every((b) => b === 7)).toBe(true);
      await client.close();
    }
  });

  it('uploads a stream and reads it back from the server, every byte in order', async () => {
    const client = connect(inject('hubWsUrl'), { streams });
    const size = 8 * 1024 * 1024 + 5;
    const back = new Promise<IncomingStream>((resolve) => client.once('stream', resolve));
    const upload = client.openStream({ name: 'page.bin', size, type: 'application/octet-stream' });
    const writing = (async () => {
      const writer = upload.writable.getWriter();
      for (const piece of pieces(size)) await writer.write(piece);
      await writer.close();
    })();
    const incoming = await back;
    expect(incoming.meta).toEqual({ name: 'page.bin', size, type: 'application/octet-stream' });
    const reader = incoming.readable.getReader();
    let at = 0;
    let wrong = -1;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let i = 0; i < value.byteLength && wrong < 0; i++) if (value[i] !== (at + i) % 251) wrong = at + i;
      at += value.byteLength;
    }
    await writing;
    expect(wrong).toBe(-1);
    expect(at).toBe(size);
    expect(upload.bytesAcknowledged).toBe(size);
    await client.close();
  });

  it('sends a request over one frame and gets the answer back whole', async () => {
    const client = connect(inject('hubWsUrl'), { streams });
    const big = 'ü'.repeat(3 * 1024 * 1024);
    await expect(client.request('echo', big)).resolves.toBe(big);
    await client.close();
  });
});
