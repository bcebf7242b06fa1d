import { afterEach, describe, expect, it } from 'vitest';
import { clientLabel, connectAs, TRANSPORT_CLIENTS } from '../support/clients.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { encodePayload, jsonCodec } from '../../src/core/protocol/codec.js';
import { startProtocolServer, type ProtocolTestServer } from '../support/protocol-server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { mulberry32 } from '../support/udp-proxy.js';
import { testSeed } from '../support/seed.js';

const COUNT = 10_000;
const DISCONNECTS = 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('nothing lost, nothing duplicated across forced disconnects', () => {
  let server: ProtocolTestServer | undefined;
  let proxy: TcpProxy | undefined;
  let client: SocklineClient | undefined;
  afterEach(async () => {
    await client?.close();
    await proxy?.close();
    await server?.close();
    client = undefined;
    proxy = undefined;
    server = undefined;
  });

  for (const [transport, kind] of TRANSPORT_CLIENTS) {
    it(`delivers ${COUNT} numbered messages each way, in order, through ${DISCONNECTS} resets over ${clientLabel(transport, kind)}`, async () => {
      const seed = testSeed();
      const random = mulberry32(seed);
      try {
        server = await startProtocolServer({
          delivery: { maxMessages: 2 * COUNT, maxBytes: 64 << 20, replayMessages: 2 * COUNT },
        });
        const target = new URL(transport === 'tcp' ? server.tcpUrl : server.wsUrl);
        proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(target.port) });
        client = connectAs(kind, transport === 'tcp' ? proxy.url : proxy.wsUrl(), {
          reconnect: { initialDelay: 2, maxDelay: 20 },
          outbox: { maxMessages: 2 * COUNT, maxBytes: 64 << 20 },
          replay: { maxMessages: 2 * COUNT },
        });
        const fromServer: number[] = [];
        client.on('message', (v) => fromServer.push((v as { n: number }).n));
        let lost = 0;
        let resumes = 0;
        client.on('sessionlost', () => lost++);
        client.on('session', ({ resumed }) => resumed && resumes++);
        client.on(
          'error',
          (e) => process.env.SOCKLINE_DEBUG && console.error('client error', e.code, e.message),
        );
        await client.opened;
        await expect.poll(() => server!.sessions.size).toBe(1);
        const state = [...server.sessions][0]!.session!;

        // Both sides stream while the proxy keeps cutting the connection, sometimes mid-frame.
        const codec = jsonCodec();
        const stream = async (send: (n: number) => void): Promise<void> => {
          for (let n = 0; n < COUNT; n++) {
            send(n);
            // Spread the stream over the whole chaos window, so the cuts land mid-stream.
            if (n % 200 === 199) await sleep(15);
          }
        };
        const chaos = (async () => {
          for (let i = 0; i < DISCONNECTS; i++) {
            await sleep(5 + Math.floor(random() * 20));
            if (i % 2 === 0) proxy!.resetAll();
            // Armed, not awaited: it fires on whatever bytes flow next (a later arm replaces it).
            else void proxy!.cutAfter(1 + Math.floor(random() * 4000), 'both', { settle: 0 });
          }
        })();
        await Promise.all([
          stream((n) => client!.send({ n })),
          stream((n) => {
            const { kind, payload } = encodePayload({ n }, codec);
            state.delivery.enqueue({ topic: undefined, kind, payload, original: n }, Infinity);
          }),
          chaos,
        ]);
        await expect.poll(() => server!.received.length, { timeout: 20_000 }).toBe(COUNT);
        await expect.poll(() => fromServer.length, { timeout: 20_000 }).toBe(COUNT);
        const expected = Array.from({ length: COUNT }, (_, i) => i);
        expect(server.received.map((r) => (r.value as { n: number }).n)).toEqual(expected);
        expect(fromServer).toEqual(expected);
        expect(lost).toBe(0);
        // The cuts really happened while both sides were streaming.
        expect(resumes).toBeGreaterThanOrEqual(DISCONNECTS / 5);
      } catch (err) {
        console.error(
          `protocol resume test failed with seed ${seed} (rerun with SOCKLINE_SEED=${seed}); ` +
            `server got ${server?.received.length}, client state ${client?.state}`,
        );
        throw err;
      }
    }, 60_000);
  }
});
