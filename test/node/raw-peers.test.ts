import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/node/index.js';
import type { Link, LinkMessage } from '../../src/core/index.js';
import {
  startNodeLineEcho,
  startNodeUdpEcho,
  startPythonWsEcho,
  startSocatTcpEcho,
  startSocatUdpEcho,
  type PeerHandle,
} from '../support/peers.js';
import { waitState } from '../support/wait.js';

const asText = (m: LinkMessage): string => (typeof m === 'string' ? m : new TextDecoder().decode(m));

/** Collects messages and resolves once `count` have arrived. */
function collect(link: Link, count: number): { messages: string[]; done: Promise<string[]> } {
  const messages: string[] = [];
  const done = new Promise<string[]>((resolve) => {
    const off = link.on('message', (m) => {
      messages.push(asText(m));
      if (messages.length === count) {
        off();
        resolve(messages);
      }
    });
  });
  return { messages, done };
}

const fast = { reconnect: { initialDelay: 20, maxDelay: 200 } };

describe('raw mode against real peers that are not sockline', () => {
  let peer: PeerHandle | undefined;
  let link: Link | undefined;
  afterEach(async () => {
    await link?.close();
    await peer?.close();
    link = undefined;
    peer = undefined;
  });

  const streamPeers = [
    ['a node:net line echo server', startNodeLineEcho],
    ['socat as a TCP echo', startSocatTcpEcho],
  ] as const;

  for (const [name, start] of streamPeers) {
    it(`talks lines with ${name}, and delivers what was sent while it was down after it restarts, in order`, async () => {
      peer = await start();
      link = connect(peer.url, { protocol: 'raw', framing: 'lines', ...fast });
      const first = collect(link, 3);
      await link.opened;
      for (const l of ['alpha', 'beta', 'gamma']) expect(link.send(l)).toBe('sent');
      expect(await first.done).toEqual(['alpha', 'beta', 'gamma']);

      await peer.stop();
      await waitState(link, 'reconnecting');
      const queued = Array.from({ length: 50 }, (_, i) => `queued ${i}`);
      for (const l of queued) expect(['queued', 'sent']).toContain(link.send(l));
      const second = collect(link, queued.length);
      await peer.restart();
      expect(await second.done).toEqual(queued);
    });
  }

  it('echoes text and binary with a Python websockets server, and survives its restart', async () => {
    peer = await startPythonWsEcho();
    link = connect(peer.url, { protocol: 'raw', ...fast });
    const got: LinkMessage[] = [];
    link.on('message', (m) => got.push(m));
    await link.opened;
    link.send('text stays text');
    link.send(new Uint8Array([0, 255, 1]));
    await expect.poll(() => got.length).toBe(2);
    expect(got[0]).toBe('text stays text');
    expect(Array.from(got[1] as Uint8Array)).toEqual([0, 255, 1]);

    await peer.stop();
    await waitState(link, 'reconnecting');
    for (let i = 0; i < 20; i++) link.send(`while down ${i}`);
    const after = collect(link, 20);
    await peer.restart();
    expect(await after.done).toEqual(Array.from({ length: 20 }, (_, i) => `while down ${i}`));
  });

  const datagramPeers = [
    ['a node:dgram echo server', startNodeUdpEcho],
    ['socat as a UDP echo', startSocatUdpEcho],
  ] as const;

  for (const [name, start] of datagramPeers) {
    it(`exchanges datagrams with ${name}, one message per datagram`, async () => {
      peer = await start();
      link = connect(peer.url, { protocol: 'raw' });
      const replies = collect(link, 5);
      await link.opened;
      for (let i = 0; i < 5; i++) {
        link.send(`datagram ${i}`);
        // Pace the sends: a UDP echo may legitimately lose a burst; here each one is answered.
        await new Promise((r) => setTimeout(r, 5));
      }
      expect((await replies.done).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `datagram ${i}`));
    });
  }

  it('refuses a UDP message over the datagram limit with ERR_DATAGRAM_TOO_LARGE and sends nothing', async () => {
    peer = await startNodeUdpEcho();
    link = connect(peer.url, { protocol: 'raw', maxDatagramSize: 512 });
    await link.opened;
    expect(() => link!.send(new Uint8Array(513))).toThrowError(
      expect.objectContaining({ code: 'ERR_DATAGRAM_TOO_LARGE' }),
    );
    const one = collect(link, 1);
    link.send(new Uint8Array(512));
    expect((await one.done)[0]).toHaveLength(512);
  });
});
