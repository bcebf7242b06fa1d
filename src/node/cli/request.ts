import { connectionOptions, jsonOrText, type Command } from './args.js';
import { openClient } from './client.js';
import { ExitCodes } from './exit.js';

export const request: Command = {
  name: 'request',
  summary: 'Call a method on the server and print the result as JSON.',
  args: '<url> <method> [params]',
  options: connectionOptions,
  details: `
params is JSON when it parses ('[1,2,3]', '{"a":1}'), text otherwise (text that starts with
[, { or " must be valid JSON). The result goes to
stdout as one line of JSON; an error answer goes to stderr with its code (exit code 1).

Examples:
  sockline request tcp://127.0.0.1:7000 sum '[1,2,3]'
  sockline request ws://127.0.0.1:8080 time`,
  async run([url, method, params], values) {
    const value = params === undefined ? null : jsonOrText(params, 'params');
    const client = await openClient(url!, values, 'once');
    try {
      const result = await client.request(method!, value);
      process.stdout.write(`${JSON.stringify(result ?? null)}\n`);
    } finally {
      await client.close();
    }
    return ExitCodes.OK;
  },
};
