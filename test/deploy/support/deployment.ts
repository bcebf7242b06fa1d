import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readMessageLog,
  startClusterNode,
  type ClusterNode,
  type ClusterNodeConfig,
  type LoggedMessage,
} from '../../support/cluster.js';
import { startHaproxy, startNginx, type Backend, type ProxyProcess } from './proxies.js';

/**
 * The deployment of docs/deploy.md, for real: three server processes sharing one Redis, behind
 * Debian's nginx (WebSocket) and HAProxy (TCP with PROXY protocol v2), each configured as the
 * document says. Used by test/deploy/proxies.test.ts, test/deploy/redis-crash.test.ts and
 * bench/deploy-recovery.mjs.
 */

/** The WebSocket path of docs/deploy.md (`location = /live`). */
export const DEPLOY_PATH = '/live';

/** A server process as the proxies see it: its TCP (PROXY protocol) and WebSocket ports. */
export function backendOf(node: ClusterNode): Backend {
  return { tcpPort: Number(new URL(node.tcp).port), wsPort: Number(new URL(node.ws).port) };
}

export interface DeploymentOptions {
  readonly redisUrl: string;
  /** Key prefix in Redis (one per deployment). */
  readonly prefix: string;
  /** Keep every message the processes' `peer.on('message')` handled (see `messages()`). */
  readonly logMessages?: boolean;
}

export interface Deployment {
  /** The server processes, `p1`..`p3`; a restarted one takes the place of the one it replaces. */
  readonly nodes: ClusterNode[];
  readonly nginx: ProxyProcess;
  readonly haproxy: ProxyProcess;
  /** Every message handled so far, in the order the handlers ran (see `readMessageLog`). */
  messages(): LoggedMessage[];
  /**
   * Starts a process again (after a kill) under its name, on the ports the proxies send its
   * clients to, as a supervisor such as systemd would.
   */
  restart(node: ClusterNode): Promise<ClusterNode>;
  /** Closes the processes and the proxies, and removes the message logs. */
  stop(): Promise<void>;
}

/** Starts three processes on `redisUrl`, then nginx and HAProxy in front of them. */
export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const dir = options.logMessages === true ? mkdtempSync(join(tmpdir(), 'sockline-messages-')) : undefined;
  const config = (name: string): ClusterNodeConfig => ({
    name,
    redisUrl: options.redisUrl,
    prefix: options.prefix,
    trustProxy: ['127.0.0.1'],
    proxyProtocol: true,
    wsPath: DEPLOY_PATH,
    ...(dir === undefined ? {} : { messageLog: join(dir, `${name}.log`) }),
  });
  const names = ['p1', 'p2', 'p3'];
  const nodes: ClusterNode[] = [];
  const proxies: ProxyProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.close()));
    await Promise.all(proxies.map((p) => p.stop()));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await startAll(
      names.map((name) => startClusterNode(config(name))),
      nodes,
    );
    const backends = nodes.map(backendOf);
    await startAll([startNginx(backends, DEPLOY_PATH), startHaproxy(backends)], proxies);
    const [nginx, haproxy] = proxies as [ProxyProcess, ProxyProcess];
    return {
      nodes,
      nginx,
      haproxy,
      messages: () => (dir === undefined ? [] : readMessageLog(names.map((n) => join(dir, `${n}.log`)))),
      async restart(node) {
        const { tcpPort, wsPort } = backendOf(node);
        const again = await startClusterNode({ ...config(node.name), tcpPort, wsPort });
        nodes[nodes.indexOf(node)] = again;
        return again;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Waits for every start; what started goes into `into` (to be stopped), the first failure is thrown. */
async function startAll<T>(starts: ReadonlyArray<Promise<T>>, into: T[]): Promise<void> {
  const settled = await Promise.allSettled(starts);
  for (const s of settled) if (s.status === 'fulfilled') into.push(s.value);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
