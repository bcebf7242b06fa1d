// transfer: large messages and a long stream, one way, with each end's peak memory.
import { performance } from 'node:perf_hooks';
import { peakMemory } from '../lib/peak.mjs';
import { payload, sleep, within } from '../lib/clients.mjs';

const MiB = 1024 * 1024;

export const bench = {
  name: 'transfer',
  title: 'Transfer: 1 MiB and 64 MiB messages, a 1 GiB stream',
  describe:
    'One client sends, one way: 64 messages of 1 MiB (at most 8 unanswered), 4 of 64 MiB (at most 2), ' +
    'then a 1 GiB stream in 256 KiB writes (16, 2 and 128 MiB with --quick). The receiving server reads ' +
    'everything and answers each message (and the end of the stream) with one byte; MB/s is payload ' +
    'over the time until the last answer (1 MB = 10^6 bytes). The raw baselines send the stream as ' +
    '256 KiB messages, at most 8 on their way. sockline keeps its defaults: maxFrameSize 1 MiB, so ' +
    'every message here and the stream go as chunks of 256 KiB (docs/protocol.md §13). Peak memory during ' +
    'the stream, in the sender (client) and the receiver (server): the growth of RSS sampled every 5 ms ' +
    '(garbage included), and of what stays after a full GC (heap and ArrayBuffers) sampled every 500 ms.',
  systems: ['raw-net', 'raw-ws', 'sockline-tcp', 'sockline-ws'],
  /** What sockline's Node entry must export for the case (bench --baseline skips it otherwise). */
  needs: ['streams'],
  metrics: [
    { key: 'stream', label: 'stream MB/s', digits: 0 },
    { key: 'msg1', label: '1 MiB msgs MB/s', digits: 0 },
    { key: 'msg64', label: '64 MiB msgs MB/s', digits: 0 },
    { key: 'senderMB', label: 'sender peak RSS MB', lowerIsBetter: true, digits: 1 },
    { key: 'senderRetainedMB', label: 'sender peak retained MB', lowerIsBetter: true, digits: 1 },
    { key: 'receiverMB', label: 'receiver peak RSS MB', lowerIsBetter: true, digits: 1 },
    { key: 'receiverRetainedMB', label: 'receiver peak retained MB', lowerIsBetter: true, digits: 1 },
  ],
  primary: 'stream',
  async run(ctx, system) {
    const { port } = await ctx.server(system, { mode: 'sink' });
    const client = await ctx.client();
    const params = ctx.quick
      ? { port, small: 16, large: 2, streamMiB: 128 }
      : { port, small: 64, large: 4, streamMiB: 1024 };
    return ctx.run(client, 'transfer', system, params, { timeout: 600_000 });
  },
};

/** The client side of a sink: sends, and waits for answers. */
export async function sinkClient(system, port, mode = 'sink') {
  const answers = [];
  let waiter;
  const c = await system.connectClient({
    port,
    mode,
    onMessage(data) {
      answers.push(typeof data === 'string' ? data : Buffer.from(data).toString());
      waiter?.();
    },
  });
  /** Resolves once `n` answers in all have come. */
  const answered = (n) =>
    within(
      new Promise((resolve) => {
        const check = () => {
          if (answers.length >= n) {
            waiter = undefined;
            resolve();
          }
        };
        waiter = check;
        check();
      }),
      300_000,
      `answer ${n}`,
    );
  const peak = async () => {
    const before = answers.length;
    c.send('peak');
    await answered(before + 1);
    return JSON.parse(answers[before]);
  };
  return { c, answers, answered, peak };
}

/** Sends `count` messages of `size`, at most `window` unanswered; MB/s. */
async function messages(sink, size, count, window) {
  const message = payload(size, 3);
  const start = sink.answers.length;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    if (i >= window) await sink.answered(start + i - window + 1);
    sink.c.send(message);
  }
  await sink.answered(start + count);
  return (size * count) / ((performance.now() - t0) / 1000) / 1e6;
}

/** Streams `total` bytes in 256 KiB writes; MB/s until the receiver answered its end. */
export async function stream(sink, total) {
  const piece = payload(256 * 1024, 5);
  const pieces = total / piece.length;
  const start = sink.answers.length;
  const t0 = performance.now();
  if (typeof sink.c.openStream === 'function') {
    const writer = sink.c.openStream({ name: 'bench', size: total }).writable.getWriter();
    for (let i = 0; i < pieces; i++) {
      await writer.ready;
      void writer.write(piece);
    }
    await writer.close();
    await sink.answered(start + 1);
  } else {
    // A raw socket: each piece a message, at most 8 on their way, each answered.
    const flushed = [];
    for (let i = 0; i < pieces; i++) {
      if (flushed.length >= 8) await flushed.shift();
      flushed.push(sink.c.sendFlushed(piece));
    }
    await sink.answered(start + pieces);
  }
  return total / ((performance.now() - t0) / 1000) / 1e6;
}

export const client = {
  async main({ system, params }) {
    const sink = await sinkClient(system, params.port);
    const own = peakMemory();
    const msg1 = await messages(sink, MiB, params.small, 8);
    const msg64 = await messages(sink, 64 * MiB, params.large, 2);
    await sleep(50);
    await sink.peak();
    own.reset();
    const streamRate = await stream(sink, params.streamMiB * MiB);
    const sender = own.read();
    const receiver = await sink.peak();
    own.stop();
    await sink.c.close();
    return {
      msg1,
      msg64,
      stream: streamRate,
      senderMB: sender.rssMB,
      receiverMB: receiver.rssMB,
      senderRetainedMB: sender.retainedMB,
      receiverRetainedMB: receiver.retainedMB,
    };
  },
};
