import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ProtocolConnectOptions } from '../../src/node/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { createServer, type ServerOptions, type SocklineServer } from '../../src/node/server.js';
import { publicIdOf } from '../../src/core/protocol/session-id.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { mulberry32 } from '../support/udp-proxy.js';
import { testCert } from '../support/tls-cert.js';
import { testSeed } from '../support/seed.js';

const RATE = 200;
const BURST = 20;
/**
 * Admitted handshakes in any interval of `t` ms stay within `BURST + RATE × (t + SLACK) / 1000`:
 * a slot may be claimed a little after its time (the client's timer, its reconnect, a busy
 * event loop in a process that runs 300 clients and the server at once).
 */
const SLACK = 250;

const servers: SocklineServer[] = [];
const clients: SocklineClient[] = [];
const proxies: TcpProxy[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A server whose admitted HELLOs are timestamped (`authenticate` runs only for those). */
async function start(options: ServerOptions): Promise<{ server: SocklineServer; admitted: number[] }> {
  const admitted: number[] = [];
  const server = createServer({ ...options, authenticate: () => void admitted.push(performance.now()) });
  servers.push(server);
  await server.listen();
  return { server, admitted };
}

/** The largest excess, over all intervals, of admitted HELLOs above `burst + rate × t`. */
function worstExcess(times: readonly number[], rate: number, burst: number): number {
  const t = [...times].sort((a, b) => a - b);
  let worst = -Infinity;
  for (let i = 0; i < t.length; i++) {
    for (let j = i; j < t.length; j++) {
      const allowed = burst + (rate * (t[j]! - t[i]!)) / 1000;
      worst = Math.max(worst, j - i + 1 - allowed);
    }
  }
  return worst;
}

/** A seed for the clients' jitter: SOCKLINE_SEED, or a fresh one printed on failure. */
function seeded(): { seed: number; random: () => number } {
  const seed = testSeed();
  return { seed, random: mulberry32(seed) };
}

async function withSeed(seed: number, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    console.error(`admission test failed with seed ${seed} (rerun with SOCKLINE_SEED=${seed})`);
    throw err;
  }
}

function client(url: string, options: ProtocolConnectOptions): SocklineClient {
  const c = connect(url, options);
  c.on('error', () => {});
  clients.push(c);
  return c;
}

describe('handshake admission control', () => {
  it('admits at most burst + rate × t HELLOs over tcp, tls and ws, and every client opens without a failed attempt', async () => {
    const { seed, random } = seeded();
    await withSeed(seed, async () => {
      const { cert, key } = testCert();
      const { server, admitted } = await start({
        tcp: {},
        tls: { cert, key },
        ws: {},
        admission: { rate: RATE, burst: BURST },
      });
      const urls = [server.addresses.tcp!, server.addresses.tls!, server.addresses.ws!];
      const all: SocklineClient[] = [];
      const closed: unknown[] = [];
      for (let i = 0; i < 300; i++) {
        // maxRetries 0: a "come back later" counted as a failed attempt would close the client.
        const c = client(urls[i % 3]!, {
          reconnect: { maxRetries: 0 },
          tls: { ca: cert },
          random,
        });
        c.on('close', ({ error }) => closed.push(error));
        all.push(c);
      }
      await Promise.all(all.map((c) => c.opened));
      expect(closed).toEqual([]);
      expect(admitted).toHaveLength(300);
      const m = server.metrics();
      // The bucket paced the 300: no faster than the burst and then the rate allow. (How many
      // HELLOs were told to come back depends on how fast this machine sends them: a loaded one
      // spreads them by itself, so that count is not asserted.) The rate bound is worstExcess.
      const span = Math.max(...admitted) - Math.min(...admitted);
      expect(span, `refused ${m.admissionRefused}`).toBeGreaterThanOrEqual(
        ((300 - BURST) / RATE) * 1000 - SLACK,
      );
      // A HELLO told to come back later made no session and is no handshake failure.
      expect(server.store.size).toBe(300);
      expect(m.handshakeFailures).toBe(0);
      expect(worstExcess(admitted, RATE, BURST)).toBeLessThanOrEqual((RATE * SLACK) / 1000);
    });
  }, 8_000);

  it('resumes every session through admission after all connections are reset, losing nothing either way', async () => {
    const { seed, random } = seeded();
    await withSeed(seed, async () => {
      const { server, admitted } = await start({ tcp: {}, ws: {}, admission: { rate: RATE, burst: BURST } });
      const tcpProxy = await startTcpProxy({
        host: '127.0.0.1',
        port: Number(new URL(server.addresses.tcp!).port),
      });
      const wsProxy = await startTcpProxy({
        host: '127.0.0.1',
        port: Number(new URL(server.addresses.ws!).port),
      });
      proxies.push(tcpProxy, wsProxy);
      const N = 200;
      const got: unknown[][] = [];
      const sessions: string[] = [];
      let lost = 0;
      const all = Array.from({ length: N }, (_, i) => {
        const c = client(i % 2 === 0 ? tcpProxy.url : wsProxy.wsUrl(), {
          reconnect: { initialDelay: 50, maxDelay: 200 },
          random,
        });
        got.push([]);
        c.on('message', (value) => got[i]!.push(value));
        c.on('session', ({ id }) => (sessions[i] = id));
        c.on('sessionlost', () => lost++);
        return c;
      });
      const fromClients = new Map<string, unknown[]>();
      server.on('connection', (peer) =>
        peer.on('message', (value) => {
          const list = fromClients.get(peer.id) ?? [];
          list.push(value);
          fromClients.set(peer.id, list);
        }),
      );
      await Promise.all(all.map((c) => c.opened));
      const before = [...sessions];
      const admittedBefore = admitted.length;
      const refusedBefore = server.metrics().admissionRefused;

      // The network drops every connection and stays away while the clients keep retrying.
      for (const proxy of [tcpProxy, wsProxy]) {
        proxy.faults.refuse = true;
        proxy.resetAll();
      }
      // Every session is detached on the server; each gets a message while nobody carries it.
      await expect.poll(() => [...server.peers.values()].every((p) => !p.connected)).toBe(true);
      for (const peer of server.peers.values()) peer.send({ to: peer.id });
      all.forEach((c, i) => c.send({ from: i }));
      // Back: all of them at once.
      for (const proxy of [tcpProxy, wsProxy]) proxy.faults.refuse = false;

      await expect
        .poll(() => all.every((c) => c.state === 'open') && got.every((g) => g.length === 1), {
          timeout: 6_000,
        })
        .toBe(true);
      expect(lost).toBe(0);
      expect(sessions).toEqual(before);
      // peer.id is the public id of the client's session (not its resume secret).
      all.forEach((c, i) => expect(got[i]).toEqual([{ to: publicIdOf(sessions[i]!) }]));
      await expect.poll(() => [...fromClients.values()].flat().length).toBe(N);
      all.forEach((c, i) => expect(fromClients.get(publicIdOf(sessions[i]!))).toEqual([{ from: i }]));
      const m = server.metrics();
      expect(m.resumes).toBe(N);
      expect(m.admissionRefused).toBeGreaterThan(refusedBefore);
      expect(admitted.length - admittedBefore).toBe(N);
      expect(worstExcess(admitted.slice(admittedBefore), RATE, BURST)).toBeLessThanOrEqual(
        (RATE * SLACK) / 1000,
      );
    });
  }, 8_000);

  it('applies to udp:// clients too', async () => {
    const { seed, random } = seeded();
    await withSeed(seed, async () => {
      const { server, admitted } = await start({
        udp: { reliable: true },
        admission: { rate: 50, burst: 2 },
      });
      const all = Array.from({ length: 10 }, () =>
        client(server.addresses.udp!, { reliable: true, reconnect: { maxRetries: 0 }, random }),
      );
      await Promise.all(all.map((c) => c.opened));
      expect(admitted).toHaveLength(10);
      expect(server.metrics().admissionRefused).toBeGreaterThan(0);
      expect(worstExcess(admitted, 50, 2)).toBeLessThanOrEqual((50 * SLACK) / 1000);
    });
  }, 8_000);

  it('admission: false handles every HELLO at once', async () => {
    const { seed, random } = seeded();
    await withSeed(seed, async () => {
      const { server, admitted } = await start({ tcp: {}, admission: false });
      let retries = 0;
      const all = Array.from({ length: 300 }, () => {
        const c = client(server.addresses.tcp!, { reconnect: { maxRetries: 0 }, random });
        c.on('reconnecting', () => retries++);
        return c;
      });
      await Promise.all(all.map((c) => c.opened));
      expect(admitted).toHaveLength(300);
      expect(retries).toBe(0);
      expect(server.metrics().admissionRefused).toBe(0);
    });
  }, 8_000);

  it('refuses invalid admission options with a RangeError naming them', () => {
    expect(() => createServer({ admission: { rate: 0 } })).toThrow(/admission\.rate: 0/);
    expect(() => createServer({ admission: { rate: Infinity } })).toThrow(/admission\.rate/);
    expect(() => createServer({ admission: { burst: 0.5 } })).toThrow(/admission\.burst: 0\.5/);
    expect(() => createServer({ admission: true as unknown as false })).toThrow(/admission: true/);
  });
});
