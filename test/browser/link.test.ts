import { describe, expect, inject, it } from 'vitest';
import { commands } from 'vitest/browser';
import {
  connect,
  connectRaw,
  type Link,
  type LinkMessage,
  type RawLinkOptions,
} from '../../src/browser/index.js';
import { waitState } from '../support/wait.js';

// Raw mode both ways in: `connect(…, { protocol: 'raw' })` and `connectRaw()`, the compact link.
const entries: Array<[string, (url: string, options?: RawLinkOptions) => Link]> = [
  ["connect(url, { protocol: 'raw' })", (url, options) => connect(url, { ...options, protocol: 'raw' })],
  ['connectRaw(url)', (url, options) => connectRaw(url, options)],
];

describe.each(entries)('the reconnecting link in Chromium, by %s', (_entry, open) => {
  it('queues while the server is down and delivers in order after it restarts', async () => {
    const link = open(inject('restartableWsUrl'), {
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
    const link = open(inject('restartableWsUrl'), {
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

  it('ends the connection on a pagehide into the back/forward cache, comes back on pageshow, and closes on a pagehide for good', async () => {
    const link = open(inject('wsEchoUrl'), { reconnect: { initialDelay: 20 } });
    await link.opened;
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
    expect(link.state).toBe('reconnecting');
    // No retry while the page is frozen: only pageshow brings it back.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(link.state).toBe('reconnecting');
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    await waitState(link, 'open');
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
    await waitState(link, 'closed');
  });

  it('stops listening to page lifecycle events once closed', async () => {
    const link = open(inject('wsEchoUrl'));
    await link.opened;
    await link.close();
    window.dispatchEvent(new Event('online'));
    document.dispatchEvent(new Event('visibilitychange'));
    expect(link.state).toBe('closed');
  });
});
