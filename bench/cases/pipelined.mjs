// pipelined: 64-byte echo with exactly 100 messages outstanding (one sent per echo received);
// echoes counted over a fixed window after a warm-up.
import { performance } from 'node:perf_hooks';
import { payload, sleep } from '../lib/clients.mjs';
import { SYSTEM_NAMES } from '../systems/index.mjs';

const OUTSTANDING = 100;

export const bench = {
  name: 'pipelined',
  title: 'Pipelined: 64 B echo, 100 outstanding',
  describe:
    `One client keeps exactly ${OUTSTANDING} messages of 64 bytes outstanding, sending one more for each ` +
    'echo received. Echoes are counted over 1.5 s after a 0.5 s warm-up (0.7 s after 0.3 s with ' +
    '--quick); messages/s.',
  systems: SYSTEM_NAMES,
  metrics: [{ key: 'rate', label: 'msg/s', digits: 0 }],
  primary: 'rate',
  async run(ctx, system) {
    const { port } = await ctx.server(system);
    const client = await ctx.client();
    const params = ctx.quick
      ? { port, warmupMs: 300, measureMs: 700 }
      : { port, warmupMs: 500, measureMs: 1_500 };
    return ctx.run(client, 'pipelined', system, params);
  },
};

export const client = {
  async main({ system, params }) {
    const message = payload(64);
    let received = 0;
    let sending = true;
    let bad;
    const c = await system.connectClient({
      port: params.port,
      mode: 'echo',
      onMessage(data) {
        if (data.length !== message.length) bad ??= new Error(`echo of ${data.length} bytes`);
        received++;
        if (sending) c.send(message);
      },
    });
    for (let k = 0; k < OUTSTANDING; k++) c.send(message);
    await sleep(params.warmupMs);
    const from = received;
    const t0 = performance.now();
    await sleep(params.measureMs);
    const counted = received - from;
    const seconds = (performance.now() - t0) / 1000;
    sending = false;
    // Let the outstanding echoes arrive before closing (lost ones are reported).
    const sent = received + OUTSTANDING;
    for (let waited = 0; received < sent && waited < 2_000; waited += 20) await sleep(20);
    await c.close();
    if (bad) throw bad;
    if (counted === 0) throw new Error(`no echo in ${params.measureMs} ms after the warm-up (stalled)`);
    return { rate: counted / seconds, lost: sent - received };
  },
};
