import { describe, expect, inject, it } from 'vitest';
import { commands } from 'vitest/browser';
import { connect, type LinkMessage } from '../../src/browser/index.js';
import { waitState } from '../support/wait.js';

describe('the reconnecting link in Chromium', () => {
  it('queues while the server is down and delivers in order after it restarts', async () => {
    const link = connect(inject('restartableWsUrl'), {
      protocol: 'raw',
      reconnect: { initialDelay: 20, maxDelay: 100 },
    });
    const got: LinkMessage[] = [];
    link.on('message', (m) => got.push(m));
    await link.opened;
    link.send('before');
    await expect.poll(() => got.length).toBe(1);

    await commands.stopWsServer();
    await waitState(link, 'reconnecting');
    const queued = Array.from({ length: 25 }, (_, i) => `while down ${i}`);
    for (const m of queued) expect(link.send(m)).toBe('queued');
    expect(link.bufferedAmount).toBeGreaterThan(0);
    await commands.startWsServer();
    await expect.poll(() => got.length, { timeout: 5000 }).toBe(26);
    expect(got).toEqual(['before', ...queued]);
    await link.close();
  });

  it('reconnects at once, with the backoff reset, when the browser comes back online', async () => {
    const link = connect(inject('restartableWsUrl'), {
      protocol: 'raw',
      reconnect: { initialDelay: 60_000, jitter: 0 },
    });
    await link.opened;
    await commands.stopWsServer();
    await waitState(link, 'reconnecting');
    await commands.startWsServer();
    // Without the event the link would wait a full minute.
    window.dispatchEvent(new Event('online'));
    await waitState(link, 'open');
    await link.close();
  });

  it('stops listening to page lifecycle events once closed', async () => {
    const link = connect(inject('wsEchoUrl'), { protocol: 'raw' });
    await link.opened;
    await link.close();
    window.dispatchEvent(new Event('online'));
    document.dispatchEvent(new Event('visibilitychange'));
    expect(link.state).toBe('closed');
  });
});
