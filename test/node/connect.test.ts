import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/node/index.js';
import { startTcpEcho, startWsEcho, type RunningServer } from '../support/servers.js';

const text = (data: Uint8Array | string): string =>
  typeof data === 'string' ? data : new TextDecoder().decode(data);

describe('walking skeleton (Node)', () => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('echoes a message over TCP in raw mode', async () => {
    server = await startTcpEcho();
    const conn = connect(server.url, { protocol: 'raw' });
    let received = '';
    const echoed = new Promise<void>((resolve) =>
      conn.on('message', (data) => {
        received += text(data);
        if (received === 'hello over tcp') resolve();
      }),
    );
    await conn.opened;
    expect(conn.send('hello over tcp')).toBe(true);
    await echoed;
    const info = await conn.close();
    expect(info.wasOpen).toBe(true);
    expect(info.error).toBeUndefined();
  });

  it('echoes text and binary over WebSocket in raw mode', async () => {
    server = await startWsEcho();
    const conn = connect(server.url, { protocol: 'raw' });
    const messages: Array<Uint8Array | string> = [];
    const two = new Promise<void>((resolve) =>
      conn.on('message', (data) => {
        messages.push(data);
        if (messages.length === 2) resolve();
      }),
    );
    await conn.opened;
    conn.send('hello over ws');
    conn.send(new Uint8Array([0, 1, 2, 255]));
    await two;
    expect(messages[0]).toBe('hello over ws');
    expect(Array.from(messages[1] as Uint8Array)).toEqual([0, 1, 2, 255]);
    const info = await conn.close();
    expect(info.code).toBe(1000);
  });

  it('rejects `opened` with a typed error when nothing listens', async () => {
    const tmp = await startTcpEcho();
    await tmp.close();
    const conn = connect(tmp.url);
    await expect(conn.opened).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
  });

  it('refuses an unknown scheme with ERR_INVALID_URL', () => {
    expect(() => connect('http://127.0.0.1:80')).toThrowError(
      expect.objectContaining({ code: 'ERR_INVALID_URL' }),
    );
  });
});
