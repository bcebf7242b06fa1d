import { readFileSync } from 'node:fs';
import { bytesFlag, intFlag, stringFlag, type Command, type Values } from './args.js';
import { fileStoreDefaults } from './file-store.js';
import { CliError, ExitCodes, usageError } from './exit.js';
import { Hub, type HubAddresses, type HubOptions } from './hub.js';

const env = (name: string): string | undefined => process.env[name];

function port(values: Values, flag: string, envName: string, fallback: number): number {
  const fromEnv = env(envName);
  if (values[flag] === undefined && fromEnv !== undefined)
    return intFlag({ [flag]: fromEnv }, flag, fallback);
  return intFlag(values, flag, fallback);
}

function pem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`--${flag}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Hub options from the flags of `serve` (and of `npm start`, which is `serve --demo`). */
export function hubOptions(values: Values): HubOptions {
  const certFile = stringFlag(values, 'cert', env('SOCKLINE_CERT'));
  const keyFile = stringFlag(values, 'key', env('SOCKLINE_KEY'));
  if ((certFile === undefined) !== (keyFile === undefined)) throw usageError('--cert and --key go together');
  const secure = certFile !== undefined;
  return {
    host: stringFlag(values, 'host', env('SOCKLINE_HOST') ?? '127.0.0.1')!,
    tcp: port(values, 'tcp', 'SOCKLINE_TCP_PORT', 7000),
    udp: port(values, 'udp', 'SOCKLINE_UDP_PORT', 7000),
    http: port(values, 'http', 'SOCKLINE_HTTP_PORT', secure ? 8443 : 8080),
    ...(secure
      ? {
          tls: port(values, 'tls', 'SOCKLINE_TLS_PORT', 7443),
          cert: pem(certFile, 'cert'),
          key: pem(keyFile!, 'key'),
        }
      : {}),
    token: stringFlag(values, 'token', env('SOCKLINE_TOKEN')),
    page: values.demo === true,
    files: {
      maxFileSize: bytesFlag(values, 'max-file-size', fileStoreDefaults.maxFileSize),
      maxStoredBytes: bytesFlag(values, 'max-stored', fileStoreDefaults.maxStoredBytes),
    },
  };
}

const LABELS: Record<keyof HubAddresses, string> = {
  tcp: 'TCP',
  tls: 'TLS',
  udp: 'UDP',
  ws: 'WebSocket',
  wss: 'WebSocket',
  page: 'chat page',
};

/** What `serve` prints once listening: people read the table, scripts the `ready` line. */
export function describeHub(a: HubAddresses): string {
  const rows = (Object.keys(LABELS) as Array<keyof HubAddresses>)
    .filter((k) => a[k] !== undefined)
    .map((k) => `  ${LABELS[k].padEnd(10)} ${a[k]}`);
  const lines = ['sockline is listening:', ...rows];
  if (a.page !== undefined) {
    const node = a.tcp ?? a.tls;
    lines.push('', `Open ${a.page} in two browser tabs, then chat from a terminal too:`);
    if (node !== undefined) lines.push(`  npx sockline chat ${node} --name terminal`);
    if (a.udp !== undefined) lines.push(`  npx sockline chat ${a.udp} --name udp-user`);
    lines.push('kill -HUP ' + process.pid + ' restarts the server: every client reconnects and resumes.');
  }
  lines.push(`ready ${JSON.stringify(a)}`);
  return `${lines.join('\n')}\n`;
}

/** Runs a hub until SIGINT or SIGTERM; SIGHUP restarts it on the same ports and sessions. */
export async function runHub(options: HubOptions): Promise<number> {
  const hub = new Hub(options);
  try {
    process.stdout.write(describeHub(await hub.start()));
  } catch (err) {
    await hub.close().catch(() => {});
    if ((err as { code?: unknown }).code === 'EADDRINUSE')
      throw new CliError(
        ExitCodes.FAILURE,
        `${(err as Error).message}: choose other ports with --tcp, --udp, --http (0 picks a free one)`,
      );
    throw err;
  }
  let busy: Promise<unknown> = Promise.resolve();
  const onHup = (): void => {
    busy = busy.then(async () => {
      process.stderr.write('restarting: clients will reconnect and resume\n');
      const a = await hub.restart();
      process.stdout.write(`restarted ${JSON.stringify(a)}\n`);
    });
  };
  process.on('SIGHUP', onHup);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.off('SIGHUP', onHup);
  process.stderr.write('stopping: clients are told to come back later\n');
  await busy.catch(() => {});
  await hub.close();
  return 0;
}

export const serve: Command = {
  name: 'serve',
  summary: 'Run a sockline server on TCP, UDP and WebSocket (and TLS with --cert/--key).',
  args: '',
  options: {
    host: { type: 'string', arg: '<host>', help: 'address to bind (default 127.0.0.1; $SOCKLINE_HOST)' },
    tcp: {
      type: 'string',
      arg: '<port>',
      help: 'TCP port (default 7000; $SOCKLINE_TCP_PORT; 0 picks a free one)',
    },
    udp: { type: 'string', arg: '<port>', help: 'UDP port (default 7000; $SOCKLINE_UDP_PORT)' },
    http: {
      type: 'string',
      arg: '<port>',
      help: 'HTTP port carrying WebSocket at / (default 8080, 8443 with TLS; $SOCKLINE_HTTP_PORT)',
    },
    tls: {
      type: 'string',
      arg: '<port>',
      help: 'TLS port, with --cert/--key (default 7443; $SOCKLINE_TLS_PORT)',
    },
    cert: {
      type: 'string',
      arg: '<file>',
      help: 'PEM certificate: serves tls:// and wss:// ($SOCKLINE_CERT)',
    },
    key: { type: 'string', arg: '<file>', help: 'PEM private key of --cert ($SOCKLINE_KEY)' },
    token: { type: 'string', arg: '<token>', help: 'clients must send this token ($SOCKLINE_TOKEN)' },
    demo: { type: 'boolean', help: 'also serve the chat page at / on the HTTP port' },
    'max-file-size': {
      type: 'string',
      arg: '<bytes>',
      help: 'largest file send-file or the chat page may leave (default 256M)',
    },
    'max-stored': {
      type: 'string',
      arg: '<bytes>',
      help: 'all files kept at once, in a temp dir (default 1G)',
    },
  },
  details: `
The server answers requests "echo", "sum" (an array of numbers) and "time", sends plain
messages back to their sender, and hosts the chat ("chat.join"; topics chat/<room>/messages
and chat/<room>/presence). Once listening it prints its URLs, then one line
"ready {json}" with them. SIGHUP restarts it on the same ports, keeping sessions: clients
reconnect and resume. SIGINT/SIGTERM stop it.

Files: "sockline send-file" leaves a file on the server and "sockline receive-file" takes
it (the oldest one, or --name); the file waits in a temp dir until one receiver has it
whole, for at most an hour, and a receiver waits until a file comes. The chat page shares
files in its room the same way; they go when the room empties. A file over --max-file-size,
or one --max-stored has no room for, is refused with ERR_FILE_TOO_LARGE or ERR_STORE_FULL.

Examples:
  sockline serve --demo
  sockline serve --tcp 0 --udp 0 --http 0
  sockline serve --cert cert.pem --key key.pem --token s3cret`,
  run: (_positionals, values) => runHub(hubOptions(values)),
};
