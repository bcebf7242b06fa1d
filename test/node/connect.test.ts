import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect } from '../../src/node/index.js';
import type { Link, LinkMessage } from '../../src/core/index.js';
import { startTcpEcho, startWsEcho, type RunningServer } from '../support/servers.js';

const text = (data: LinkMessage): string =>
  typeof data === 'string' ? data : new TextDecoder().decode(data);

function next(link: Link, count = 1): Promise<LinkMessage[]> {
  const got: LinkMessage[] = [];
  return new Promise((resolve) => {
    const off = link.on('message', (m) => {
      got.push(m);
      if (got.length === count) {
        off();
        resolve(got);
      }
    });
  });
}

describe('connect() in Node', () => {
  let server: RunningServer | undefined;
  let link: Link | undefined;
  afterEach(async () => {
    await link?.close();
    await server?.close();
    server = link = undefined;
  });

  it('echoes length-prefixed frames over TCP, whatever the chunking', async () => {
    server = await startTcpEcho();
    link = connect(server.url, { protocol: 'raw' });
    const replies = next(link, 100);
    await link.opened;
    for (let i = 0; i < 100; i++) link.send(`message ${i}`);
    expect((await replies).map(text)).toEqual(Array.from({ length: 100 }, (_, i) => `message ${i}`));
  });

  it('echoes text and binary over WebSocket, through ws or an injected WebSocket constructor', async () => {
    server = await startWsEcho();
    for (const options of [{ protocol: 'raw' as const }, { protocol: 'raw' as const, WebSocket }]) {
      link = connect(server.url, options);
      const replies = next(link, 2);
      await link.opened;
      link.send('hello over ws');
      link.send(new Uint8Array([0, 1, 2, 255]));
      const [t, b] = await replies;
      expect(t).toBe('hello over ws');
      expect(Array.from(b as Uint8Array)).toEqual([0, 1, 2, 255]);
      await link.close();
    }
  });

  it('rejects `opened` with a typed error when nothing listens and reconnecting is off', async () => {
    const tmp = await startTcpEcho();
    await tmp.close();
    link = connect(tmp.url, { protocol: 'raw', reconnect: false });
    await expect(link.opened).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
    expect(link.state).toBe('closed');
  });

  it('rotates through a list of URLs, one per attempt', async () => {
    server = await startTcpEcho();
    const dead = await startTcpEcho();
    await dead.close();
    link = connect([dead.url, server.url], { protocol: 'raw', reconnect: { initialDelay: 1 } });
    await link.opened;
    expect(link.state).toBe('open');
  });

  it('re-evaluates a URL provider on every attempt', async () => {
    server = await startTcpEcho();
    const dead = await startTcpEcho();
    await dead.close();
    const seen: number[] = [];
    link = connect(
      async (attempt) => {
        seen.push(attempt);
        return seen.length < 3 ? dead.url : server!.url;
      },
      { protocol: 'raw', reconnect: { initialDelay: 1 } },
    );
    await link.opened;
    expect(seen).toEqual([0, 1, 2]);
  });

  it('refuses an unknown scheme or a missing port with ERR_INVALID_URL, at once', () => {
    expect(() => connect('http://127.0.0.1:80')).toThrowError(
      expect.objectContaining({ code: 'ERR_INVALID_URL' }),
    );
    expect(() => connect('tcp://127.0.0.1')).toThrowError(/needs a port/);
  });

  it('validates options at the boundary with the option name and the bad value', () => {
    expect(() => connect('tcp://127.0.0.1:1', { connectTimeout: -1 })).toThrowError(/connectTimeout: -1/);
    expect(() => connect('tcp://127.0.0.1:1', { reconnect: { jitter: 2 } })).toThrowError(RangeError);
    expect(() => connect('tcp://127.0.0.1:1', { outbox: { overflow: 'nope' as never } })).toThrowError(
      /outbox.overflow/,
    );
  });
});
