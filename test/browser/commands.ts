import type { BrowserCommand } from 'vitest/node';
import { unusedTcpPort, type DropMode, type EchoServer } from '../support/transport-servers.js';

interface Restartable {
  stop(): Promise<void>;
  start(): Promise<void>;
}

const restartable = (): Restartable => {
  const r = (globalThis as { __socklineRestartable?: Restartable }).__socklineRestartable;
  if (!r) throw new Error('the restartable WebSocket server was not started by the global setup');
  return r;
};

const protocol = (): { dropAll(): void; received: Array<{ value: unknown }> } => {
  const p = (globalThis as { __socklineProtocol?: { dropAll(): void; received: Array<{ value: unknown }> } })
    .__socklineProtocol;
  if (!p) throw new Error('the protocol server was not started by the global setup');
  return p;
};

/** Kills every connection to the protocol server, as a crash would; sessions stay resumable. */
export const dropProtocolConnections: BrowserCommand<[]> = () => protocol().dropAll();
/** What the protocol server received as plain messages, in order. */
export const protocolReceived: BrowserCommand<[]> = () => protocol().received.map((r) => r.value);

const hub = (): { publish(topic: string, value: unknown): void; received: unknown[] } => {
  const h = (
    globalThis as { __socklineHub?: { publish(topic: string, value: unknown): void; received: unknown[] } }
  ).__socklineHub;
  if (!h) throw new Error('the createServer hub was not started by the global setup');
  return h;
};

/** A Node client on TCP publishes to the createServer hub. */
export const tcpPublish: BrowserCommand<[topic: string, value: unknown]> = (_ctx, topic, value) =>
  hub().publish(topic, value);
/** What the Node TCP client received on `mixed/#`. */
export const tcpReceived: BrowserCommand<[]> = () => hub().received;

const contract = (): EchoServer => {
  const c = (globalThis as { __socklineContract?: EchoServer }).__socklineContract;
  if (!c) throw new Error('the contract echo server was not started by the global setup');
  return c;
};

/** Ends ('end', a close frame) or aborts ('reset', an RST) every connection to the contract echo. */
export const dropContractConnections: BrowserCommand<[how: DropMode]> = (_ctx, how) =>
  contract().dropConnections(how);
/** A `ws://` URL on 127.0.0.1 where nothing listens (it was free a moment ago). */
export const unusedWsUrl: BrowserCommand<[]> = async () => `ws://127.0.0.1:${await unusedTcpPort()}`;

/** What the page-lifecycle tests reach in Node (see the global setup). */
export interface LifecycleRegistry {
  /** Sessions the lifecycle server holds now, why each one ended, and the messages it received. */
  stats(): { sessions: number; disconnects: string[]; received: unknown[] };
  /**
   * The proxy in front of it: `lose-up` loses what pages send (the server hears nothing),
   * `freeze` silences every open connection for good (a path gone while offline; new ones
   * work), `none` ends `lose-up`.
   */
  fault(fault: 'lose-up' | 'freeze' | 'none'): void;
  /** Restarts `sockline serve`'s server as SIGHUP does: a drain, then a new server, same sessions. */
  restartServe(): Promise<void>;
}

const lifecycle = (): LifecycleRegistry => {
  const l = (globalThis as { __socklineLifecycle?: LifecycleRegistry }).__socklineLifecycle;
  if (!l) throw new Error('the lifecycle server was not started by the global setup');
  return l;
};

export const lifecycleStats: BrowserCommand<[]> = () => lifecycle().stats();
export const lifecycleFault: BrowserCommand<[fault: 'lose-up' | 'freeze' | 'none']> = (_ctx, fault) =>
  lifecycle().fault(fault);
export const restartServe: BrowserCommand<[]> = () => lifecycle().restartServe();

/** Run in Node on behalf of the page: stop and start the restartable echo server. */
export const stopWsServer: BrowserCommand<[]> = () => restartable().stop();
export const startWsServer: BrowserCommand<[]> = () => restartable().start();

declare module 'vitest/browser' {
  interface BrowserCommands {
    stopWsServer: () => Promise<void>;
    startWsServer: () => Promise<void>;
    dropProtocolConnections: () => Promise<void>;
    protocolReceived: () => Promise<unknown[]>;
    tcpPublish: (topic: string, value: unknown) => Promise<void>;
    tcpReceived: () => Promise<unknown[]>;
    dropContractConnections: (how: 'end' | 'reset') => Promise<void>;
    unusedWsUrl: () => Promise<string>;
    lifecycleStats: () => Promise<{ sessions: number; disconnects: string[]; received: unknown[] }>;
    lifecycleFault: (fault: 'lose-up' | 'freeze' | 'none') => Promise<void>;
    restartServe: () => Promise<void>;
  }
}
