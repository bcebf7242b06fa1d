import * as readline from 'node:readline';
import type { Connection } from './client.js';
import { classify, ExitCodes } from './exit.js';

const utf8 = new TextDecoder();

/**
 * A received value as one line of text: text as is, bytes as UTF-8, anything else as JSON.
 * With `json`, as one line of JSON; `raw` text (which has no types) is parsed as JSON first.
 */
export function formatValue(value: unknown, json: boolean, raw = false): string {
  const text = value instanceof Uint8Array ? utf8.decode(value) : value;
  if (!json) return typeof text === 'string' ? text : JSON.stringify(text);
  if (typeof text === 'string' && (raw || value instanceof Uint8Array)) {
    try {
      return JSON.stringify(JSON.parse(text));
    } catch {
      return JSON.stringify(text);
    }
  }
  return JSON.stringify(text);
}

/** Calls `onLine` for each stdin line (awaiting it: backpressure); resolves at end of input. */
export async function forEachLine(onLine: (line: string, n: number) => Promise<void> | void): Promise<void> {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  let n = 0;
  for await (const line of rl) await onLine(line, ++n);
}

/**
 * Resolves with the exit code once the connection is over: 0 after SIGINT/SIGTERM or
 * `done` (which closes it gracefully), or the error's code when it closed by itself.
 */
export function untilClosed(conn: Connection, done?: Promise<unknown>): Promise<number> {
  return new Promise((resolve) => {
    let ending = false;
    const end = (): void => {
      if (ending) return;
      ending = true;
      void conn.close().finally(() => resolve(ExitCodes.OK));
    };
    conn.on('close', ({ error }) => {
      process.off('SIGINT', end);
      process.off('SIGTERM', end);
      if (ending) return;
      ending = true;
      if (error === undefined) return resolve(ExitCodes.OK);
      const { code, message } = classify(error);
      process.stderr.write(`sockline: ${message}\n`);
      resolve(code);
    });
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
    done?.then(end, end);
  });
}

/** Waits while more than `limit` bytes are held for the peer (a paste or a pipe faster than the link). */
export async function belowWater(
  conn: { bufferedAmount: number; state: string },
  limit = 1 << 20,
): Promise<void> {
  while (conn.bufferedAmount > limit && conn.state !== 'closed') await new Promise((r) => setTimeout(r, 10));
}
