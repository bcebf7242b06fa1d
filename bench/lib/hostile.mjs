// Pieces the benches of hostile peers share (bench/hostile-stall.mjs, bench/memory-budget.mjs,
// bench/ws-prehello.mjs): the healthy client's loop, and WebSocket peers that upgrade and then
// announce a first message larger than any HELLO.
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Asks `client` for `echo` one request at a time, `gap` ms apart, while `running()`; resolves
 * with what it saw: the time of each answered request (ms, sorted), the failures, and the
 * longest wait between two answers (or from the start to the first).
 */
export async function askEcho(client, running, { gap = 10, timeout = 10_000 } = {}) {
  const waits = [];
  let failures = 0;
  let maxStall = 0;
  let last = performance.now();
  for (let n = 0; running(); n++) {
    const t0 = performance.now();
    try {
      if ((await client.request('echo', n, { timeout })) === n) waits.push(performance.now() - t0);
      else failures++;
    } catch {
      failures++;
    }
    const now = performance.now();
    maxStall = Math.max(maxStall, now - last);
    last = now;
    await sleep(gap);
  }
  return { waits: waits.sort((a, b) => a - b), answered: waits.length, failures, maxStall };
}

/** `count` sockets to the WebSocket server on `port` of 127.0.0.1, each through its 101. */
export function upgradedSockets(port, count) {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve) => {
          const s = net.connect(Number(port), '127.0.0.1', () => {
            s.write(
              `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
            );
          });
          s.on('error', () => {});
          s.once('data', () => resolve(s)); // the 101
          s.resume();
        }),
    ),
  );
}

/** A masked binary WebSocket frame header announcing `length` bytes. */
export function announce(length) {
  const h = Buffer.alloc(14);
  h[0] = 0x82;
  h[1] = 0x80 | 127;
  h.writeUInt32BE(length, 6);
  randomBytes(4).copy(h, 10);
  return h;
}
