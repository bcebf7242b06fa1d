// Child processes of the harness: spawned pinned to one CPU (taskset), spoken to over IPC, and
// never left behind: every child is tracked and killed on exit, error, Ctrl-C or SIGTERM.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));
const WORKER = fileURLToPath(new URL('../worker.mjs', import.meta.url));

/** True when processes can be pinned to a CPU. */
export const canPin = TASKSET !== undefined;

/** The CPUs of the two roles: the server on one core, the clients on another. */
export const CPU = Object.freeze({ server: 0, client: 1 });

const live = new Set();

/** Kills every child still running (SIGKILL: used on the way out). */
export function killAll() {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      killAll();
      process.stderr.write(`\n${signal}: stopped, child processes killed\n`);
      process.exit(130);
    });
  }
}

/**
 * Spawns `node [nodeArgs] <script> [args]` with an IPC channel, pinned to `cpu` when taskset
 * exists. stdout and stderr are inherited unless piped (a child's last line may be its result).
 */
export function spawnNode(
  script,
  args,
  { cpu, nodeArgs = [], env, stdout = 'inherit', stderr = 'inherit', ipc = true } = {},
) {
  hookExit();
  let command = process.execPath;
  let argv = [...nodeArgs, script, ...args];
  if (cpu !== undefined && TASKSET !== undefined) {
    argv = ['-c', String(cpu), command, ...argv];
    command = TASKSET;
  }
  const stdio = ['ignore', stdout, stderr];
  if (ipc) stdio.push('ipc');
  const child = spawn(command, argv, { stdio, env: { ...process.env, ...env } });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child) {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * A bench worker (bench/worker.mjs) in its own process: `ask(message)` resolves with its next
 * reply, rejects on `{ error }`, on exit, or after `timeout` ms.
 */
export class Worker {
  #child;
  #queue = Promise.resolve();

  constructor(role, { cpu, env } = {}) {
    // --expose-gc: the idle-memory bench measures after a full GC; harmless elsewhere.
    this.#child = spawnNode(WORKER, [role], { cpu, env, nodeArgs: ['--expose-gc'] });
    this.ready = this.#next(30_000, 'start');
  }

  get pid() {
    return this.#child.pid;
  }

  get child() {
    return this.#child;
  }

  /** One question at a time; answers come back in order. */
  ask(message, timeout = 120_000) {
    const answer = this.#queue.then(() => {
      this.#child.send(message);
      return this.#next(timeout, message.cmd);
    });
    this.#queue = answer.catch(() => {});
    return answer;
  }

  #next(timeout, what) {
    const child = this.#child;
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (m) => {
        done();
        if (m && typeof m.error === 'string') reject(new Error(m.error));
        else resolve(m);
      };
      const onExit = (code, signal) => {
        done();
        reject(new Error(`worker exited (${signal ?? code}) during '${what}'`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`worker did not answer '${what}' within ${timeout / 1000} s`));
      }, timeout);
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  }

  /** Asks the worker to exit; kills it if it does not within `grace` ms. */
  async stop(grace = 3_000) {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ cmd: 'exit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), grace);
    await exited(child);
    clearTimeout(timer);
  }

  /** Kills the worker at once (the reconnect storm's server crash). */
  async kill() {
    this.#child.kill('SIGKILL');
    await exited(this.#child);
  }
}
