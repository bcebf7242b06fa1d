// slow-reader: a 1 GiB stream to a reader far slower than its writer; both ends' peak memory.
import { peakMemory } from '../lib/peak.mjs';
import { sleep } from '../lib/clients.mjs';
import { sinkClient, stream } from './transfer.mjs';

const MiB = 1024 * 1024;

export const bench = {
  name: 'slow-reader',
  title: 'Slow reader: a 1 GiB stream to a reader 10× slower than its writer',
  describe:
    'One client writes a 1 GiB stream (128 MiB with --quick) as fast as the stream lets it; the server ' +
    'reads it at 80 MB/s (a tenth or less of what the writer sends to a fast reader, see the transfer ' +
    'bench). Peak memory in the writer (client) and the reader (server): the growth of RSS sampled every ' +
    '5 ms (garbage included), and of what stays after a full GC (heap and ArrayBuffers: payloads, frames, ' +
    'socket buffers) sampled every 500 ms. The stream window (what the reader holds before the ' +
    'application reads it: the credit its writer gets) is 4 MiB.',
  systems: ['sockline-tcp', 'sockline-ws'],
  /** What sockline's Node entry must export for the case (bench --baseline skips it otherwise). */
  needs: ['streams'],
  ratios: false,
  metrics: [
    { key: 'stream', label: 'MB/s', digits: 0 },
    { key: 'senderRetainedMB', label: 'writer peak retained MB', lowerIsBetter: true, digits: 1 },
    { key: 'receiverRetainedMB', label: 'reader peak retained MB', lowerIsBetter: true, digits: 1 },
    { key: 'senderMB', label: 'writer peak RSS MB', lowerIsBetter: true, digits: 1 },
    { key: 'receiverMB', label: 'reader peak RSS MB', lowerIsBetter: true, digits: 1 },
  ],
  primary: 'stream',
  async run(ctx, system) {
    const { port } = await ctx.server(system, { mode: 'sink-slow' });
    const client = await ctx.client();
    const params = { port, streamMiB: ctx.quick ? 128 : 1024 };
    return ctx.run(client, 'slow-reader', system, params, { timeout: 600_000 });
  },
};

export const client = {
  async main({ system, params }) {
    const sink = await sinkClient(system, params.port, 'sink-slow');
    const own = peakMemory();
    await sleep(50);
    await sink.peak();
    own.reset();
    const rate = await stream(sink, params.streamMiB * MiB);
    const sender = own.read();
    const receiver = await sink.peak();
    own.stop();
    await sink.c.close();
    return {
      stream: rate,
      senderMB: sender.rssMB,
      senderRetainedMB: sender.retainedMB,
      receiverMB: receiver.rssMB,
      receiverRetainedMB: receiver.retainedMB,
    };
  },
};
