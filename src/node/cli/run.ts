import { commandHelp, parseCommand, type Command } from './args.js';
import { bench } from './bench.js';
import { chat } from './chat.js';
import { connectCommand } from './connect-command.js';
import { classify, ExitCodes, usageError } from './exit.js';
import { packageVersion } from './package-info.js';
import { publish } from './publish.js';
import { receiveFile } from './receive-file.js';
import { request } from './request.js';
import { send } from './send.js';
import { sendFile } from './send-file.js';
import { serve } from './serve.js';
import { subscribe } from './subscribe.js';

/** Every subcommand, in the order `--help` lists them. */
export const commands: readonly Command[] = [
  serve,
  connectCommand,
  send,
  request,
  publish,
  subscribe,
  sendFile,
  receiveFile,
  chat,
  bench,
];

/** The top-level `--help` text. */
export function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: sockline <command> [options]

One messaging SDK for TCP, TLS, UDP and WebSocket: this command serves it, talks to it,
and talks to any other TCP, UDP or WebSocket service in raw mode.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help     show help (also: sockline <command> --help)
  -v, --version  print the version

URLs: tcp://host:port, tls://host:port, udp://host:port, ws://host:port/path, wss://…

Exit codes: 0 success, 1 other failure, 2 bad usage or URL, 3 connection refused,
4 TLS failure, 5 timeout, 6 credentials refused, 130 interrupted in a transfer.
`;
}

/**
 * Runs the `sockline` command line (`argv` without node and the script) and resolves with the
 * exit code. Errors are reported as one line on stderr.
 */
export async function run(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined) {
      process.stderr.write(mainHelp());
      return ExitCodes.USAGE;
    }
    if (first === '--help' || first === '-h') {
      process.stdout.write(mainHelp());
      return ExitCodes.OK;
    }
    if (first === '--version' || first === '-v') {
      process.stdout.write(`${packageVersion()}\n`);
      return ExitCodes.OK;
    }
    if (first === 'help') {
      const command = commands.find((c) => c.name === rest[0]);
      process.stdout.write(command === undefined ? mainHelp() : commandHelp(command));
      return ExitCodes.OK;
    }
    const command = commands.find((c) => c.name === first);
    if (command === undefined) throw usageError(`unknown command "${first}" (see: sockline --help)`);
    const { positionals, values } = parseCommand(command, rest);
    if (values.help === true) {
      process.stdout.write(commandHelp(command));
      return ExitCodes.OK;
    }
    return await command.run(positionals, values);
  } catch (err) {
    const { code, message } = classify(err);
    process.stderr.write(
      `sockline${first !== undefined && !first.startsWith('-') ? ` ${first}` : ''}: ${message}\n`,
    );
    return code;
  }
}
