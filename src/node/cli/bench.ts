import type { SocklineClient } from '../../core/protocol/client.js';
import { connectionOptions, intFlag, type Command, type Values } from './args.js';
import { openClient } from './client.js';
import { ExitCodes } from './exit.js';
import { Hub } from './hub.js';

/** One target's figures. */
export interface BenchResult {
  url: string;
  pings: number;
  rttMin: number;
  rttP50: number;
  rttP99: number;
  messages: number;
  size: number;
  seconds: number;
  messagesPerSecond: number;
}

/** Bytes held unacknowledged before the sender waits: keeps the pipeline full, the queues bounded. */
const IN_FLIGHT_BYTES = 256 << 10;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class Progress {
  readonly #tty = process.stderr.isTTY === true;
  #last = 0;

  update(text: string, force = false): void {
    const now = Date.now();
    if (!force && now - this.#last < 100) return;
    this.#last = now;
    if (this.#tty) process.stderr.write(`\r\x1b[K${text}`);
    else if (force) process.stderr.write(`${text}\n`);
  }

  done(): void {
    if (this.#tty) process.stderr.write('\r\x1b[K');
  }
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

async function rtt(
  client: SocklineClient,
  count: number,
  progress: Progress,
  url: string,
): Promise<number[]> {
  for (let i = 0; i < Math.min(20, count); i++) await client.ping(); // warm-up
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await client.ping();
    samples.push(performance.now() - t0);
    progress.update(`${url}  rtt ${i + 1}/${count}`);
  }
  progress.update(
    `${url}  rtt: ${count} pings in ${((performance.now() - started) / 1000).toFixed(2)} s`,
    true,
  );
  return samples.sort((a, b) => a - b);
}

async function throughput(
  client: SocklineClient,
  count: number,
  size: number,
  progress: Progress,
  url: string,
): Promise<number> {
  const payload = 'x'.repeat(size);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    while (client.bufferedAmount > IN_FLIGHT_BYTES) await tick();
    client.send(payload);
    if ((i & 255) === 0) progress.update(`${url}  messages ${i}/${count}`);
  }
  // Done when the server has acknowledged the last one.
  while (client.bufferedAmount > 0) await tick();
  const seconds = (performance.now() - started) / 1000;
  progress.update(`${url}  messages: ${count} acknowledged in ${seconds.toFixed(2)} s`, true);
  return seconds;
}

/** Measures one sockline server: ping round trips, then pipelined messages until all are acknowledged. */
export async function benchUrl(url: string, values: Values): Promise<BenchResult> {
  const pings = intFlag(values, 'pings', 200, 1);
  const messages = intFlag(values, 'count', 20_000, 1);
  const size = intFlag(values, 'size', 64, 1);
  const progress = new Progress();
  const client = await openClient(url, values, 'once');
  try {
    const samples = await rtt(client, pings, progress, url);
    const seconds = await throughput(client, messages, size, progress, url);
    progress.done();
    return {
      url,
      pings,
      rttMin: samples[0]!,
      rttP50: percentile(samples, 0.5),
      rttP99: percentile(samples, 0.99),
      messages,
      size,
      seconds,
      messagesPerSecond: messages / seconds,
    };
  } finally {
    await client.close();
  }
}

function format(r: BenchResult): string {
  const ms = (n: number): string => `${n.toFixed(n < 1 ? 3 : 2)} ms`;
  return (
    `${r.url.padEnd(28)} rtt p50 ${ms(r.rttP50)}  p99 ${ms(r.rttP99)}  min ${ms(r.rttMin)}  ` +
    `${Math.round(r.messagesPerSecond).toLocaleString('en-US')} messages/s (${r.messages} × ${r.size} B, acknowledged)`
  );
}

export const bench: Command = {
  name: 'bench',
  summary: 'Measure round-trip time and pipelined messages/s against a sockline server.',
  args: '[url]',
  options: {
    ...connectionOptions,
    count: { type: 'string', arg: '<n>', help: 'messages to send (default 20000)' },
    size: { type: 'string', arg: '<bytes>', help: 'message size (default 64)' },
    pings: { type: 'string', arg: '<n>', help: 'round trips to time (default 200)' },
    json: { type: 'boolean', help: 'print the results as JSON lines' },
  },
  details: `
Round trips are timed with protocol pings, one at a time. Messages are sent as fast as the
link takes them (at most 256 KiB unacknowledged) and counted once the server acknowledged
the last one. Without a URL a server is started in this process and measured on tcp://,
ws:// and udp:// (reliable). Progress goes to stderr, results to stdout.

Examples:
  sockline bench
  sockline bench tcp://127.0.0.1:7000 --count 100000`,
  async run([url], values) {
    const targets: Array<{ url: string; values: Values }> = [];
    let hub: Hub | undefined;
    if (url !== undefined) targets.push({ url, values });
    else {
      hub = new Hub({ host: '127.0.0.1', tcp: 0, udp: 0, http: 0 });
      const a = await hub.start();
      targets.push(
        { url: a.tcp!, values },
        { url: a.ws!, values },
        { url: a.udp!, values: { ...values, reliable: true } },
      );
    }
    try {
      for (const t of targets) {
        const result = await benchUrl(t.url, t.values);
        process.stdout.write(`${values.json === true ? JSON.stringify(result) : format(result)}\n`);
      }
    } finally {
      await hub?.close();
    }
    return ExitCodes.OK;
  },
};
