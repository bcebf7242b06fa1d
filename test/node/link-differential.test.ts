import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawLinkOptions } from '../../src/core/connect-link.js';
import type { Link } from '../../src/core/link/api.js';
import { constructionOutcome, optionObjects, outcomeOf, type Outcome } from '../support/differential.js';
import { LINK_IMPLEMENTATIONS, startPeer, type Peer } from '../support/links.js';

/**
 * The two links of raw mode in a browser build (the general `Link` over the WHATWG WebSocket
 * transport, and the compact link) are two implementations of one behaviour. Random calls —
 * messages of every kind, good and bad send options, link options that shape the outbox and
 * the text rules — go to each against the same echo server, before and after the link opens;
 * what each call returns or throws, the events, what the server received and what came back
 * must be the same.
 */

const show = (m: unknown): unknown => (m instanceof Uint8Array ? { bytes: [...m] } : m);

const anyMessage: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.uint8Array({ maxLength: 6 }),
  fc
    .uint8Array({ minLength: 1, maxLength: 6 })
    .map((b) => [...b].map((x) => x % 128))
    .map((b) => new Uint8Array(b)),
  fc.constantFrom<unknown>(
    Uint8Array.from([0xff, 0xfe]), // not UTF-8: refused as text by a `text: true` link
    new ArrayBuffer(2),
    new Float32Array(1),
    5,
    null,
    undefined,
    { a: 1 },
  ),
);

const anySendOptions = fc.constantFrom<unknown>(
  undefined,
  {},
  { ttl: 1000 },
  { ttl: 0 },
  { ttl: 'x' },
  { volatile: true },
  { volatile: 1 },
  { nope: 1 },
  null,
);

const anyLinkOptions: fc.Arbitrary<RawLinkOptions> = fc.record(
  {
    text: fc.constantFrom(true, false, undefined),
    outbox: fc.record(
      {
        maxMessages: fc.constantFrom(1, 2, 1000),
        maxBytes: fc.constantFrom(4, 1 << 20),
        overflow: fc.constantFrom('reject' as const, 'drop-oldest' as const, 'drop-newest' as const),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

async function play(
  make: (typeof LINK_IMPLEMENTATIONS)[number][1],
  peer: Peer,
  options: RawLinkOptions,
  early: readonly [unknown, unknown][],
  late: readonly [unknown, unknown][],
): Promise<unknown> {
  const link: Link = make(peer.url, { ...options, reconnect: false });
  const events: unknown[] = [];
  link.on('drop', (m, reason) => events.push(['drop', show(m), reason]));
  link.on('expire', (m) => events.push(['expire', show(m)]));
  link.on('error', (e) => events.push(['error', e.code]));
  const got: unknown[] = [];
  let marked!: () => void;
  const mark = new Promise<void>((resolve) => (marked = resolve));
  const isEnd = (m: unknown): boolean =>
    m === 'end' || (m instanceof Uint8Array && new TextDecoder().decode(m) === 'end');
  link.on('message', (m) => (isEnd(m) ? marked() : got.push(show(m))));
  const calls = early.map(([m, o]) => outcomeOf(() => link.send(m as string, o as never)) as Outcome);
  await link.opened;
  calls.push(...late.map(([m, o]) => outcomeOf(() => link.send(m as string, o as never)) as Outcome));
  link.send('end');
  await Promise.race([mark, new Promise((r) => setTimeout(r, 2_000))]);
  await link.close();
  const received = peer.received.at(-1);
  return { calls, events, got, received };
}

describe('the general and the compact link do the same with the same calls', () => {
  let peer: Peer;
  beforeAll(async () => {
    peer = await startPeer();
  });
  afterAll(() => peer.close());

  it('returns, throws, drops and delivers alike for random messages, options and timing', async () => {
    const sends = fc.array(fc.tuple(anyMessage, anySendOptions), { maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(anyLinkOptions, sends, sends, async (options, early, late) => {
        const results: unknown[] = [];
        for (const [, make] of LINK_IMPLEMENTATIONS)
          results.push(await play(make, peer, options, early, late));
        expect(results[1]).toEqual(results[0]);
      }),
      { numRuns: 200 },
    );
  });

  it('accepts and refuses the same link options, with the same errors', async () => {
    const options = optionObjects(
      ['connectTimeout', 'idleTimeout', 'closeTimeout', 'highWaterMark', 'text'],
      {
        reconnect: ['initialDelay', 'maxDelay', 'multiplier', 'jitter', 'maxRetries', 'minUptime'],
        outbox: ['maxMessages', 'maxBytes', 'ttl', 'overflow'],
      },
    );
    await fc.assert(
      fc.asyncProperty(options, async (o) => {
        const outcomes: unknown[] = [];
        for (const [, make] of LINK_IMPLEMENTATIONS) {
          outcomes.push(await constructionOutcome(() => make(peer.url, o as RawLinkOptions)));
        }
        expect(outcomes[1]).toEqual(outcomes[0]);
      }),
      { numRuns: 300 },
    );
  });
});
