// Type-checked by test/e2e/consumers.test.ts as a Node user's TypeScript would (`node16`, ESM and
// CommonJS, strict, no skipLibCheck), against the package made by `npm pack`. Each
// `@ts-expect-error` line is a mistake that must not compile.
import { connect, createServer, isSocklineError, RemoteError } from 'sockline';
import type {
  ConnectOptions,
  Link,
  Peer,
  ProtocolConnectOptions,
  SocklineClient,
  SocklineError,
} from 'sockline';
import * as browser from 'sockline/browser';
import * as core from 'sockline/core';
import * as node from 'sockline/node';

export async function server(): Promise<string> {
  const s = createServer({ tcp: { port: 0 }, ws: { port: 0 } });
  s.handle('sum', (numbers: number[]) => numbers.reduce((a, b) => a + b, 0));
  s.handle('user', (id: number) => {
    if (id < 0) throw new RemoteError('NOT_FOUND', `no user ${id}`, { data: { id } });
    return { id };
  });
  s.on('connection', (peer: Peer) => {
    peer.on('message', (value) => peer.send(value));
    // @ts-expect-error a misspelt Peer event
    peer.on('mesage', () => {});
  });
  s.on('disconnect', (peer, { reason }) => void [peer.id, reason]);
  // @ts-expect-error a misspelt server event
  s.on('conection', () => {});
  const { tcp } = await s.listen();
  return tcp!;
}

export async function client(url: string): Promise<number> {
  const c = connect(url, { requestTimeout: 5_000, reconnect: { maxRetries: 3 }, headers: { a: 'b' } });
  const sum: number = await c.request<number>('sum', [1, 2]);
  // @ts-expect-error the result is a number
  (await c.request<number>('sum', [1])).toUpperCase();
  // @ts-expect-error a misspelt client event
  c.on('mesage', () => {});
  c.on('message', (value, meta) => void [value, meta.topic]);
  c.on('deferred', ({ delay, reason }) => void [delay, reason]);
  c.subscribe<{ text: string }>('chat/+', (msg, { topic }) => void [msg.text, topic]);
  c.handle('confirm', (question: string) => question.length > 0);
  try {
    await c.request('user', -1);
  } catch (err) {
    if (err instanceof RemoteError) void [err.remoteCode.toUpperCase(), err.data];
    if (isSocklineError(err) && err.code === 'ERR_UNKNOWN_METHOD') void err.remoteCode;
    if (isSocklineError(err, 'ERR_UPGRADE_REFUSED')) void err.status;
  }
  const raw = connect(url, { protocol: 'raw', framing: 'lines' });
  raw.on('message', (line) => void line);
  // @ts-expect-error a raw link has no request()
  void raw.request('sum');
  // @ts-expect-error a misspelt link event
  raw.on('messag', () => {});
  const rawOptions: ConnectOptions = { protocol: 'raw' };
  const alsoRaw: Link = connect(url, rawOptions);
  const protocolOptions: ProtocolConnectOptions = { requestTimeout: 1_000, token: () => 'x' };
  const alsoClient: SocklineClient = connect(url, protocolOptions);
  const either = (o: ConnectOptions): Link | SocklineClient => connect(url, o);
  // @ts-expect-error an option of protocol mode in raw mode
  connect(url, { protocol: 'raw', token: 'x' });
  // @ts-expect-error a misspelt option
  connect(url, { reconect: false });
  // @ts-expect-error an option of the wrong type
  connect(url, { reconnect: 'yes' });
  // @ts-expect-error raw mode's text option in protocol mode
  connect(url, { text: true });
  // One declaration of each class, whichever entry point it comes from.
  const fromBrowser: browser.SocklineClient = c;
  const fromCore: core.SocklineClient = fromBrowser;
  const fromNode: node.SocklineClient = fromCore;
  const link: core.Link = raw;
  const linkAgain: browser.Link = link;
  const error: SocklineError = new core.SocklineError('ERR_PROTOCOL', 'x');
  void [alsoRaw, alsoClient, either, fromNode, linkAgain, error];
  return sum;
}
