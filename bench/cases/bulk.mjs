// bulk: a 1 MiB message echoed, one in flight; payload throughput.
import { performance } from 'node:perf_hooks';
import { payload, sleep, within } from '../lib/clients.mjs';
import { SYSTEM_NAMES } from '../systems/index.mjs';

const SIZE = 1024 * 1024;

export const bench = {
  name: 'bulk',
  title: 'Bulk: 1 MiB echo',
  describe:
    'One client sends a 1 MiB message and waits for its echo before sending the next, 5 warm-up round ' +
    'trips then 40 counted (3 and 10 with --quick); the first echo is compared byte for byte. MB/s is ' +
    'the payload echoed per second (one direction, 1 MB = 10^6 bytes). Not run over udp://: ' +
    'protocol mode over UDP without `reliable` carries messages up to one datagram (1,200 B).',
  systems: SYSTEM_NAMES.filter((s) => s !== 'sockline-udp'),
  metrics: [{ key: 'mbps', label: 'MB/s', digits: 0 }],
  primary: 'mbps',
  async run(ctx, system) {
    const { port } = await ctx.server(system);
    const client = await ctx.client();
    const params = ctx.quick ? { port, warmup: 3, count: 10 } : { port, warmup: 5, count: 40 };
    return ctx.run(client, 'bulk', system, params);
  },
};

export const client = {
  async main({ system, params }) {
    const message = payload(SIZE, 7);
    let next;
    let fail;
    const c = await system.connectClient({
      port: params.port,
      mode: 'echo',
      onMessage(data) {
        if (data.length !== SIZE) fail?.(new Error(`echo of ${data.length} bytes`));
        else next?.(data);
      },
    });
    const roundTrip = () =>
      within(
        new Promise((resolve, reject) => {
          next = resolve;
          fail = reject;
          c.send(message);
        }),
        30_000,
        'bulk echo',
      );
    const first = await roundTrip();
    if (!Buffer.from(first.buffer, first.byteOffset, first.length).equals(message))
      throw new Error('the echoed 1 MiB payload differs from what was sent');
    for (let k = 1; k < params.warmup; k++) await roundTrip();
    await sleep(20);
    const t0 = performance.now();
    for (let k = 0; k < params.count; k++) await roundTrip();
    const seconds = (performance.now() - t0) / 1000;
    await c.close();
    return { mbps: (params.count * SIZE) / seconds / 1e6 };
  },
};
