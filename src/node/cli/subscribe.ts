import { connectionOptions, intFlag, type Command } from './args.js';
import { openClient, reportStates } from './client.js';
import { formatValue, untilClosed } from './io.js';

export const subscribe: Command = {
  name: 'subscribe',
  summary: 'Print every message published on a topic pattern (+ one level, # the rest).',
  args: '<url> <pattern>',
  options: {
    ...connectionOptions,
    json: { type: 'boolean', help: 'print {"topic","value"} JSON lines' },
    count: { type: 'string', arg: '<n>', help: 'exit after n messages' },
    quiet: { type: 'boolean', short: 'q', help: 'do not print state changes on stderr' },
  },
  details: `
Each message is printed as "<topic> <value>" (or a JSON line with --json). The subscription
survives reconnects: nothing published meanwhile is lost. "subscribed <pattern>" goes to
stderr once the server has the subscription.

Example:
  sockline subscribe tcp://127.0.0.1:7000 'chat/+/messages'`,
  async run([url, pattern], values) {
    const json = values.json === true;
    const limit = intFlag(values, 'count', Infinity, 1);
    const client = await openClient(url!, values, 'stay');
    reportStates(client, values.quiet === true);
    let seen = 0;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    client.subscribe(pattern!, (value, { topic }) => {
      if (seen >= limit) return;
      process.stdout.write(
        json ? `${JSON.stringify({ topic, value })}\n` : `${topic} ${formatValue(value, false)}\n`,
      );
      if (++seen >= limit) finish();
    });
    // A round trip after SUBSCRIBE: the server has it once this answers (frames are in order).
    await client.ping();
    process.stderr.write(`subscribed ${pattern}\n`);
    return untilClosed(client, done);
  },
};
