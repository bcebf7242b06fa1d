/**
 * Real peers that are NOT sockline, for raw-mode and reconnect tests.
 *
 * Every peer listens on 127.0.0.1, can be stopped (the server and every connection go away,
 * the port stays reserved in the handle) and restarted on the same port, and closed for good.
 *
 * - startNodeLineEcho: node:net, splits on '\n' and echoes each complete line plus '\n'.
 * - startNodeUdpEcho:  node:dgram, answers each datagram to its sender.
 * - startSocatTcpEcho: `socat TCP4-LISTEN:<port>,...,fork PIPE` (a process per connection).
 * - startSocatUdpEcho: `socat UDP4-RECVFROM:<port>,...,fork PIPE` (a process per datagram).
 * - startPythonWsEcho: /usr/bin/python3 test/support/ws_echo.py (the `websockets` package).
 *
 * External processes are spawned detached (their own process group) and stopped by signalling
 * the whole group (SIGTERM, then SIGKILL after 2 s), so socat's forked children die too. If a
 * test forgets to close a peer, a process 'exit' hook and a small reaper process (which notices
 * when this process is gone, however it ended) kill what is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';

export interface PeerHandle {
  /** e.g. 'tcp://127.0.0.1:40123', 'udp://127.0.0.1:40124', 'ws://127.0.0.1:40125' */
  readonly url: string;
  readonly port: number;
  /** Whether the server is currently started (false after stop() or close()). */
  readonly running: boolean;
  /**
   * For peers that are external processes: the pid of the current child process (after
   * stop()/close(), the pid of the last one, so a test can check it is gone). It is also the
   * id of the child's process group. Undefined for in-process Node peers.
   */
  readonly pid?: number;
  /** Stops the server and drops every connection (the port stays known). Resolves when the port is released/closed. */
  stop(): Promise<void>;
  /** Starts it again on the same port (stopping it first if it runs); resolves when it accepts connections again. */
  restart(): Promise<void>;
  /** Stops for good. Idempotent. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const KILL_GRACE_MS = 2_000;
const STDERR_TAIL_BYTES = 8_192;

export const SOCAT_BIN = process.env.SOCKLINE_TEST_SOCAT ?? 'socat';
export const PYTHON_BIN = process.env.SOCKLINE_TEST_PYTHON ?? '/usr/bin/python3';
export const WS_ECHO_SCRIPT = fileURLToPath(new URL('./ws_echo.py', import.meta.url));

/**
 * The socat argv (after the binary) for a TCP echo on `port`: one child per connection, echoing
 * through an in-process pipe. `-b 4096` matters: socat does blocking writes into the pipe it
 * reads itself, and a write bigger than the free space left (the default 8192, or 65536)
 * deadlocks that child under bulk traffic; a write of at most one page never blocks once select()
 * reports the pipe writable.
 */
export const socatTcpEchoArgs = (port: number): string[] => [
  '-b',
  '4096',
  `TCP4-LISTEN:${port},bind=${HOST},reuseaddr,fork`,
  'PIPE',
];

/**
 * The socat argv for a UDP echo on `port`. RECVFROM+fork forks one child per datagram, which
 * answers that datagram to its sender and exits, so any number of datagrams from any number of
 * clients get answers (replies may be reordered under bursts). `-b 65536` because the default
 * 8192-byte buffer truncates larger datagrams (safe here: each child writes one datagram into an
 * empty pipe); a big `rcvbuf` so bursts are not dropped while socat forks (the kernel caps it at
 * net.core.rmem_max; with the default 208 KiB, ~250 back-to-back datagrams already overflow).
 */
export const socatUdpEchoArgs = (port: number): string[] => [
  '-T',
  '10',
  '-b',
  '65536',
  `UDP4-RECVFROM:${port},bind=${HOST},reuseaddr,rcvbuf=4194304,fork`,
  'PIPE',
];

/** The python argv for the WebSocket echo on `port` (exits by itself if this process dies). */
export const pythonWsEchoArgs = (port: number): string[] => [
  '-u',
  WS_ECHO_SCRIPT,
  String(port),
  String(process.pid),
];

// ---------------------------------------------------------------------------------------------
// Safety net for peers a test forgot to close, in two parts, shared by every copy of this module
// in one process (kept on globalThis):
// - a process 'exit' hook that SIGTERMs every live process group;
// - a tiny detached "reaper" process that learns each group over a pipe and kills whatever is
//   left when that pipe closes, i.e. when this process is gone however it ended. Vitest ends its
//   workers without running 'exit' hooks, so the hook alone is not enough.

const REAPER_SOURCE = `
const groups = new Set();
let pending = '';
const killAll = (signal) => {
  for (const pgid of groups) { try { process.kill(-pgid, signal); } catch {} }
};
process.on('SIGINT', () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  pending += text;
  for (let nl = pending.indexOf('\\n'); nl !== -1; nl = pending.indexOf('\\n')) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    const pgid = Number(line.slice(1));
    if (line[0] === '+') groups.add(pgid); else groups.delete(pgid);
  }
});
process.stdin.on('end', () => {
  if (groups.size === 0) process.exit(0);
  killAll('SIGTERM');
  setTimeout(() => { killAll('SIGKILL'); process.exit(0); }, 500);
});
`;

interface Registry {
  groups: Set<number>;
  reaper: ChildProcess | undefined;
}
const registryKey = Symbol.for('sockline.test.peers.registry');
const globalStore = globalThis as unknown as Record<symbol, Registry | undefined>;
const registry: Registry = (globalStore[registryKey] ??= (() => {
  const reg: Registry = { groups: new Set(), reaper: undefined };
  process.on('exit', () => {
    for (const pgid of reg.groups) signalGroup(pgid, 'SIGTERM');
  });
  return reg;
})());

function reaper(): ChildProcess | undefined {
  if (registry.reaper && registry.reaper.exitCode === null && registry.reaper.signalCode === null) {
    return registry.reaper;
  }
  try {
    const child = spawn(process.execPath, ['-e', REAPER_SOURCE], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', () => {});
    child.stdin!.on('error', () => {});
    child.unref();
    (child.stdin as unknown as net.Socket).unref?.();
    registry.reaper = child;
    return child;
  } catch {
    return undefined; // the 'exit' hook remains
  }
}

function trackGroup(pgid: number): void {
  registry.groups.add(pgid);
  reaper()?.stdin?.write(`+${pgid}\n`);
}

function untrackGroup(pgid: number): void {
  registry.groups.delete(pgid);
  const child = registry.reaper;
  if (child && child.exitCode === null && child.stdin?.writable) child.stdin.write(`-${pgid}\n`);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Live (non-zombie) pids of a process group, read from /proc; undefined where /proc is unavailable. */
export function processGroupMembers(pgid: number): number[] | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp ..." — comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') members.push(Number(entry));
  }
  return members;
}

/** Whether any live process remains in the group (falls back to kill(-pgid, 0) without /proc). */
export function isProcessGroupAlive(pgid: number): boolean {
  const members = processGroupMembers(pgid);
  if (members) return members.length > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left in the group
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number, stepMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (condition()) return true;
    if (Date.now() >= deadline) return false;
    await delay(stepMs);
  }
}

/** A port that is free for both TCP and UDP on 127.0.0.1 right now. */
export async function findFreePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, HOST, () => resolve());
    });
    const { port } = server.address() as net.AddressInfo;
    const udp = dgram.createSocket('udp4');
    const udpFree = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, HOST, () => resolve(true));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (udpFree) return port;
    if (attempt >= 20) throw new Error('could not find a port free for both TCP and UDP on 127.0.0.1');
  }
}

const isAddressInUse = (text: string): boolean => /address already in use/i.test(text);

// ---------------------------------------------------------------------------------------------
// The handle shared by every peer kind

interface Backend {
  /** Starts serving on `port`; rejects if that fails. */
  start(port: number): Promise<void>;
  /** Stops serving and drops every connection; resolves once the port is released. */
  stop(): Promise<void>;
  readonly pid?: number;
}

function makeHandle(scheme: string, port: number, backend: Backend, withPid: boolean): PeerHandle {
  let state: 'running' | 'stopped' | 'closed' = 'running';
  let queue: Promise<unknown> = Promise.resolve();
  // Operations run one after another, in call order, even if a test does not await them.
  const enqueue = <T>(op: () => Promise<T>): Promise<T> => {
    const result = queue.then(op);
    queue = result.catch(() => undefined);
    return result;
  };
  const handle: PeerHandle = {
    url: `${scheme}://${HOST}:${port}`,
    port,
    get running() {
      return state === 'running';
    },
    stop: () =>
      enqueue(async () => {
        if (state !== 'running') return;
        state = 'stopped';
        await backend.stop();
      }),
    restart: () =>
      enqueue(async () => {
        if (state === 'closed') throw new Error(`${handle.url}: restart() after close()`);
        if (state === 'running') {
          state = 'stopped';
          await backend.stop();
        }
        await backend.start(port);
        state = 'running';
      }),
    close: () =>
      enqueue(async () => {
        if (state === 'closed') return;
        const wasRunning = state === 'running';
        state = 'closed';
        if (wasRunning) await backend.stop();
      }),
  };
  if (withPid) Object.defineProperty(handle, 'pid', { enumerable: true, get: () => backend.pid });
  return handle;
}

// ---------------------------------------------------------------------------------------------
// In-process Node peers

/** A node:net server that buffers partial lines and echoes each complete line followed by '\n'. */
export async function startNodeLineEcho(): Promise<PeerHandle> {
  let server: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  const backend: Backend = {
    async start(port) {
      const srv = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
        let pending: Buffer = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => {
          pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
          let start = 0;
          for (let nl = pending.indexOf(0x0a); nl !== -1; nl = pending.indexOf(0x0a, start)) {
            socket.write(pending.subarray(start, nl + 1));
            start = nl + 1;
          }
          pending = start === 0 ? pending : Buffer.from(pending.subarray(start));
        });
      });
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, HOST, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      server = srv;
    },
    async stop() {
      const srv = server;
      server = undefined;
      if (!srv) return;
      const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
  await backend.start(0);
  const { port } = server!.address() as net.AddressInfo;
  return makeHandle('tcp', port, backend, false);
}

/** A node:dgram server that answers every datagram, unchanged, to its sender. */
export async function startNodeUdpEcho(): Promise<PeerHandle> {
  let socket: dgram.Socket | undefined;
  const backend: Backend = {
    async start(port) {
      const sock = dgram.createSocket('udp4');
      sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address, () => {}));
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(port, HOST, () => {
          sock.off('error', reject);
          resolve();
        });
      });
      sock.on('error', () => {});
      socket = sock;
    },
    async stop() {
      const sock = socket;
      socket = undefined;
      if (sock) await new Promise<void>((resolve) => sock.close(() => resolve()));
    },
  };
  await backend.start(0);
  const { port } = socket!.address();
  return makeHandle('udp', port, backend, false);
}

// ---------------------------------------------------------------------------------------------
// External processes

type Readiness = 'tcp-connect' | 'udp-echo' | 'stdout-ready';

interface ChildSpec {
  name: string;
  command: string;
  args: (port: number) => string[];
  env?: NodeJS.ProcessEnv;
  readiness: Readiness;
}

class ChildBackend implements Backend {
  private child: ChildProcess | undefined;
  private lastPid: number | undefined;
  private stderrTail = '';

  constructor(private readonly spec: ChildSpec) {}

  get pid(): number | undefined {
    return this.child?.pid ?? this.lastPid;
  }

  async start(port: number): Promise<void> {
    const { spec } = this;
    this.stderrTail = '';
    const child = spawn(spec.command, spec.args(port), {
      detached: true, // own process group, so stop() can signal socat's forked children too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: spec.env ?? process.env,
    });
    this.child = child;
    if (child.pid !== undefined) {
      this.lastPid = child.pid;
      trackGroup(child.pid);
    }
    // Never let a forgotten peer keep the test process alive; the safety net kills it.
    child.unref();
    let stdout = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      stdout = (stdout + text).slice(-STDERR_TAIL_BYTES);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
    });
    (child.stdout as net.Socket).unref?.();
    (child.stderr as net.Socket).unref?.();

    const describe = `${spec.name} on ${HOST}:${port} (${spec.command} ${spec.args(port).join(' ')})`;
    const stopProbing = new AbortController();
    const failure = new Promise<never>((_resolve, reject) => {
      child.once('error', (err) => reject(new Error(`${describe} could not be spawned: ${err.message}`)));
      child.once('exit', (code, signal) => {
        // Give the stderr pipe a moment to deliver the last words.
        setTimeout(() => {
          const err = new Error(
            `${describe} exited before it was ready (code ${code}, signal ${signal}); stderr:\n${this.stderrTail}`,
          ) as Error & { addressInUse?: boolean };
          err.addressInUse = isAddressInUse(this.stderrTail);
          reject(err);
        }, 20);
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${describe} was not ready within ${READY_TIMEOUT_MS} ms; stderr:\n${this.stderrTail}\nstdout:\n${stdout}`,
            ),
          ),
        READY_TIMEOUT_MS,
      );
    });
    const ready =
      spec.readiness === 'tcp-connect'
        ? probeTcp(port, stopProbing.signal)
        : spec.readiness === 'udp-echo'
          ? probeUdp(port, stopProbing.signal)
          : new Promise<void>((resolve) => {
              const onData = (): void => {
                if (/^ready$/m.test(stdout)) {
                  child.stdout!.off('data', onData);
                  resolve();
                }
              };
              child.stdout!.on('data', onData);
            });
    try {
      await Promise.race([ready, failure, timeout]);
    } catch (err) {
      stopProbing.abort();
      await this.stop();
      throw err;
    } finally {
      stopProbing.abort();
      clearTimeout(timer);
      failure.catch(() => {}); // the child exits later, on stop(); that is not a failure
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.pid === undefined) return;
    const pgid = child.pid;
    const exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let leaderGone = false;
    void exited.then(() => (leaderGone = true));

    // 1. Terminate the forked children first, so their parent (still running) reaps them and
    //    they do not linger as zombies of init.
    const others = processGroupMembers(pgid)?.filter((pid) => pid !== pgid) ?? [];
    if (others.length > 0) {
      for (const pid of others) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone already
        }
      }
      await waitFor(() => (processGroupMembers(pgid) ?? []).every((pid) => pid === pgid), 300);
    }
    // 2. Terminate the whole group, then SIGKILL whatever is left after the grace period.
    signalGroup(pgid, 'SIGTERM');
    const done = (): boolean => leaderGone && !isProcessGroupAlive(pgid);
    if (!(await waitFor(done, KILL_GRACE_MS))) {
      signalGroup(pgid, 'SIGKILL');
      await waitFor(done, KILL_GRACE_MS);
    }
    untrackGroup(pgid);
  }
}

function probeTcp(port: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const attempt = (): void => {
      if (signal.aborted) return;
      const socket = net.connect(port, HOST);
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

function probeUdp(port: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = dgram.createSocket('udp4');
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearInterval(timer);
      try {
        socket.close();
      } catch {
        // already closed
      }
    };
    signal.addEventListener('abort', finish, { once: true });
    socket.on('error', () => {}); // ICMP port unreachable while the peer starts
    socket.once('message', () => {
      finish();
      resolve();
    });
    socket.bind(0, HOST, () => {
      const send = (): void => socket.send('sockline-peer-probe', port, HOST, () => {});
      send();
      timer = setInterval(send, 50);
    });
  });
}

async function startChildPeer(scheme: string, spec: ChildSpec): Promise<PeerHandle> {
  // The port is chosen by binding to port 0 and releasing it, so another process could grab it
  // in between; on "address already in use" try a fresh one.
  for (let attempt = 1; ; attempt++) {
    const port = await findFreePort();
    const backend = new ChildBackend(spec);
    try {
      await backend.start(port);
    } catch (err) {
      if ((err as { addressInUse?: boolean }).addressInUse && attempt < 5) continue;
      throw err;
    }
    // restart() on the same port retries briefly if the port is momentarily busy.
    const retrying: Backend = {
      get pid() {
        return backend.pid;
      },
      stop: () => backend.stop(),
      async start(p) {
        const deadline = Date.now() + READY_TIMEOUT_MS;
        for (;;) {
          try {
            return await backend.start(p);
          } catch (err) {
            if (!(err as { addressInUse?: boolean }).addressInUse || Date.now() > deadline) throw err;
            await delay(100);
          }
        }
      },
    };
    return makeHandle(scheme, port, retrying, true);
  }
}

/** `socat -b 4096 TCP4-LISTEN:<port>,bind=127.0.0.1,reuseaddr,fork PIPE` */
export function startSocatTcpEcho(): Promise<PeerHandle> {
  return startChildPeer('tcp', {
    name: 'socat TCP echo',
    command: SOCAT_BIN,
    args: socatTcpEchoArgs,
    readiness: 'tcp-connect',
  });
}

/** `socat -T 10 -b 65536 UDP4-RECVFROM:<port>,bind=127.0.0.1,reuseaddr,rcvbuf=4194304,fork PIPE` */
export function startSocatUdpEcho(): Promise<PeerHandle> {
  return startChildPeer('udp', {
    name: 'socat UDP echo',
    command: SOCAT_BIN,
    args: socatUdpEchoArgs,
    readiness: 'udp-echo',
  });
}

/** `/usr/bin/python3 -u test/support/ws_echo.py <port> <our pid>` (websockets package). */
export function startPythonWsEcho(): Promise<PeerHandle> {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1' };
  // A pyenv/virtualenv on PATH must not leak into the system interpreter.
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  return startChildPeer('ws', {
    name: 'python websockets echo',
    command: PYTHON_BIN,
    args: pythonWsEchoArgs,
    env,
    readiness: 'stdout-ready',
  });
}
