import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * How a test Redis keeps its data: `none` (the default: nothing survives a restart) or `aof`
 * (append-only file with `appendfsync always`, in a temp dir: every acknowledged write is on
 * disk before its reply, so it survives a SIGKILL; docs/scaling.md).
 */
export type RedisPersistence = 'none' | 'aof';

/** A real `redis-server` on 127.0.0.1, stoppable, killable and restartable on its port. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly persistence: RedisPersistence;
  /** Stops it (SIGTERM): every client connection drops; without persistence, data is gone. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash: nothing is saved beyond what the persistence already wrote. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty without persistence, else from its files). */
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  remove(): Promise<void>;
  /** Sends one command and returns the raw reply (for checks in tests). */
  command(...args: string[]): Promise<string>;
}

const BINARY = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/**
 * A free loopback port. Redis cannot bind port 0 and report it, so one is found by
 * binding 0 here and releasing it (another process could take it in between; unlikely).
 */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Sends one RESP command over a fresh connection and resolves with the reply's text. */
function send(port: number, args: readonly string[], timeout = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on port ${port}: no reply within ${timeout} ms`));
    }, timeout);
    socket.on('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.endsWith('\r\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function waitForPing(port: number, child: ChildProcess, deadline = 10_000): Promise<void> {
  const until = Date.now() + deadline;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    try {
      if ((await send(port, ['PING'], 500)).startsWith('+PONG')) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > until) throw new Error(`redis-server on port ${port} did not answer PING`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts `redis-server` on a free port and waits until it answers PING. */
export async function startRedis(persistence: RedisPersistence = 'none'): Promise<RedisServer> {
  const port = await freePort();
  // Only a persistent Redis writes files: each gets a directory of its own.
  const dir = persistence === 'aof' ? mkdtempSync(join(tmpdir(), 'sockline-redis-')) : undefined;
  let child: ChildProcess | undefined;
  let log = '';
  const files =
    persistence === 'aof'
      ? ['--appendonly', 'yes', '--appendfsync', 'always', '--aof-use-rdb-preamble', 'yes']
      : ['--appendonly', 'no'];
  const start = async (): Promise<void> => {
    const c = spawn(
      BINARY,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        ...(dir === undefined ? [] : ['--dir', dir]),
        '--save',
        '',
        ...files,
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    c.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
    c.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
    try {
      await waitForPing(port, c);
    } catch (err) {
      c.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${log}`, { cause: err });
    }
  };
  const end = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  const stop = (): Promise<void> => end('SIGTERM');
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    persistence,
    stop,
    kill: () => end('SIGKILL'),
    start,
    async remove() {
      await end('SIGKILL');
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
    command: (...args) => send(port, args),
  };
}
