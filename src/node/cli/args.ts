import { parseArgs } from 'node:util';
import { didYouMean } from '../../core/options/messages.js';
import { usageError } from './exit.js';

/** One option of a command, as `node:util` `parseArgs` takes it, plus its help text. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Placeholder shown in the help, e.g. `<port>`. */
  readonly arg?: string;
  readonly help: string;
}

export type Values = Record<string, string | boolean | undefined>;

/** A `sockline` subcommand: its help and its action (which resolves with the exit code). */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Positional arguments, e.g. `<url> <message>`; a `[name]` is optional. */
  readonly args: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Further help text: examples, what goes to stdout and stderr. */
  readonly details?: string;
  run(positionals: string[], values: Values): Promise<number>;
}

/** Options every command has. */
export const commonOptions: Readonly<Record<string, OptionSpec>> = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** Options of the commands that connect somewhere. */
export const connectionOptions: Readonly<Record<string, OptionSpec>> = {
  token: { type: 'string', arg: '<token>', help: 'token sent in the handshake (also $SOCKLINE_TOKEN)' },
  timeout: {
    type: 'string',
    arg: '<ms>',
    help: 'connect, handshake and request deadline in ms (default 5000)',
  },
  ca: { type: 'string', arg: '<file>', help: 'trust this CA certificate (PEM) for tls:// and wss://' },
  insecure: { type: 'boolean', help: 'do not verify the server certificate (testing only)' },
  reliable: { type: 'boolean', help: 'udp:// in protocol mode: acks, retransmission, ordering' },
};

/** Parses `argv` for `command`; throws a usage error (exit code 2) on anything unknown. */
export function parseCommand(command: Command, argv: string[]): { positionals: string[]; values: Values } {
  const options = Object.fromEntries(
    Object.entries({ ...command.options, ...commonOptions }).map(([name, spec]) => [
      name,
      spec.short !== undefined ? { type: spec.type, short: spec.short } : { type: spec.type },
    ]),
  );
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    throw usageError(
      `${parseError(err as Error & { code?: string }, options)} (see: sockline ${command.name} --help)`,
    );
  }
  if (parsed.values.help === true) return parsed;
  const names = command.args.match(/<[^>]+>|\[[^\]]+\]/g) ?? [];
  const required = names.filter((n) => n.startsWith('<')).length;
  const variadic = names.some((n) => n.includes('...'));
  if (parsed.positionals.length < required) {
    throw usageError(
      `missing ${names[parsed.positionals.length]} (usage: sockline ${command.name} ${command.args})`,
    );
  }
  if (!variadic && parsed.positionals.length > names.length) {
    throw usageError(
      `unexpected argument "${parsed.positionals[names.length]}" (usage: sockline ${command.name} ${command.args})`,
    );
  }
  return parsed;
}

/**
 * `parseArgs`'s complaint in the CLI's own words: an unknown option with the closest known
 * one, a missing or unwanted value by the option's name.
 */
function parseError(err: Error & { code?: string }, options: Record<string, unknown>): string {
  const flag = /'(-[^' ,<]+)/.exec(err.message)?.[1];
  if (flag === undefined) return err.message;
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const hint = flag.startsWith('--') ? didYouMean(flag.slice(2), Object.keys(options)) : undefined;
    return `unknown option ${flag}${hint === undefined ? '' : ` (did you mean --${hint}?)`}`;
  }
  if (/argument missing/.test(err.message)) return `option ${flag} needs a value`;
  if (/does not take an argument/.test(err.message)) return `option ${flag} takes no value`;
  return err.message;
}

/** The `--help` text of a command. */
export function commandHelp(command: Command): string {
  const all = { ...command.options, ...commonOptions };
  const rows = Object.entries(all).map(([name, spec]) => {
    const flag = `${spec.short !== undefined ? `-${spec.short}, ` : '    '}--${name}${spec.arg !== undefined ? ` ${spec.arg}` : ''}`;
    return [flag, spec.help] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  const lines = [
    `Usage: sockline ${command.name} ${command.args} [options]`.replace(/\s+\[options\]$/, ' [options]'),
    '',
    command.summary,
    '',
    'Options:',
    ...rows.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`),
  ];
  if (command.details !== undefined) lines.push('', command.details.trim());
  return `${lines.join('\n')}\n`;
}

/** A non-negative integer flag; a usage error names the flag and the bad value. */
export function intFlag(values: Values, name: string, fallback: number, min = 0): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw usageError(`--${name} must be an integer >= ${min}, got "${String(raw)}"`);
  return n;
}

const UNITS: Record<string, number> = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 };

/** A size flag in bytes: digits, or with K, M or G (KiB, MiB, GiB: `64M`); a usage error otherwise. */
export function bytesFlag(values: Values, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const m = typeof raw === 'string' ? /^(\d+)([kmg]?)(i?b)?$/i.exec(raw) : null;
  const n = m === null ? NaN : Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(n))
    throw usageError(`--${name} takes bytes, e.g. 1048576, 512K, 64M or 1G; got "${String(raw)}"`);
  return n;
}

/** A string flag, or `fallback`. */
export function stringFlag(values: Values, name: string, fallback?: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : fallback;
}

/**
 * Parses a message or parameter given on the command line: JSON when it parses (`42`,
 * `{"a":1}`, `"quoted"`), the text itself otherwise. Text that starts like JSON (`[`, `{`,
 * `"`) but does not parse is a usage error, not text sent in its place.
 */
export function jsonOrText(text: string, what = 'the message'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    if (/^\s*[[{"]/.test(text)) {
      throw usageError(`${what} looks like JSON but is not: ${(err as Error).message}`);
    }
    return text;
  }
}
