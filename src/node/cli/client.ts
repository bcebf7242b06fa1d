import { readFileSync } from 'node:fs';
import type { TransportOptions } from '../../core/connect-options.js';
import type { Disposer } from '../../core/emitter.js';
import type { Link, ReconnectingInfo } from '../../core/link/link.js';
import type { LinkState } from '../../core/link/state.js';
import type { SocklineClient } from '../../core/protocol/client.js';
import type { FramingName } from '../../core/framing/index.js';
import { streams } from '../../core/streams/index.js';
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

/** What the commands use of a link or a client, whichever mode it is in. */
export interface Connection {
  readonly state: LinkState;
  readonly bufferedAmount: number;
  on(event: 'state', listener: (change: { from: LinkState; to: LinkState }) => void): Disposer;
  on(event: 'reconnecting', listener: (info: ReconnectingInfo) => void): Disposer;
  on(event: 'close', listener: (info: { error?: Error | undefined }) => void): Disposer;
  close(): Promise<void>;
}

/** Options of both modes from the shared flags (`--token` aside): `--timeout`, `--ca`, `--insecure`. */
function sharedOptions(
  url: string,
  values: Values,
  mode: ClientMode,
): { options: TransportOptions; markOpen: () => void } {
  const { scheme } = parseUrl(url); // ERR_INVALID_URL: exit code 2
  const timeout = intFlag(values, 'timeout', DEFAULT_TIMEOUT, 1);
  const ca = stringFlag(values, 'ca');
  let everOpen = false;
  const options: TransportOptions = {
    connectTimeout: timeout,
    reconnect: mode === 'once' ? false : {},
    // A first attempt that fails is an error to report, not a reason to retry forever.
    shouldReconnect: () => everOpen,
  };
  if (scheme === 'tls' || scheme === 'wss') {
    options.tls = {
      ...(ca !== undefined ? { ca: readPem(ca) } : {}),
      ...(values.insecure === true ? { rejectUnauthorized: false } : {}),
    };
  }
  return { options, markOpen: () => void (everOpen = true) };
}

/** Opens a protocol-mode client (`withStreams`: one that opens and takes streams) and waits for its first session. */
export async function openClient(
  url: string,
  values: Values,
  mode: ClientMode,
  withStreams = false,
): Promise<SocklineClient> {
  if (values.framing !== undefined) {
    throw usageError('--framing needs --raw (the sockline protocol has its own framing)');
  }
  const { options, markOpen } = sharedOptions(url, values, mode);
  const token = stringFlag(values, 'token', process.env.SOCKLINE_TOKEN);
  if (values.reliable === true && parseUrl(url).scheme !== 'udp') {
    throw usageError('--reliable applies to udp:// only');
  }
  const client = connect(url, {
    ...options,
    requestTimeout: intFlag(values, 'timeout', DEFAULT_TIMEOUT, 1),
    ...(token !== undefined ? { token } : {}),
    ...(values.reliable === true ? { reliable: true } : {}),
    ...(withStreams ? { streams } : {}),
  });
  client.once('open', markOpen);
  await client.opened;
  return client;
}

/** Opens a raw-mode link (`--raw`) and waits until it is open. */
export async function openLink(url: string, values: Values, mode: ClientMode): Promise<Link> {
  if (values.reliable === true) throw usageError('--reliable is for the sockline protocol, not --raw');
  const { options, markOpen } = sharedOptions(url, values, mode);
  const framing = stringFlag(values, 'framing', 'lines')!;
  if (framing !== 'lines' && framing !== 'length' && framing !== 'none')
    throw usageError(`--framing must be lines, length or none, got "${framing}"`);
  const link = connect(url, { ...options, protocol: 'raw', framing: framing as FramingName });
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
export function reportStates(conn: Connection, quiet = false): void {
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
