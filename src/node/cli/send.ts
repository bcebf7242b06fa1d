import { connectionOptions, jsonOrText, type Command } from './args.js';
import { acknowledged, DEFAULT_TIMEOUT, openClient, openLink } from './client.js';
import { CliError, ExitCodes } from './exit.js';
import { intFlag } from './args.js';

export const send: Command = {
  name: 'send',
  summary: 'Send one message and exit once the server acknowledged it.',
  args: '<url> <message>',
  options: {
    ...connectionOptions,
    raw: { type: 'boolean', help: 'raw mode: send the text as is to any TCP, UDP or WebSocket service' },
    framing: { type: 'string', arg: '<lines|length|none>', help: 'raw mode on streams (default lines)' },
  },
  details: `
The message is JSON when it parses ('42', '{"a":1}'), text otherwise; text that starts with
[, { or " must be valid JSON. In protocol mode the
command exits 0 once the server has acknowledged the message; in raw mode once it is written.

Examples:
  sockline send tcp://127.0.0.1:7000 '{"hello":"world"}'
  sockline send --raw tcp://127.0.0.1:9000 'PING'`,
  async run([url, message], values) {
    const timeout = intFlag(values, 'timeout', DEFAULT_TIMEOUT, 1);
    if (values.raw === true) {
      const link = await openLink(url!, values, 'once');
      link.send(message!);
      await link.close();
      return ExitCodes.OK;
    }
    const value = jsonOrText(message!);
    const client = await openClient(url!, values, 'once');
    try {
      client.send(value);
      if (!(await acknowledged(client, timeout)))
        throw new CliError(ExitCodes.TIMEOUT, `the server did not acknowledge within ${timeout} ms`);
    } finally {
      await client.close();
    }
    return ExitCodes.OK;
  },
};
