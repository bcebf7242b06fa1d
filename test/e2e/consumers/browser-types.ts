// Type-checked by test/e2e/consumers.test.ts as a bundler user's TypeScript would
// (`moduleResolution: bundler`, DOM, no @types/node, strict, no skipLibCheck), against the
// package made by `npm pack`: `sockline` resolves to the browser build's types.
import { connect, RemoteError, type SocklineClient } from 'sockline';
import * as browser from 'sockline/browser';
import * as core from 'sockline/core';

export async function app(): Promise<number> {
  const client = connect('wss://example.com/ws', { token: async () => 'x', requestTimeout: 2_000 });
  client.on('state', ({ from, to }) => void [from, to]);
  const n: number = await client.request<number>('sum', [1, 2]);
  // @ts-expect-error a misspelt client event
  client.on('mesage', () => {});
  // @ts-expect-error raw links have no subscribe()
  connect('wss://example.com/ws', { protocol: 'raw' }).subscribe('a', () => {});
  // @ts-expect-error the browser build has no server
  void import('sockline').then((m) => m.createServer);
  const same: browser.SocklineClient = client;
  const back: SocklineClient = same;
  const fromCore: core.SocklineClient = back;
  client.handle('confirm', (question: string) => window.confirm(question));
  try {
    await client.request('x');
  } catch (err) {
    if (err instanceof RemoteError) void err.data;
  }
  void fromCore;
  return n;
}
