import { connectionOptions, intFlag, jsonOrText, type Command } from './args.js';
import { acknowledged, DEFAULT_TIMEOUT, openClient } from './client.js';
import { CliError, ExitCodes } from './exit.js';

export const publish: Command = {
  name: 'publish',
  summary: 'Publish one message on a topic and exit once the server acknowledged it.',
  args: '<url> <topic> <message>',
  options: connectionOptions,
  details: `
Every client subscribed to a matching pattern gets it, whatever its transport. The message
is JSON when it parses, text otherwise (text that starts with [, { or " must be valid JSON).

Example:
  sockline publish tcp://127.0.0.1:7000 news/today '{"headline":"hello"}'`,
  async run([url, topic, message], values) {
    const timeout = intFlag(values, 'timeout', DEFAULT_TIMEOUT, 1);
    const value = jsonOrText(message!);
    const client = await openClient(url!, values, 'once');
    try {
      client.publish(topic!, value);
      if (!(await acknowledged(client, timeout)))
        throw new CliError(ExitCodes.TIMEOUT, `the server did not acknowledge within ${timeout} ms`);
    } finally {
      await client.close();
    }
    return ExitCodes.OK;
  },
};
