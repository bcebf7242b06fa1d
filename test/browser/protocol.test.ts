import { describe, expect, inject, it } from 'vitest';
import { commands } from 'vitest/browser';
import { connect } from '../../src/browser/index.js';

describe('protocol mode in Chromium', () => {
  it('handshakes over the native WebSocket, answers requests and carries pub/sub', async () => {
    const client = connect(inject('protocolWsUrl'));
    await client.opened;
    expect(client.sessionId).toBeTruthy();
    expect(await client.request('sum', [20, 22])).toBe(42);
    const got: unknown[] = [];
    client.subscribe('room/+', (value, { topic }) => got.push([topic, value]));
    await new Promise((r) => setTimeout(r, 30));
    client.publish('room/browser', { text: 'hello' });
    await expect.poll(() => got).toEqual([['room/browser', { text: 'hello' }]]);
    await client.close();
  });

  it("sends a page's bytes as bytes: an ArrayBuffer, a typed array, a Blob's contents", async () => {
    const client = connect(inject('protocolWsUrl'));
    const buffer = await new Blob([Uint8Array.from([1, 2, 3])]).arrayBuffer();
    const back = await client.request<Uint8Array>('echo', buffer);
    expect(back).toBeInstanceOf(Uint8Array);
    expect([...back]).toEqual([1, 2, 3]);
    const floats = await client.request<Uint8Array>('echo', new Float32Array([1]));
    expect([...new Float32Array(floats.slice().buffer)]).toEqual([1]);
    expect(() => client.send('\ud800')).toThrow(TypeError);
    await client.close();
  });

  it('resumes after the server drops the connection, with nothing lost or duplicated', async () => {
    const client = connect(inject('protocolWsUrl'), { reconnect: { initialDelay: 10, maxDelay: 50 } });
    await client.opened;
    const before = (await commands.protocolReceived()).length;
    const resumed: boolean[] = [];
    client.on('session', ({ resumed: r }) => resumed.push(r));
    for (let i = 0; i < 200; i++) {
      client.send({ browser: i });
      if (i === 100) await commands.dropProtocolConnections();
    }
    await expect
      .poll(async () => (await commands.protocolReceived()).length - before, { timeout: 5000 })
      .toBe(200);
    const mine = (await commands.protocolReceived()).slice(before) as Array<{ browser: number }>;
    expect(mine.map((m) => m.browser)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(resumed).toContain(true);
    await client.close();
  });
});

describe('createServer with a browser on WebSocket and a Node client on TCP', () => {
  it('carries publishes both ways across the transports', async () => {
    const client = connect(inject('hubWsUrl'));
    const got: unknown[] = [];
    client.subscribe('mixed/+', (value, { topic }) => got.push({ topic, value }));
    await client.opened;
    await new Promise((r) => setTimeout(r, 50));
    await commands.tcpPublish('mixed/from-tcp', { hello: 'browser' });
    await expect.poll(() => got).toContainEqual({ topic: 'mixed/from-tcp', value: { hello: 'browser' } });
    client.publish('mixed/from-browser', { hello: 'tcp' });
    await expect
      .poll(() => commands.tcpReceived())
      .toContainEqual({ topic: 'mixed/from-browser', value: { hello: 'tcp' } });
    await client.close();
  });
});
