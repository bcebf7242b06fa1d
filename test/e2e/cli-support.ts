import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built `sockline` command and the `npm start` script, as users run them. */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export const START = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url));

/** A child process with its output kept, for waiting on lines. */
export interface Child {
  readonly process: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in stdout (or stderr), rejects after `ms`. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr', ms?: number): Promise<RegExpMatchArray>;
  write(text: string): void;
}

/** Runs `node <script> ...args` in a child process. */
export function runNode(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const waiters: Array<() => void> = [];
  const handle: Child = {
    process: child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    waitFor(pattern, stream = 'stdout', ms = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = handle[stream].match(pattern);
          if (match === null) return false;
          clearTimeout(timer);
          resolve(match);
          return true;
        };
        const timer = setTimeout(() => {
          reject(
            new Error(
              `timed out waiting for ${String(pattern)} on ${stream}\nstdout: ${handle.stdout}\nstderr: ${handle.stderr}`,
            ),
          );
        }, ms);
        const waiter = (): void => {
          if (!check()) waiters.push(waiter);
        };
        if (!check()) waiters.push(waiter);
      });
    },
    write: (text) => void child.stdin.write(text),
  };
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    handle.stdout += chunk;
    wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    handle.stderr += chunk;
    wake();
  });
  child.stdin.on('error', () => {});
  return handle;
}

/** Runs the CLI to completion: exit code and output. */
export async function runCli(
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = runNode(CLI, args, options.env);
  if (options.input !== undefined) child.process.stdin!.end(options.input);
  const code = await child.exited;
  return { code, stdout: child.stdout, stderr: child.stderr };
}

/** URLs that `serve` prints on its `ready {json}` line. */
export interface ServeAddresses {
  tcp?: string;
  tls?: string;
  udp?: string;
  ws?: string;
  wss?: string;
  page?: string;
}

/** Starts `sockline serve` (or `npm start`'s script) on free ports; resolves once it is ready. */
export async function startServe(
  args: readonly string[] = [],
  script = CLI,
): Promise<{ child: Child; addresses: ServeAddresses; stop(): Promise<number | null> }> {
  const base = script === CLI ? ['serve'] : [];
  const child = runNode(script, [...base, '--tcp', '0', '--udp', '0', '--http', '0', ...args]);
  const [, json] = await child.waitFor(/^ready (\{.*\})$/m);
  return {
    child,
    addresses: JSON.parse(json!) as ServeAddresses,
    async stop() {
      if (child.process.exitCode === null) child.process.kill('SIGINT');
      return child.exited;
    },
  };
}
