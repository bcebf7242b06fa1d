import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../support/redis.js';

/**
 * Debian's nginx and haproxy, run by the tests with the configurations of docs/deploy.md:
 * each is read out of the document (the fenced block after `<!-- config: NAME -->`), and only
 * addresses and ports are changed, plus the file paths an unprivileged run needs (pid, logs,
 * temp files in a temp dir; nginx `daemon off`, HAProxy in the foreground).
 */

/** docs/deploy.md, found upwards from this module (it may run compiled, from elsewhere). */
function findDoc(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'docs', 'deploy.md');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) return join(process.cwd(), 'docs', 'deploy.md');
    dir = up;
  }
}

const DOC = findDoc();
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
const HAPROXY = process.env.HAPROXY ?? '/usr/sbin/haproxy';

/** The fenced block that follows `<!-- config: name -->` in docs/deploy.md. */
export function deployConfig(name: string): string {
  const doc = readFileSync(DOC, 'utf8');
  const marker = doc.indexOf(`<!-- config: ${name} -->`);
  if (marker < 0) throw new Error(`docs/deploy.md has no config block "${name}"`);
  const open = doc.indexOf('```', marker);
  const start = doc.indexOf('\n', open) + 1;
  const end = doc.indexOf('\n```', start);
  return doc.slice(start, end + 1);
}

/** Replaces every `from` in `text`, failing if it is not there (the document changed). */
function swap(text: string, from: string | RegExp, to: string): string {
  const found = typeof from === 'string' ? text.includes(from) : from.test(text);
  if (!found) throw new Error(`the config of docs/deploy.md no longer contains ${String(from)}`);
  return typeof from === 'string' ? text.split(from).join(to) : text.replace(from, to);
}

/** A server process behind the proxies: its TCP (PROXY protocol) and WebSocket ports. */
export interface Backend {
  readonly tcpPort: number;
  readonly wsPort: number;
}

/** A proxy process the test started. */
export interface ProxyProcess {
  /** The URL clients connect to. */
  readonly url: string;
  readonly port: number;
  /** Graceful reload (nginx: SIGHUP to the master; HAProxy: SIGUSR2 to the master). */
  reload(): void;
  stop(): Promise<void>;
  /** What the proxy wrote to its logs (for failure messages). */
  log(): string;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}:\n${log()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > until) throw new Error(`not listening on ${port}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

function run(binary: string, args: string[], dir: string, port: number, url: string): Promise<ProxyProcess> {
  let output = '';
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer): void => void (output = (output + d.toString()).slice(-8_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = (): string => {
    let files = '';
    for (const name of ['error.log']) {
      try {
        files += readFileSync(join(dir, name), 'utf8').slice(-8_000);
      } catch {
        // not written
      }
    }
    return output + files;
  };
  return waitForPort(port, child, log).then(
    () => ({
      url,
      port,
      reload: () => void child.kill(binary === NGINX ? 'SIGHUP' : 'SIGUSR2'),
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      },
      log,
    }),
    (err: unknown) => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw err;
    },
  );
}

/** A fresh directory nginx's workers (which drop root to `nobody`) can read. */
function workDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** nginx with docs/deploy.md's configuration, in front of `backends` (three, as documented). */
export async function startNginx(backends: readonly Backend[], path = '/live'): Promise<ProxyProcess> {
  const port = await freePort();
  let site = deployConfig('nginx-site');
  site = swap(site, 'listen 80;', `listen 127.0.0.1:${port};`);
  site = swap(site, 'location = /live {', `location = ${path} {`);
  backends.forEach((b, i) => (site = swap(site, `127.0.0.1:${8081 + i} `, `127.0.0.1:${b.wsPort} `)));
  const dir = workDir('sockline-nginx-');
  writeFileSync(join(dir, 'sockline.conf'), site);
  const main = [
    'daemon off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    deployConfig('nginx-main'),
    'http {',
    `  client_body_temp_path ${dir}/body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  fastcgi_temp_path ${dir}/fastcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi;`,
    `  scgi_temp_path ${dir}/scgi;`,
    '  access_log off;',
    `  include ${dir}/sockline.conf;`,
    '}',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), main);
  return run(
    NGINX,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
    dir,
    port,
    `ws://127.0.0.1:${port}${path}`,
  );
}

/** HAProxy with docs/deploy.md's configuration, in front of `backends` (three, as documented). */
export async function startHaproxy(backends: readonly Backend[]): Promise<ProxyProcess> {
  const port = await freePort();
  let config = deployConfig('haproxy');
  config = swap(config, 'bind :7000', `bind 127.0.0.1:${port}`);
  backends.forEach((b, i) => {
    config = swap(config, `127.0.0.1:${7001 + i} `, `127.0.0.1:${b.tcpPort} `);
    config = swap(config, `check port ${8081 + i}`, `check port ${b.wsPort}`);
  });
  // HAProxy refuses to start when maxconn needs more file descriptors than the hard limit
  // allows (2 per connection): the documented 20 000 is scaled to a test machine's limit.
  config = swap(config, /maxconn 20000/g, 'maxconn 8000');
  // Errors and alerts to stderr (the test's log) rather than syslog.
  config = swap(config, 'global\n', 'global\n    log stderr format raw local0 err\n');
  const dir = workDir('sockline-haproxy-');
  writeFileSync(join(dir, 'haproxy.cfg'), config);
  // -W: master-worker (reload with SIGUSR2), -db: in the foreground.
  return run(HAPROXY, ['-W', '-db', '-f', join(dir, 'haproxy.cfg')], dir, port, `tcp://127.0.0.1:${port}`);
}
