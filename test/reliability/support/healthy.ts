import { expect } from 'vitest';
import WebSocket from 'ws';
import { connect } from '../../../src/node/index.js';
import type { SocklineClient } from '../../../src/core/protocol/client.js';
import { decodeFrame } from '../../../src/core/protocol/frames-decode.js';
import { encodeFrame } from '../../../src/core/protocol/frames-encode.js';
import { SUPPORTED_VERSIONS, type Frame } from '../../../src/core/protocol/frames.js';
import type { SocklineServer } from '../../../src/node/server.js';

/** What a healthy client saw while a hostile case ran beside it. */
export interface HealthReport {
  /** Requests answered correctly. */
  readonly answered: number;
  /** Requests that failed (not answered within their 5 s timeout) or were answered wrongly. */
  readonly failures: number;
}

/** A client that keeps asking `echo`, and tells when its answers come. */
export interface HealthyClient {
  readonly client: SocklineClient;
  /** Requests answered correctly so far. */
  readonly answered: number;
  /**
   * Resolves once `count` more requests have been answered; rejects at the first that fails
   * (each has its own 5 s timeout). Called while the hostile case still runs, it proves the
   * client is served during it, not only once it is over.
   */
  served(count?: number): Promise<void>;
  /** Stops asking; resolves with what it saw (the last request is awaited). */
  stop(): Promise<HealthReport>;
}

/**
 * Connects a sockline client to `url` and keeps it asking the server's `echo` handler (the
 * test registers it), one request at a time with 10 ms between them, until `stop()`: the
 * measure of "other clients are unaffected". How long it waits under each hostile case is
 * measured by bench/hostile-stall.mjs, not asserted here (a wall-clock bound flakes under load).
 */
export async function healthyClient(url: string): Promise<HealthyClient> {
  const client = connect(url);
  await client.opened;
  let running = true;
  let answered = 0;
  let failures = 0;
  const waiters = new Set<() => void>();
  const loop = (async () => {
    for (let n = 0; running; n++) {
      try {
        const reply = await client.request('echo', { n }, { timeout: 5_000 });
        if ((reply as { n?: number }).n === n) answered++;
        else failures++;
      } catch {
        failures++;
      }
      for (const w of waiters) w();
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    client,
    get answered() {
      return answered;
    },
    served(count = 1) {
      const target = answered + count;
      const failed = failures;
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (failures > failed || answered >= target || !running) waiters.delete(check);
          if (failures > failed)
            reject(new Error(`the healthy client failed: ${JSON.stringify({ answered, failures })}`));
          else if (answered >= target) resolve();
          else if (!running) reject(new Error('the healthy client was stopped before it was served'));
        };
        waiters.add(check);
      });
    },
    async stop() {
      running = false;
      await loop;
      for (const w of waiters) w();
      await client.close();
      return { answered, failures };
    },
  };
}

/** The healthy client was served all along: every request answered, none failed. */
export function expectHealthy(report: HealthReport): void {
  expect(report.failures, JSON.stringify(report)).toBe(0);
  expect(report.answered, JSON.stringify(report)).toBeGreaterThan(0);
}

/** The names on Object.prototype, to check that no case changed them. */
export function prototypeNames(): string[] {
  return Object.getOwnPropertyNames(Object.prototype).sort();
}

/** The server holds nothing for connections that are gone: only `live` connections remain. */
export async function expectReleased(server: SocklineServer, live: number): Promise<void> {
  await expect
    .poll(() => {
      const c = server.metrics().connections;
      return c.tcp + c.tls + c.ws + c.udp;
    })
    .toBe(live);
}

/** A raw WebSocket peer: speaks frames by hand, records what it gets, can stop reading. */
export interface RawWsPeer {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  readonly closed: Promise<void>;
  send(frame: Frame): void;
  /** Sends HELLO (with `capabilities` and `resume`) and resolves with the WELCOME. */
  hello(options?: {
    capabilities?: number;
    resume?: { sessionId: string; lastSeq: number };
    token?: string;
  }): Promise<Extract<Frame, { type: 'welcome' }>>;
  /** Resolves with the first frame `match` accepts (already received or to come). */
  next<T extends Frame>(match: (f: Frame) => f is T): Promise<T>;
  /** Stops reading from the socket: the server's writes pile up in the kernel, then in Node. */
  stopReading(): void;
  destroy(): void;
}

export async function rawWsPeer(url: string): Promise<RawWsPeer> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer) => {
    frames.push(decodeFrame(new Uint8Array(data)));
    for (const w of waiters) w();
  });
  ws.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    ws.on('close', () => {
      for (const w of waiters) w();
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const peer: RawWsPeer = {
    ws,
    frames,
    closed,
    send(frame) {
      if (ws.readyState === ws.OPEN) ws.send(encodeFrame(frame));
    },
    async hello(options = {}) {
      peer.send({
        type: 'hello',
        versions: [...SUPPORTED_VERSIONS],
        capabilities: options.capabilities ?? 7,
        codec: 'json',
        ...(options.token !== undefined ? { token: options.token } : {}),
        ...(options.resume !== undefined ? { resume: options.resume } : {}),
      });
      return peer.next((f): f is Extract<Frame, { type: 'welcome' }> => f.type === 'welcome');
    },
    next<T extends Frame>(match: (f: Frame) => f is T): Promise<T> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = frames.find(match);
          if (found !== undefined) done(found);
          else if (ws.readyState === ws.CLOSED) done(undefined);
        };
        const done = (found: T | undefined): void => {
          waiters.delete(check);
          if (found === undefined)
            reject(new Error(`closed first; got ${frames.map((f) => f.type).join(' ')}`));
          else resolve(found);
        };
        waiters.add(check);
        check();
      });
    },
    stopReading() {
      (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    },
    destroy: () => ws.terminate(),
  };
  return peer;
}
