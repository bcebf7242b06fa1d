import { describe, expect, it } from 'vitest';
import { runChild } from '../support/child.js';

/**
 * Memory, handles and listeners, measured where nothing else shares the process: each case
 * runs in a fresh Node process (compiled from src/ with esbuild), with `--expose-gc` where
 * heap figures are compared, and must exit by itself (a leftover timer or socket keeps it
 * alive until the runner kills it, which fails the test).
 */

const MiB = 1 << 20;

/** Memory after a full collection: heap plus ArrayBuffers (socket buffers, frames). */
const memoryProbe = `
  const settle = () => new Promise((r) => setImmediate(r));
  async function memory() {
    for (let i = 0; i < 3; i++) { globalThis.gc(); await settle(); }
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  }
`;

describe('memory stays bounded', () => {
  it('a slow consumer: the server holds a bounded amount for it, the policy fires, another client is served', async () => {
    const { result } = await runChild(
      `
      import * as net from 'node:net';
      import { createServer } from './src/node/server.ts';
      import { connect } from './src/node/index.ts';
      import { lengthFraming } from './src/core/framing/index.ts';
      import { encodeFrame } from './src/core/protocol/frames-encode.ts';
      ${memoryProbe}
      const server = createServer({ tcp: {}, ws: {}, maxOutboundBytes: 256 << 10, writeDeadline: 500, heartbeatInterval: 200 });
      const a = await server.listen();
      server.handle('ping', () => 'pong');
      let peer;
      server.on('connection', (p) => { peer ??= p; });
      // Completes the handshake, then never reads again.
      const slow = net.connect(Number(new URL(a.tcp).port), '127.0.0.1');
      slow.on('error', () => {});
      await new Promise((r) => slow.once('connect', r));
      slow.write(lengthFraming().encode(encodeFrame({ type: 'hello', versions: [2], capabilities: 7, codec: 'json' })));
      while (peer === undefined) await settle();
      slow.pause();
      const healthy = connect(a.ws);
      await healthy.opened;
      const before = await memory();
      let peak = 0;
      let answered = 0;
      const chunk = 'x'.repeat(64 << 10);
      const TOTAL = 2048; // 128 MiB offered to a peer that reads nothing
      for (let i = 0; i < TOTAL; i++) {
        peer.send(chunk);
        if (i % 64 === 63) {
          if ((await healthy.request('ping')) === 'pong') answered++;
          peak = Math.max(peak, (await memory()) - before);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      const m = server.metrics();
      slow.destroy();
      await Promise.all([healthy.close(), server.close()]);
      console.log(JSON.stringify({ offered: TOTAL * chunk.length, peak, answered, slowConsumers: m.slowConsumers }));
      `,
      { flags: ['--expose-gc'], timeout: 30_000 },
    );
    const r = result as { offered: number; peak: number; answered: number; slowConsumers: number };
    expect(r.offered).toBe(128 * MiB);
    // The session's bounds (8 MiB pending, 8 MiB unacknowledged) plus the socket's buffer,
    // with room to spare: far below what was offered.
    expect(r.peak).toBeLessThan(48 * MiB);
    expect(r.slowConsumers).toBe(1);
    expect(r.answered).toBe(32);
  });

  it('a producer offline for long: the outbox stays within its bounds, memory flat, every drop reported', async () => {
    const { result } = await runChild(
      `
      import * as net from 'node:net';
      import { createServer } from './src/node/server.ts';
      import { connect } from './src/node/index.ts';
      ${memoryProbe}
      // A port with nothing behind it (yet).
      const probe = net.createServer();
      await new Promise((r) => probe.listen(0, '127.0.0.1', r));
      const port = probe.address().port;
      await new Promise((r) => probe.close(r));
      const client = connect('tcp://127.0.0.1:' + port, {
        reconnect: { initialDelay: 20, maxDelay: 100 },
        outbox: { maxMessages: 1000, maxBytes: 1 << 20, overflow: 'drop-oldest' },
      });
      let drops = 0;
      let lastDropped = -1;
      let dropsInOrder = true;
      client.on('drop', (v, reason) => {
        if (reason !== 'overflow' || v.n !== lastDropped + 1) dropsInOrder = false;
        lastDropped = v.n;
        drops++;
      });
      let attempts = 0;
      client.on('reconnecting', () => attempts++);
      const SENT = 200_000;
      const pad = 'p'.repeat(500);
      const before = await memory();
      let peak = 0;
      let maxBuffered = 0;
      for (let n = 0; n < SENT; n++) {
        client.send({ n, pad });
        if (n % 10_000 === 9_999) {
          maxBuffered = Math.max(maxBuffered, client.bufferedAmount);
          peak = Math.max(peak, (await memory()) - before);
        }
      }
      // Now the server comes up: what was kept arrives, in order.
      const server = createServer({ tcp: { port } });
      const got = [];
      server.on('connection', (peer) => peer.on('message', (v) => got.push(v.n)));
      await server.listen();
      client.wake();
      await client.opened;
      while (got.length < SENT - drops) await new Promise((r) => setTimeout(r, 10));
      const firstKept = got[0];
      const inOrder = got.every((n, i) => n === firstKept + i);
      // Taken before close(), which reports what is still unacknowledged as dropped ('closed').
      const dropped = drops;
      const orderly = dropsInOrder;
      await Promise.all([client.close(), server.close()]);
      console.log(JSON.stringify({ SENT, drops: dropped, dropsInOrder: orderly, kept: got.length, firstKept, last: got.at(-1), inOrder, peak, maxBuffered, attempts }));
      `,
      { flags: ['--expose-gc'], timeout: 30_000 },
    );
    const r = result as Record<string, number | boolean>;
    expect(r.attempts).toBeGreaterThan(0);
    // Never silent: every message is either delivered or reported dropped, oldest first.
    expect((r.drops as number) + (r.kept as number)).toBe(r.SENT);
    expect(r.dropsInOrder).toBe(true);
    expect(r.kept).toBeLessThanOrEqual(1000);
    expect(r.firstKept).toBe(r.drops);
    expect(r.last).toBe((r.SENT as number) - 1);
    expect(r.inOrder).toBe(true);
    expect(r.maxBuffered).toBeLessThanOrEqual(MiB);
    // ~100 MB offered while offline; the outbox holds 1 MiB.
    expect(r.peak).toBeLessThan(16 * MiB);
  });

  it('refuses with ERR_QUEUE_FULL under the reject policy once the outbox is full, keeping what it accepted', async () => {
    const { result } = await runChild(
      `
      import { connect } from './src/node/index.ts';
      const client = connect('tcp://127.0.0.1:1', { reconnect: { initialDelay: 50 }, outbox: { maxMessages: 100, overflow: 'reject' } });
      let accepted = 0;
      const codes = new Set();
      for (let n = 0; n < 1000; n++) {
        try { client.send(n); accepted++; } catch (e) { codes.add(e.code); }
      }
      const dropped = [];
      client.on('drop', (v, reason) => dropped.push(reason));
      await client.close();
      console.log(JSON.stringify({ accepted, codes: [...codes], dropped: dropped.length, reasons: [...new Set(dropped)] }));
      `,
    );
    // Refused ones were refused to the caller; accepted ones are reported when the client closes.
    expect(result).toEqual({ accepted: 100, codes: ['ERR_QUEUE_FULL'], dropped: 100, reasons: ['closed'] });
  });
});

describe('1,000 reconnect cycles', () => {
  it('leave listener counts unchanged, raise no MaxListenersExceededWarning, and grow the heap by a bounded amount', async () => {
    const { result, stderr } = await runChild(
      `
      import { createServer } from './src/node/server.ts';
      import { connect } from './src/node/index.ts';
      import { startTcpProxy } from './test/support/tcp-proxy.ts';
      ${memoryProbe}
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.name + ': ' + w.message));
      const server = createServer({ tcp: {} });
      const a = await server.listen();
      const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(a.tcp).port) });
      let got = 0;
      server.on('connection', (peer) => peer.on('message', () => got++));
      const client = connect(proxy.url, { reconnect: { initialDelay: 1, maxDelay: 5 } });
      let resumed = 0;
      let lost = 0;
      client.on('session', (s) => { if (s.resumed) resumed++; });
      client.on('sessionlost', () => lost++);
      await client.opened;
      const events = ['state', 'open', 'message', 'session', 'sessionlost', 'disconnect', 'reconnecting', 'close', 'error', 'drop'];
      const counts = () => events.map((e) => client.listenerCount(e)).join(',') + ' / process ' +
        ['exit', 'warning', 'uncaughtException', 'unhandledRejection'].map((e) => process.listenerCount(e)).join(',');
      const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      const cycle = async () => {
        const target = resumed + 1;
        proxy.resetAll();
        while (resumed < target) await new Promise((r) => setTimeout(r, 1));
        client.send('x');
      };
      for (let i = 0; i < 100; i++) await cycle();
      const listenersBefore = counts();
      const socketsBefore = sockets();
      const heapBefore = await memory();
      for (let i = 100; i < 1000; i++) await cycle();
      while (got < 1000) await new Promise((r) => setTimeout(r, 5));
      const heapAfter = await memory();
      const result = {
        resumed, lost, got, warnings,
        listenersBefore, listenersAfter: counts(),
        socketsBefore, socketsAfter: sockets(),
        peers: server.peers.size, connections: server.metrics().connections.tcp,
        growth: heapAfter - heapBefore,
      };
      await client.close();
      await proxy.close();
      await server.close();
      console.log(JSON.stringify(result));
      `,
      { flags: ['--expose-gc'], timeout: 40_000 },
    );
    expect(stderr).toBe('');
    const r = result as Record<string, unknown>;
    expect(r.resumed).toBe(1000);
    expect(r.lost).toBe(0);
    expect(r.got).toBe(1000);
    expect(r.warnings).toEqual([]);
    expect(r.listenersAfter).toBe(r.listenersBefore);
    expect(r.socketsAfter).toBe(r.socketsBefore);
    expect(r.peers).toBe(1);
    expect(r.connections).toBe(1);
    // 900 cycles; a leak of even 2 KB per cycle would show as ~1.8 MB.
    expect(r.growth as number).toBeLessThan(MiB);
  });
});

describe('a client closed in every state', () => {
  const states = ['connecting', 'connecting-in-flight', 'handshaking', 'open', 'reconnecting'] as const;
  for (const state of states) {
    it(`rejects every pending request once with ERR_CLIENT_CLOSED and lets the process exit (${state})`, async () => {
      const { result, stderr } = await runChild(
        `
        import * as net from 'node:net';
        import { createServer } from './src/node/server.ts';
        import { connect } from './src/node/index.ts';
        const state = process.argv[2];
        const cleanup = [];
        let url = 'tcp://127.0.0.1:1';
        if (state === 'handshaking') {
          // Accepts the connection and reads the HELLO, but never answers it.
          const mute = net.createServer((s) => { s.on('error', () => {}); s.resume(); cleanup.push(() => s.destroy()); });
          await new Promise((r) => mute.listen(0, '127.0.0.1', r));
          url = 'tcp://127.0.0.1:' + mute.address().port;
          cleanup.push(() => new Promise((r) => mute.close(r)));
        } else if (state === 'open' || state === 'connecting-in-flight') {
          const server = createServer({ tcp: {} });
          server.handle('never', () => new Promise(() => {}));
          url = (await server.listen()).tcp;
          cleanup.push(() => server.close());
        }
        const client = connect(url, { reconnect: { initialDelay: 30_000 } });
        const states = [];
        client.on('state', ({ to }) => states.push(to));
        let closes = 0;
        client.on('close', () => closes++);
        const settled = [0, 0, 0];
        const codes = [];
        const requests = () => settled.forEach((_, i) => {
          client.request('never', i).then(
            () => { settled[i]++; codes.push('resolved'); },
            (e) => { settled[i]++; codes.push(e.code); },
          );
        });
        const until = async (s) => { while (client.state !== s) await new Promise((r) => setTimeout(r, 2)); };
        if (state === 'connecting') {
          requests();
        } else if (state === 'connecting-in-flight') {
          await new Promise((r) => setImmediate(r)); // the TCP connect is under way
          requests();
        } else if (state === 'handshaking') {
          await new Promise((r) => setTimeout(r, 100));
          requests();
        } else if (state === 'open') {
          await client.opened;
          requests();
          await new Promise((r) => setTimeout(r, 20)); // on the wire, in the handler
        } else if (state === 'reconnecting') {
          await until('reconnecting');
          requests();
        }
        const stateAtClose = client.state;
        await client.close();
        await client.close(); // idempotent
        await new Promise((r) => setTimeout(r, 20));
        for (const fn of cleanup) await fn();
        console.log(JSON.stringify({ stateAtClose, settled, codes, closes, finalState: client.state }));
        `,
        { args: [state], timeout: 10_000 },
      );
      expect(stderr).toBe('');
      const r = result as {
        stateAtClose: string;
        settled: number[];
        codes: string[];
        closes: number;
        finalState: string;
      };
      const expectedState = {
        connecting: 'connecting',
        'connecting-in-flight': 'connecting',
        handshaking: 'connecting',
        open: 'open',
        reconnecting: 'reconnecting',
      }[state];
      expect(r.stateAtClose).toBe(expectedState);
      expect(r.settled).toEqual([1, 1, 1]);
      expect(r.codes).toEqual(['ERR_CLIENT_CLOSED', 'ERR_CLIENT_CLOSED', 'ERR_CLIENT_CLOSED']);
      expect(r.closes).toBe(1);
      expect(r.finalState).toBe('closed');
    });
  }
});
