import type { Link } from '../../core/link/link.js';
import type { SocklineClient } from '../../core/protocol/client.js';
import { connectionOptions, type Command, type Values } from './args.js';
import { acknowledged, DEFAULT_TIMEOUT, openClient, openLink, reportStates } from './client.js';
import { belowWater, forEachLine, formatValue, untilClosed } from './io.js';
import { parseUrl } from '../../core/url.js';
import { classify, ExitCodes } from './exit.js';

/**
 * UDP has no handshake: the socket is "open" whether or not anything listens, and a closed
 * port shows only as an ICMP "port unreachable" a moment after a datagram went out. This long
 * after the last line, the session still waits for one before it calls the input done.
 */
const UDP_REFUSAL_WAIT = 200;

async function protocolSession(url: string, values: Values): Promise<number> {
  const json = values.json === true;
  const client: SocklineClient = await openClient(url, values, 'stay');
  reportStates(client, values.quiet === true);
  client.on('message', (value) => process.stdout.write(`${formatValue(value, json)}\n`));
  const input = forEachLine(async (line, n) => {
    if (line.length === 0 && !json) return;
    let value: unknown = line;
    if (json) {
      try {
        value = JSON.parse(line) as unknown;
      } catch (err) {
        process.stderr.write(`sockline: line ${n} is not JSON, not sent: ${(err as Error).message}\n`);
        return;
      }
    }
    client.send(value);
    await belowWater(client);
  }).then(() => acknowledged(client, DEFAULT_TIMEOUT));
  return untilClosed(client, input);
}

async function rawSession(url: string, values: Values): Promise<number> {
  const json = values.json === true;
  const link: Link = await openLink(url, values, 'stay');
  reportStates(link, values.quiet === true);
  const bytes = values.framing === 'none';
  link.on('message', (m) => {
    if (bytes && !json) process.stdout.write(m);
    else process.stdout.write(`${formatValue(m, json, true)}\n`);
  });
  let input: Promise<void>;
  // On udp:// a refusal is a soft error on an open socket: it ends the session (exit code 3).
  const refused = new Promise<number>((resolve) => {
    if (parseUrl(url).scheme !== 'udp') return;
    link.on('error', (error) => {
      const { code, message } = classify(error);
      if (code !== ExitCodes.REFUSED) return;
      process.stderr.write(`sockline: ${message} (nothing listens at ${url})\n`);
      resolve(code);
      void link.close();
    });
  });
  if (bytes && !json) {
    // netcat: bytes in, bytes out, no notion of lines.
    input = (async () => {
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        link.send(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        await belowWater(link);
      }
    })();
  } else {
    input = forEachLine(async (line, n) => {
      let text = line;
      if (json) {
        try {
          text = JSON.stringify(JSON.parse(line));
        } catch (err) {
          process.stderr.write(`sockline: line ${n} is not JSON, not sent: ${(err as Error).message}\n`);
          return;
        }
      }
      link.send(text);
      await belowWater(link);
    });
  }
  if (parseUrl(url).scheme === 'udp') {
    input = input.then(() => new Promise((resolve) => setTimeout(resolve, UDP_REFUSAL_WAIT)));
  }
  return Promise.race([refused, untilClosed(link, input)]);
}

export const connectCommand: Command = {
  name: 'connect',
  summary: 'Interactive session: stdin lines out, messages in on stdout, state changes on stderr.',
  args: '<url>',
  options: {
    ...connectionOptions,
    raw: { type: 'boolean', help: 'raw mode: talk to any TCP, UDP or WebSocket service' },
    framing: {
      type: 'string',
      arg: '<lines|length|none>',
      help: 'raw mode on tcp:// and tls://: how the stream is cut into messages (default lines)',
    },
    json: { type: 'boolean', help: 'parse stdin lines as JSON; print messages as JSON' },
    quiet: { type: 'boolean', short: 'q', help: 'do not print state changes on stderr' },
  },
  details: `
Against a sockline server each stdin line is sent as a message (a string, or with --json any
JSON value) and each message received is printed on its own line. The connection is kept
up: it reconnects and resumes, so nothing is lost. At the end of input it waits for the
server to acknowledge what was sent, then closes.

With --raw it talks to anything: --framing lines (one line per message), length (u32
prefix) or none (bytes pass through both ways, like netcat).

Examples:
  sockline connect tcp://127.0.0.1:7000
  echo '{"op":"ping"}' | sockline connect --raw --json tcp://127.0.0.1:9000
  sockline connect --raw ws://127.0.0.1:8081`,
  run: ([url], values) => (values.raw === true ? rawSession(url!, values) : protocolSession(url!, values)),
};
