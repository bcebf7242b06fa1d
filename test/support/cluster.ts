import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * Server processes of a test cluster: test/support/cluster-node.ts compiled from src with
 * esbuild (platform node, packages external) and run as real child processes, so one can be
 * killed with SIGKILL. Used by test/node/cluster*.test.ts and bench/cluster-fanout.mjs.
 */

export { startRedis, type RedisServer } from './redis.js';

/** The repository root: found upwards from this module (it may run compiled, from a cache). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'sockline'
    )
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the sockline repository root');
    dir = up;
  }
}

const ROOT = findRoot();
/** Inside the repository, so the compiled script resolves `redis` and `ws` from node_modules. */
const CACHE = join(ROOT, 'node_modules', '.cache', 'sockline-cluster');

export interface ClusterNodeConfig {
  readonly name: string;
  /** '' for a process without Redis (the memory adapter): a baseline for benches. */
  readonly redisUrl: string;
  /** Key prefix in Redis: one per cluster, so tests sharing a Redis do not see each other. */
  readonly prefix: string;
  readonly sessions?: boolean;
  readonly resumeWindow?: number;
  readonly maxForwardMessages?: number;
  /** Ping period (and tolerance) in ms. @default 1000 */
  readonly heartbeatInterval?: number;
  /** Behind proxies (test/deploy): the proxies' addresses, PROXY protocol on TCP, WebSocket path. */
  readonly trustProxy?: readonly string[];
  readonly proxyProtocol?: boolean;
  readonly wsPath?: string;
  readonly maxConnectionsPerIp?: number;
  /** Fixed ports, so a process can be restarted where its proxies expect it. @default 0 (free) */
  readonly tcpPort?: number;
  readonly wsPort?: number;
  /**
   * A file the process appends every peer message to (`peer.on('message')`), one JSON line
   * each, written synchronously as the handler runs: it survives a SIGKILL. Read it with
   * {@link readMessageLog}.
   */
  readonly messageLog?: string;
}

export interface NodeEvent {
  readonly node: string;
  readonly event: string;
  readonly [key: string]: unknown;
}

export interface ClusterNode {
  readonly name: string;
  readonly tcp: string;
  readonly ws: string;
  /** Everything the process reported, in order. */
  readonly events: NodeEvent[];
  /** Resolves with the first reported event (past or future) that `match` accepts. */
  waitFor(match: (e: NodeEvent) => boolean, timeout?: number): Promise<NodeEvent>;
  /** SIGKILL: the process dies at once, as in a crash. */
  kill(): Promise<void>;
  /** Asks for a graceful `server.close()` and waits for the exit. */
  close(): Promise<void>;
  readonly exited: boolean;
}

let built: Promise<string> | undefined;

/** Compiles the node script once per test process. */
export function buildClusterNode(): Promise<string> {
  built ??= (async () => {
    const { build } = await import('esbuild');
    await mkdir(CACHE, { recursive: true });
    const outfile = join(CACHE, `cluster-node-${process.pid}-${Date.now().toString(36)}.mjs`);
    await build({
      entryPoints: [join(ROOT, 'test', 'support', 'cluster-node.ts')],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      outfile,
      logLevel: 'error',
    });
    return outfile;
  })();
  return built;
}

/** Removes the compiled script (call once the test file is done). */
export async function removeClusterBuild(): Promise<void> {
  const file = built && (await built.catch(() => undefined));
  built = undefined;
  if (file !== undefined) await rm(file, { force: true });
}

/** Starts one server process and waits until it listens. */
export async function startClusterNode(
  config: ClusterNodeConfig,
  readyTimeout = 15_000,
): Promise<ClusterNode> {
  const script = await buildClusterNode();
  const child: ChildProcess = spawn(process.execPath, [script], {
    env: { ...process.env, SOCKLINE_CLUSTER_NODE: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: NodeEvent[] = [];
  const waiters = new Set<{ match: (e: NodeEvent) => boolean; resolve: (e: NodeEvent) => void }>();
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
    if (process.env.SOCKLINE_DEBUG) process.stderr.write(`[${config.name}] ${d.toString()}`);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: NodeEvent;
    try {
      e = JSON.parse(line) as NodeEvent;
    } catch {
      return;
    }
    events.push(e);
    for (const w of [...waiters]) {
      if (w.match(e)) {
        waiters.delete(w);
        w.resolve(e);
      }
    }
  });
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitFor = (match: (e: NodeEvent) => boolean, timeout = 10_000): Promise<NodeEvent> => {
    const seen = events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (e: NodeEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(
          new Error(
            `${config.name}: no matching event within ${timeout} ms; got ${JSON.stringify(events)}\n${stderr}`,
          ),
        );
      }, timeout);
      waiters.add(w);
    });
  };
  let ready: NodeEvent;
  try {
    ready = await Promise.race([
      waitFor((e) => e.event === 'ready', readyTimeout),
      exit.then(() => {
        throw new Error(`${config.name} exited before listening:\n${stderr}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    name: config.name,
    tcp: String(ready.tcp),
    ws: String(ready.ws),
    events,
    waitFor,
    get exited() {
      return child.exitCode !== null || child.signalCode !== null;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exit;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.write('close\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Faults (uncaught errors, unhandled rejections) a node reported. */
export function faults(nodes: readonly ClusterNode[]): NodeEvent[] {
  return nodes.flatMap((n) => n.events.filter((e) => e.event === 'fault'));
}

/** One message a process's `peer.on('message')` handled (see `messageLog`). */
export interface LoggedMessage {
  /** When the handler ran: `performance.timeOrigin + performance.now()` of that process (ms). */
  readonly t: number;
  readonly node: string;
  /** `peer.id`: the session's public id, the same on every process the session moves to. */
  readonly peer: string;
  readonly value: unknown;
}

/**
 * The messages handled by the processes that wrote `files` (their `messageLog`), merged in
 * the order the handlers ran: each file in its own order, the files interleaved by time.
 */
export function readMessageLog(files: readonly string[]): LoggedMessage[] {
  const logged = files.flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return []; // that process handled no message
    }
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LoggedMessage);
  });
  // A stable sort: lines of one process with equal times keep their file order.
  return logged.sort((a, b) => a.t - b.t);
}
