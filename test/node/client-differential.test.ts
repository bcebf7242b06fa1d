import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProtocolConnectOptions } from '../../src/node/index.js';
import { RemoteError } from '../../src/core/errors.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { connectAs, type ClientKind } from '../support/clients.js';
import { constructionOutcome, optionObjects, outcomeOf, type Outcome } from '../support/differential.js';
import { startProtocolServer, type ProtocolTestServer } from '../support/protocol-server.js';

/**
 * The two protocol clients (the full one and the compact one a browser bundle gets) are two
 * implementations of one client role. Here random sequences of calls — values of every kind
 * JavaScript has, topics and patterns good and bad, options good and bad — go to each client
 * against the same server, and what each call returns or throws (class and code), and what
 * the server then holds, must be the same for both.
 */

/** A value as the server or a caller sees it, comparable with `toEqual`: bytes as `{ bytes }`. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

const deep = (depth: number): unknown => (depth === 0 ? 0 : [deep(depth - 1)]);

/** Values of every kind an application may hand to send(), publish() or request(). */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }), // lone surrogates included
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.double(),
  fc.bigInt(),
  fc.constantFrom(
    undefined,
    null,
    -0,
    Symbol('s'),
    () => 1,
    new Date(0),
    new Map([[1, 2]]),
    deep(64),
    deep(65),
    JSON.parse('{"__proto__":{"x":1}}') as unknown,
    { constructor: 1 },
  ),
  fc.uint8Array({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 8 }).map((b) => b.slice().buffer),
  fc.uint8Array({ minLength: 4, maxLength: 8 }).map((b) => new Float32Array(b.slice(0, 4).buffer)),
  fc.uint8Array({ minLength: 2, maxLength: 8 }).map((b) => new DataView(b.slice().buffer, 1)),
);

/** Topic names and patterns, good and bad (`+`, `#`, empty levels, non-strings). */
const anyTopic: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    'a',
    'a/b',
    'a/+',
    'a/#',
    '#',
    '+',
    '',
    'a//b',
    'a/#/b',
    'a+',
    '\ud800',
    'x'.repeat(300),
    7,
    null,
  ),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

/** Options of a call, good and bad. */
const anyOptions: fc.Arbitrary<unknown> = fc.constantFrom(
  undefined,
  {},
  { ttl: 1000 },
  { ttl: 0 },
  { ttl: -1 },
  { ttl: 'x' },
  { volatile: true },
  { volatile: 'yes' },
  { nope: 1 },
  null,
  5,
);

const anyRequestOptions: fc.Arbitrary<unknown> = fc.constantFrom(
  undefined,
  {},
  { timeout: 5000 },
  { timeout: 0 },
  { timeout: 'x' },
  { signal: 'x' },
  { nope: 1 },
  null,
);

/** Connect options that shape what waits: a small outbox and its policies, few requests in flight. */
const anyClientOptions: fc.Arbitrary<ProtocolConnectOptions> = fc.record(
  {
    outbox: fc.record(
      {
        maxMessages: fc.constantFrom(1, 2, 1000),
        maxBytes: fc.constantFrom(16, 1 << 20),
        overflow: fc.constantFrom('reject' as const, 'drop-oldest' as const, 'drop-newest' as const),
      },
      { requiredKeys: [] },
    ),
    maxInFlight: fc.constantFrom(1, 2, 1000),
  },
  { requiredKeys: [] },
);

/** The arguments of the `close()` that ends a run, good and bad. */
const anyClose = fc.constantFrom<readonly [unknown, unknown]>(
  [undefined, undefined],
  [1000, 'bye'],
  [4321, ''],
  [1.5, ''],
  [70000, ''],
  [1000, 7],
  ['1000', ''],
);

type Op =
  | { op: 'send'; value: unknown; options: unknown }
  | { op: 'publish'; topic: unknown; value: unknown; options: unknown }
  | { op: 'subscribe'; pattern: unknown; handler: unknown }
  | { op: 'request'; method: unknown; params: unknown; options: unknown };

const anyOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('send' as const), value: anyValue, options: anyOptions }),
  fc.record({ op: fc.constant('publish' as const), topic: anyTopic, value: anyValue, options: anyOptions }),
  fc.record({
    op: fc.constant('subscribe' as const),
    pattern: anyTopic,
    handler: fc.constantFrom<unknown>(() => {}, 'x', undefined),
  }),
  fc.record({
    op: fc.constant('request' as const),
    method: fc.constantFrom<unknown>('echo', '', 7, 'missing', 'x'.repeat(300), 'a\ud800', '\udc00b'),
    params: anyValue,
    options: anyRequestOptions,
  }),
);

/** Runs `ops` on a fresh client of `kind`; what each call did, and what the server received. */
async function play(
  server: ProtocolTestServer,
  kind: ClientKind,
  ops: readonly Op[],
  end: readonly [unknown, unknown],
  early: boolean,
  options: ProtocolConnectOptions,
): Promise<{ outcomes: Outcome[]; received: unknown[]; events: unknown[] }> {
  const client: SocklineClient = connectAs(kind, server.wsUrl, { ...options, reconnect: false });
  const events: unknown[] = [];
  client.on('error', (e) => events.push(`error ${e.code}`));
  client.on('drop', (_, reason) => events.push(`drop ${reason}`));
  // Publishes come back to a subscribed publisher: what each subscription saw, in order.
  const record =
    (pattern: unknown) =>
    (value: unknown, meta: { topic: string }): void =>
      void events.push({ pattern, topic: meta.topic, value: plain(value) });
  if (!early) await client.opened;
  const c = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  const pending: Array<Outcome | Promise<Outcome>> = [];
  for (const o of ops) {
    if (o.op === 'send') pending.push(outcomeOf(() => c.send!(o.value, o.options)));
    else if (o.op === 'publish') pending.push(outcomeOf(() => c.publish!(o.topic, o.value, o.options)));
    else if (o.op === 'subscribe') {
      const handler = typeof o.handler === 'function' ? record(o.pattern) : o.handler;
      pending.push(outcomeOf(() => c.subscribe!(o.pattern, handler)));
    } else pending.push(outcomeOf(() => c.request!(o.method, o.params, o.options), plain));
  }
  const outcomes = await Promise.all(pending);
  await client.opened;
  const session = client.sessionId;
  // Everything accepted has reached the server once a request made after it is answered.
  await client.request('echo', 'end');
  // A publish made after every subscription came back once they all took effect.
  await new Promise((resolve) => {
    client.subscribe('end/mark', resolve);
    client.publish('end/mark', 1);
  });
  const received = server.received.filter((r) => r.session.id === session).map((r) => plain(r.value));
  const closed = outcomeOf(() => client.close(...(end as [number, string])), plain);
  outcomes.push(await closed);
  if (!('ok' in outcomes.at(-1)!)) await client.close();
  return { outcomes, received, events };
}

describe('the full and the compact client do the same with the same calls', () => {
  let server: ProtocolTestServer;
  beforeAll(async () => {
    server = await startProtocolServer();
    server.handlers.set('echo', (params) => params);
  });
  afterAll(() => server.close());

  it('returns, throws and delivers alike for random calls with values of every kind', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(anyOp, { minLength: 1, maxLength: 16 }),
        anyClose,
        fc.boolean(),
        anyClientOptions,
        async (ops, end, early, options) => {
          server.received.length = 0;
          // One after the other: publishes of one client must not reach the other's subscriptions.
          const full = await play(server, 'full', ops, end, early, options);
          const compact = await play(server, 'compact', ops, end, early, options);
          expect(compact.outcomes).toEqual(full.outcomes);
          expect(compact.received).toEqual(full.received);
          expect(compact.events).toEqual(full.events);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('receives alike whatever the server sends', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyValue, { minLength: 1, maxLength: 10 }), async (values) => {
        const seen: Record<string, { outcomes: Outcome[]; got: unknown[] }> = {};
        for (const kind of ['full', 'compact'] as const) {
          const client = connectAs(kind, server.wsUrl, { reconnect: false });
          const got: unknown[] = [];
          let ended!: () => void;
          const end = new Promise<void>((resolve) => (ended = resolve));
          client.on('message', (v) => (v === 'end' ? ended() : got.push(plain(v))));
          await client.opened;
          const session = [...server.sessions].find((s) => s.session?.id === client.sessionId)!;
          const outcomes = values.map((v) => outcomeOf(() => session.send(v)) as Outcome);
          session.send('end');
          await end;
          seen[kind] = { outcomes, got };
          await client.close();
        }
        expect(seen.compact).toEqual(seen.full);
      }),
      { numRuns: 150 },
    );
  });

  it('accepts and refuses the same options, with the same errors', async () => {
    const options = optionObjects(
      [
        'requestTimeout',
        'maxInFlight',
        'ackDelay',
        'maxHandshakeSize',
        'authRetries',
        'probeTimeout',
        'maxFrameSize',
        'connectTimeout',
        'idleTimeout',
        'closeTimeout',
        'highWaterMark',
        'resume',
        'token',
        'protocol',
      ],
      {
        reconnect: ['initialDelay', 'maxDelay', 'multiplier', 'jitter', 'maxRetries', 'minUptime'],
        outbox: ['maxMessages', 'maxBytes', 'ttl'],
        replay: ['maxMessages', 'maxBytes'],
      },
      ['t', 'raw', 'sockline', () => 't', 'drop-oldest'],
    );
    await fc.assert(
      fc.asyncProperty(options, async (o) => {
        const outcomes: unknown[] = [];
        for (const kind of ['full', 'compact'] as const) {
          outcomes.push(
            await constructionOutcome(() => {
              const client = connectAs(kind, server.wsUrl, o as never);
              client.on('error', () => {});
              return client;
            }),
          );
        }
        expect(outcomes[1]).toEqual(outcomes[0]);
      }),
      { numRuns: 300 },
    );
  });

  it("answers the server's requests alike, with handlers that return, throw or refuse", async () => {
    await import('../../src/core/opt-in/handle.js');
    const handlers: Record<string, (params: unknown) => unknown> = {
      echo: (params) => params,
      nothing: () => undefined,
      later: async (params) => params,
      refuse: (params) => {
        throw new RemoteError('E_NO', 'no', { data: params });
      },
      crash: () => {
        throw new Error('secret');
      },
      unencodable: () => 1n,
    };
    const calls = fc.array(
      fc.tuple(fc.constantFrom(...Object.keys(handlers), 'missing', 'x'.repeat(300), '\ud800'), anyValue),
      { minLength: 1, maxLength: 6 },
    );
    await fc.assert(
      fc.asyncProperty(calls, async (list) => {
        const seen: Record<string, unknown> = {};
        for (const kind of ['full', 'compact'] as const) {
          const client = connectAs(kind, server.wsUrl, { reconnect: false });
          const errors: string[] = [];
          client.on('error', (e) => errors.push(e.code));
          for (const [name, fn] of Object.entries(handlers)) client.handle(name, fn);
          await client.opened;
          const session = [...server.sessions].find((s) => s.session?.id === client.sessionId)!;
          const answers = await Promise.all(
            list.map(([method, params]) =>
              (async () => {
                try {
                  return { ok: plain(await session.request(method, params)) };
                } catch (e) {
                  const { name, code, remoteCode, message, data } = e as RemoteError;
                  return { name, code, remoteCode, message, data: plain(data) };
                }
              })(),
            ),
          );
          seen[kind] = { answers, errors };
          await client.close();
        }
        expect(seen.compact).toEqual(seen.full);
      }),
      { numRuns: 100 },
    );
  });
});
