import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { streams } from '../../src/core/streams/index.js';
import type { IncomingStream } from '../../src/core/streams/types.js';
import { connect } from '../../src/node/index.js';
import { createServer, type SocklineServer } from '../../src/node/server.js';
import { sha256 } from '../support/stream-checksum.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * Streams and requests ride the session: through a proxy that resets the connection every
 * 150 ms, a 256 MiB stream arrives byte for byte and 1,000 requests each settle exactly once,
 * their handler run exactly once (docs/guarantees.md).
 */

const MiB = 1 << 20;
const CUT_EVERY = 150;

let server: SocklineServer | undefined;
let proxy: TcpProxy | undefined;
let client: SocklineClient | undefined;
let cutter: ReturnType<typeof setInterval> | undefined;
afterEach(async () => {
  clearInterval(cutter);
  await client?.close();
  await proxy?.close();
  await server?.close();
  client = proxy = server = undefined;
});

/** 256 KiB pieces of a byte counter: the same bytes on both sides, nothing kept in memory. */
function piece(index: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const from = index * size;
  for (let i = 0; i < size; i++) out[i] = (from + i) % 251;
  return out;
}

for (const transport of ['tcp', 'ws'] as const) {
  describe(`a connection reset every ${CUT_EVERY} ms (${transport})`, () => {
    it('delivers a 256 MiB stream intact and settles 1,000 requests exactly once, each run once', async () => {
      server = createServer({ tcp: {}, ws: {} });
      const runs = new Map<number, number>();
      server.handle('count', async (n) => {
        runs.set(n as number, (runs.get(n as number) ?? 0) + 1);
        // Some answers take long enough that a reset comes between request and answer.
        if ((n as number) % 7 === 0) await new Promise((r) => setTimeout(r, 40));
        return (n as number) * 2;
      });
      const received = new Promise<{ hash: string; size: number }>((resolve, reject) =>
        server!.once(
          'stream',
          (stream: IncomingStream) => void sha256(stream.readable).then(resolve, reject),
        ),
      );
      const a = await server.listen();
      const target = new URL(transport === 'tcp' ? a.tcp! : a.ws!);
      proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(target.port) });
      client = connect(transport === 'tcp' ? proxy.url : proxy.wsUrl(), {
        streams,
        reconnect: { initialDelay: 2, maxDelay: 20 },
        requestTimeout: Infinity,
      }) as SocklineClient;
      let resumes = 0;
      let lost = 0;
      client.on('session', ({ resumed }) => resumed && resumes++);
      client.on('sessionlost', () => lost++);
      client.on('error', () => {});
      await client.opened;
      cutter = setInterval(() => proxy!.resetAll(), CUT_EVERY);

      const SIZE = 256 * MiB;
      const PIECE = 256 << 10;
      const sent = createHash('sha256');
      const upload = client.openStream({ name: 'big.bin', size: SIZE });
      const writing = (async () => {
        const writer = upload.writable.getWriter();
        for (let i = 0; i < SIZE / PIECE; i++) {
          const bytes = piece(i, PIECE);
          sent.update(bytes);
          await writer.write(bytes);
        }
        await writer.close();
      })();

      const settled = new Map<number, number>();
      const results: Array<Promise<void>> = [];
      for (let n = 0; n < 1_000; n++) {
        results.push(
          client.request('count', n).then(
            (v) => {
              settled.set(n, (settled.get(n) ?? 0) + 1);
              expect(v).toBe(n * 2);
            },
            (e: unknown) => {
              settled.set(n, (settled.get(n) ?? 0) + 1);
              throw e;
            },
          ),
        );
        if (n % 50 === 49) await new Promise((r) => setTimeout(r, 20));
      }
      await Promise.all(results);
      await writing;
      const got = await received;
      clearInterval(cutter);

      expect(got).toEqual({ hash: sent.digest('hex'), size: SIZE });
      expect([...settled.values()].every((k) => k === 1)).toBe(true);
      expect(settled.size).toBe(1_000);
      expect(runs.size).toBe(1_000);
      expect([...runs.values()].every((k) => k === 1)).toBe(true);
      await upload.done;
      // The cuts were real, and every one was resumed.
      expect(resumes).toBeGreaterThan(5);
      expect(lost).toBe(0);
    }, 180_000);
  });
}
