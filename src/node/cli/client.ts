import { readFileSync } from 'node:fs';
import type { ConnectOptions } from '../../core/connect-options.js';
import type { Link } from '../../core/link/link.js';
import type { SocklineClient } from '../../core/protocol/client.js';
import type { ProtocolOptions } from '../../core/protocol/options.js';
import type { FramingName } from '../../core/framing/index.js';
import { parseUrl } from '../../core/url.js';
import { connect } from '../connect.js';
import { intFlag, stringFlag, type Values } from './args.js';
import { usageError } from './exit.js';

/** How long a command waits to connect, for a handshake and for a reply, unless `--timeout`. */
export const DEFAULT_TIMEOUT = 5_000;

/**
 * `once`: one attempt, no reconnect (send, request, publish). `stay`: the first attempt must
 * succeed, then the connection is kept up through drops (connect, subscribe, chat).
 */
export type ClientMode = 'once' | 'stay';

/** Connect options from the shared flags (`--token`, `--timeout`, `--ca`, `--insecure`, `--reliable`). */
export function connectOptions(
  url: string,
  values: Values,
  mode: ClientMode,
): { options: ConnectOptions & ProtocolOptions; markOpen: () => void } {
  const { scheme } = parseUrl(url); // ERR_INVALID_URL: exit code 2
  const timeout = intFlag(values, 'timeout', DEFAULT_TIMEOUT, 1);
  const token = stringFlag(values, 'token', process.env.SOCKLINE_TOKEN);
  const ca = stringFlag(values, 'ca');
  let everOpen = false;
  const options: ConnectOptions & ProtocolOptions = {
    connectTimeout: timeout,
    requestTimeout: timeout,
    reconnect: mode === 'once' ? false : {},
    // A first attempt that fails is an error to report, not a reason to retry forever.
    shouldReconnect: () => everOpen,
    ...(token !== undefined ? { token } : {}),
  };
  if (scheme === 'tls' || scheme === 'wss') {
    options.tls = {
      ...(ca !== undefined ? { ca: readPem(ca) } : {}),
      ...(values.insecure === true ? { rejectUnauthorized: false } : {}),
    };
  }
  if (values.reliable === true) {
    if (scheme !== 'udp') throw usageError('--reliable applies to udp:// only');
    options.reliable = true;
  }
  if (values.raw === true) {
    options.protocol = 'raw';
    const framing = stringFlag(values, 'framing', 'lines')!;
    if (framing !== 'lines' && framing !== 'length' && framing !== 'none')
      throw usageError(`--framing must be lines, length or none, got "${framing}"`);
    options.framing = framing as FramingName;
  } else if (values.framing !== undefined) {
    throw usageError('--framing needs --raw (the sockline protocol has its own framing)');
  }
  return { options, markOpen: () => void (everOpen = true) };
}

/** Opens a protocol-mode client and waits for its first session. */
export async function openClient(url: string, values: Values, mode: ClientMode): Promise<SocklineClient> {
  const { options, markOpen } = connectOptions(url, { ...values, raw: false }, mode);
  const client = connect(url, options);
  client.once('open', markOpen);
  await client.opened;
  return client;
}

/** Opens a raw-mode link (`--raw`) and waits until it is open. */
export async function openLink(url: string, values: Values, mode: ClientMode): Promise<Link> {
  const { options, markOpen } = connectOptions(url, { ...values, raw: true }, mode);
  const link = connect(url, { ...options, protocol: 'raw' });
  link.once('open', markOpen);
  await link.opened;
  return link;
}

function readPem(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Writes state changes and reconnect attempts of a long-lived connection to stderr. */
export function reportStates(conn: SocklineClient | Link, quiet = false): void {
  if (quiet) return;
  process.stderr.write(`[state] ${conn.state}\n`);
  conn.on('state', ({ from, to }) => process.stderr.write(`[state] ${from} -> ${to}\n`));
  conn.on('reconnecting', ({ attempt, delay, error }) =>
    process.stderr.write(
      `[reconnecting] attempt ${attempt} in ${Math.round(delay)} ms${error ? `: ${error.message}` : ''}\n`,
    ),
  );
}

/** Resolves once the server acknowledged everything sent (protocol mode), or after `ms`. */
export async function acknowledged(client: SocklineClient, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (client.bufferedAmount > 0) {
    if (Date.now() >= deadline || client.state === 'closed') return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}
