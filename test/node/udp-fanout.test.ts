import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { connect, createServer, type SocklineServer } from '../../src/node/index.js';
import {
  connectUdp,
  startUdpProtocolServer,
  type UdpProtocolTestServer,
} from '../support/udp-protocol-server.js';
import { mulberry32 } from '../support/udp-proxy.js';
import { testSeed } from '../support/seed.js';

/*
 * Hundreds of UDP clients on one server socket, every one of them answering at the same moment:
 * the opening, the subscriptions and each publish reach the server or all its subscribers in a
 * burst, and the acks of the whole burst come back together. Whatever the kernel drops on the
 * way (a socket's receive buffer is finite), every subscriber must still get every sequenced
 * message exactly once, in order, as over TCP.
 */

const SUBSCRIBERS = 400;
const BURST = 5;
const TOPIC = 'fan/out';
/** One fan-out (opening, subscriptions, two bursts) must settle within this, in ms. */
const SETTLE = 10_000;

/** Kernel drops on the UDP socket bound to `port` (Linux /proc/net/udp), or undefined. */
function socketDrops(port: number): number | undefined {
  try {
    const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    const line = readFileSync('/proc/net/udp', 'utf8')
      .split('\n')
      .find((l) => l.trim().split(/\s+/)[1]?.endsWith(hexPort));
    return line === undefined ? undefined : Number(line.trim().split(/\s+/).at(-1));
  } catch {
    return undefined;
  }
}

/** `got` of every subscriber, summarised for a failure message: how many hold how many values. */
function histogram(got: number[][]): string {
  const counts = new Map<number, number>();
  for (const g of got) counts.set(g.length, (counts.get(g.length) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => a[0] - b[0])
    .map(([values, subscribers]) => `${subscribers} with ${values}`)
    .join(', ');
}

/**
 * Opens `SUBSCRIBERS` clients at once, subscribes them all at once, makes sure the server
 * holds every subscription (a request answered after the SUBSCRIBE on the same session), then
 * publishes two bursts of `BURST` numbered messages and checks every subscriber's list.
 * Resolves with the number of reconnections the subscribers made.
 */
async function fanOut(
  open: (i: number) => SocklineClient,
  clients: SocklineClient[],
  label: string,
): Promise<number> {
  const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => open(i));
  const publisher = open(SUBSCRIBERS);
  clients.push(...subscribers, publisher);
  let reconnects = 0;
  const got: number[][] = subscribers.map(() => []);
  subscribers.forEach((c, i) => {
    c.on('reconnecting', () => reconnects++);
    c.subscribe(TOPIC, (m) => got[i]!.push((m as { n: number }).n));
  });
  await Promise.all([...subscribers, publisher].map((c) => c.opened));
  await Promise.all(subscribers.map((c) => c.request('sync')));

  let n = 0;
  const expected: number[] = [];
  for (let burst = 0; burst < 2; burst++) {
    for (let k = 0; k < BURST; k++) {
      publisher.publish(TOPIC, { n: ++n });
      expected.push(n);
    }
    const want = expected.length;
    await expect
      .poll(() => got.every((g) => g.length >= want), { timeout: SETTLE, interval: 20 })
      .toBe(true)
      .catch(() => {
        throw new Error(`${label}: burst ${burst + 1} not delivered everywhere: ${histogram(got)}`);
      });
  }
  const wrong = got.findIndex((g) => g.join() !== expected.join());
  expect(wrong, `${label}: subscriber ${wrong} got ${got[wrong]?.join(' ')}`).toBe(-1);
  return reconnects;
}

describe(`fan-out to ${SUBSCRIBERS} UDP subscribers at once`, () => {
  const clients: SocklineClient[] = [];
  let server: SocklineServer | undefined;
  let testServer: UdpProtocolTestServer | undefined;
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server?.close();
    await testServer?.close();
    server = testServer = undefined;
  });

  it('through createServer and connect() with their defaults: every publish reaches every subscriber exactly once, in order', async () => {
    server = createServer({ udp: {} });
    server.handle('sync', () => true);
    const { udp } = await server.listen();
    // The server's admission control may ask part of a herd of HELLOs to come back later
    // (a reconnection): that delays a subscriber, it must not cost it a message.
    await fanOut((): SocklineClient => connect(udp!), clients, 'defaults');
  }, 30_000);

  it('when the server socket drops part of every burst: every publish still reaches every subscriber exactly once, in order', async () => {
    const seed = testSeed();
    const random = mulberry32(seed);
    // A receive buffer of a few dozen datagrams: the kernel drops much of each burst.
    testServer = await startUdpProtocolServer({ listener: { recvBufferSize: 16 << 10 } });
    testServer.handlers.set('sync', () => true);
    const url = testServer.url;
    try {
      // Each client asks for the reliable channel or not, at random: both carry sequenced
      // messages reliably.
      const reconnects = await fanOut(
        () => connectUdp(url, {}, { reliable: random() < 0.5 }),
        clients,
        `seed ${seed}`,
      );
      expect(reconnects).toBe(0); // nothing lost in a burst ever reached the session as a gap
      console.log(
        `[udp fan-out] seed ${seed}: kernel drops on the server socket: ${socketDrops(testServer.port) ?? 'unknown'}`,
      );
    } catch (err) {
      console.error(`[udp fan-out] failed with SOCKLINE_SEED=${seed}`);
      throw err;
    }
  }, 30_000);
});
