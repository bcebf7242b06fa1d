import { describe, expect, inject, it } from 'vitest';
import { connect, connectRaw } from '../../src/browser/index.js';

describe('connect() in Chromium', () => {
  it('runs in a real browser with a native WebSocket', () => {
    expect(typeof navigator.userAgent).toBe('string');
    expect(navigator.userAgent).toMatch(/Chrome/);
    expect(typeof WebSocket).toBe('function');
  });

  it('echoes text and binary over the native WebSocket', async () => {
    const conn = connect(inject('wsEchoUrl'), { protocol: 'raw' });
    const messages: Array<Uint8Array | string> = [];
    const two = new Promise<void>((resolve) =>
      conn.on('message', (data) => {
        messages.push(data);
        if (messages.length === 2) resolve();
      }),
    );
    await conn.opened;
    conn.send('hello from chromium');
    conn.send(new Uint8Array([9, 8, 7]));
    await two;
    expect(messages[0]).toBe('hello from chromium');
    expect(messages[1]).toBeInstanceOf(Uint8Array);
    expect(Array.from(messages[1] as Uint8Array)).toEqual([9, 8, 7]);
    await conn.close();
    expect(conn.state).toBe('closed');
  });

  it('connectRaw() is raw mode alone: the same echo, its options checked against raw mode only', async () => {
    const link = connectRaw(inject('wsEchoUrl'), { text: true });
    const echoed = new Promise<Uint8Array | string>((resolve) => link.on('message', resolve));
    await link.opened;
    link.send('raw alone');
    expect(await echoed).toBe('raw alone');
    await link.close();
    expect(link.state).toBe('closed');
    expect(() => connectRaw(inject('wsEchoUrl'), { token: 't' } as never)).toThrowError(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', message: 'Unknown option token' }),
    );
    expect(() => connectRaw(inject('wsEchoUrl'), { protocol: 'sockline' } as never)).toThrowError(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', name: 'RangeError' }),
    );
    expect(() => connectRaw('tcp://127.0.0.1:7000')).toThrowError(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED_SCHEME' }),
    );
  });

  it('refuses tcp:// with an error that says to use a WebSocket URL', () => {
    expect(() => connect('tcp://127.0.0.1:7000')).toThrowError(/WebSocket/);
    expect(() => connect('udp://127.0.0.1:7000')).toThrowError(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED_SCHEME' }),
    );
  });
});
