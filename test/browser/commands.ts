import type { BrowserCommand } from 'vitest/node';

interface Restartable {
  stop(): Promise<void>;
  start(): Promise<void>;
}

const restartable = (): Restartable => {
  const r = (globalThis as { __socklineRestartable?: Restartable }).__socklineRestartable;
  if (!r) throw new Error('the restartable WebSocket server was not started by the global setup');
  return r;
};

/** Run in Node on behalf of the page: stop and start the restartable echo server. */
export const stopWsServer: BrowserCommand<[]> = () => restartable().stop();
export const startWsServer: BrowserCommand<[]> = () => restartable().start();

declare module 'vitest/browser' {
  interface BrowserCommands {
    stopWsServer: () => Promise<void>;
    startWsServer: () => Promise<void>;
  }
}
