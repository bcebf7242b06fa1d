import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ProtocolConnectOptions } from '../../src/node/index.js';
import {
  CLIENT_KINDS,
  type ClientKind,
  clientLabel,
  connectAs,
  TRANSPORT_CLIENTS,
} from '../support/clients.js';
import { RemoteError } from '../../src/core/errors.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { startProtocolServer, type ProtocolTestServer } from '../support/protocol-server.js';

function waitFor(
  client: SocklineClient,
  event: 'open' | 'close' | 'sessionlost' | 'reconnecting',
): Promise<unknown> {
  return new Promise((resolve) => {
    const off = client.on(event, ((info: unknown) => {
      off();
      resolve(info);
    }) as never);
  });
}

describe('protocol mode against a sockline server session', () => {
  let server: ProtocolTestServer | undefined;
  const clients: SocklineClient[] = [];
  const openAs = (url: string, options: ProtocolConnectOptions, kind: ClientKind): SocklineClient => {
    const c = connectAs(kind, url, { reconnect: { initialDelay: 10, maxDelay: 100 }, ...options });
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server?.close();
    server = undefined;
  });

  for (const [transport, kind] of TRANSPORT_CLIENTS) {
    describe(`over ${clientLabel(transport, kind)}`, () => {
      const url = (s: ProtocolTestServer): string => (transport === 'tcp' ? s.tcpUrl : s.wsUrl);
      const open = (u: string, options: ProtocolConnectOptions = {}): SocklineClient =>
        openAs(u, options, kind);

      it('handshakes, then carries values both ways', async () => {
        server = await startProtocolServer();
        const client = open(url(server));
        const got: unknown[] = [];
        client.on('message', (v) => got.push(v));
        await client.opened;
        expect(client.sessionId).toBeTruthy();
        client.send({ hello: 'server' });
        client.send('text');
        client.send(new Uint8Array([1, 2, 3]));
        await expect.poll(() => server!.received.length).toBe(3);
        const values = server.received.map((r) => (r.value instanceof Uint8Array ? [...r.value] : r.value));
        expect(values).toEqual([{ hello: 'server' }, 'text', [1, 2, 3]]);
        expect(server.received[2]!.value).toBeInstanceOf(Uint8Array);
        const [session] = [...server.sessions];
        session!.send({ hello: 'client' });
        await expect.poll(() => got).toEqual([{ hello: 'client' }]);
      });

      it('sends any ArrayBuffer view and an ArrayBuffer as bytes; refuses text with a lone surrogate, sending nothing', async () => {
        server = await startProtocolServer();
        server.handlers.set('echo', (params) => params);
        const client = open(url(server));
        await client.opened;
        const buffer = Uint8Array.from([9, 8, 7, 6]).buffer;
        client.send(new Float32Array([1.5]));
        client.send(new DataView(buffer, 1, 2));
        client.send(buffer);
        client.publish('t/bytes', new Uint16Array([0x0102]));
        expect(() => client.send('a\ud800b')).toThrow(TypeError);
        expect(() => client.publish('t/x', '\udc00')).toThrow(TypeError);
        await expect(client.request('echo', 'z\ud83d')).rejects.toThrow(TypeError);
        client.send('a\ud83d\ude00b'); // a surrogate pair is one code point: well-formed
        await expect.poll(() => server!.received.length).toBe(4);
        const got = server.received.map((r) => (r.value instanceof Uint8Array ? [...r.value] : r.value));
        expect(got).toEqual([
          [...new Uint8Array(new Float32Array([1.5]).buffer)],
          [8, 7],
          [9, 8, 7, 6],
          'a\u{1f600}b',
        ]);
        // Bytes through a request and back come as bytes, not as a JSON object of indexes.
        const echoed = await client.request<Uint8Array>('echo', new Uint8Array([5, 6]).buffer);
        expect(echoed).toBeInstanceOf(Uint8Array);
        expect([...echoed]).toEqual([5, 6]);
      });

      it("says 'dropped' for a message its outbox policy drops, and counts payload bytes against outbox.maxBytes", async () => {
        server = await startProtocolServer();
        const client = open(url(server), {
          outbox: { maxMessages: 2, maxBytes: 4, overflow: 'drop-newest' },
        });
        const drops: unknown[] = [];
        client.on('drop', (v, reason) => drops.push([v, reason]));
        // Before the connection opens: two wait, the third is dropped by the policy.
        expect([client.send('a'), client.send('b'), client.send('c')]).toEqual([
          'queued',
          'queued',
          'dropped',
        ]);
        await client.opened;
        // Connected: a 4-byte payload on a long topic fits (the topic does not count); 5 bytes never can.
        expect(client.publish('a/rather/long/topic', 'abcd')).toBe('sent');
        expect(client.send('abcde')).toBe('dropped');
        expect(drops).toEqual([
          ['c', 'overflow'],
          ['abcde', 'overflow'],
        ]);
        await client.request('x').catch(() => {});
        expect(server.received.map((r) => r.value)).toEqual(['a', 'b']);
      });

      it('answers requests, and reports remote errors, unknown methods and timeouts as typed errors', async () => {
        server = await startProtocolServer();
        server.handlers.set('sum', (params) => (params as number[]).reduce((a, b) => a + b, 0));
        server.handlers.set('fail', () => {
          throw new RemoteError('E_NOPE', 'nope');
        });
        server.handlers.set('slow', () => new Promise((r) => setTimeout(r, 500)));
        const client = open(url(server));
        expect(await client.request('sum', [1, 2, 3])).toBe(6);
        await expect(client.request('fail')).rejects.toMatchObject({
          code: 'ERR_REMOTE',
          remoteCode: 'E_NOPE',
        });
        await expect(client.request('missing')).rejects.toMatchObject({ remoteCode: 'ERR_UNKNOWN_METHOD' });
        await expect(client.request('slow', null, { timeout: 50 })).rejects.toMatchObject({
          code: 'ERR_REQUEST_TIMEOUT',
        });
        const ac = new AbortController();
        const aborted = client.request('slow', null, { signal: ac.signal });
        ac.abort();
        await expect(aborted).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      });

      it('settles every request exactly once: a dropped connection fails none of them, close() fails those left', async () => {
        server = await startProtocolServer();
        let runs = 0;
        const release: Array<(v: unknown) => void> = [];
        server.handlers.set('wait', () => {
          runs++;
          return new Promise((resolve) => release.push(resolve));
        });
        server.handlers.set('hang', () => new Promise(() => {}));
        const client = open(url(server));
        await client.opened;
        const settled: string[] = [];
        const track = (p: Promise<unknown>): Promise<void> =>
          p.then(
            (v) => void settled.push(String(v)),
            (e: { code: string; sent?: boolean }) => void settled.push(`${e.code} sent=${String(e.sent)}`),
          );
        const a = track(client.request('wait'));
        const b = track(client.request('wait'));
        await expect.poll(() => runs).toBe(2);
        server.dropAll();
        // The handlers finish while the client is away: the answers wait in the session.
        for (const r of release.splice(0)) r('answered');
        await Promise.all([a, b]);
        expect(settled).toEqual(['answered', 'answered']);
        expect(runs).toBe(2);
        const c = track(client.request('hang'));
        await new Promise((r) => setTimeout(r, 20));
        await client.close();
        await c;
        expect(settled).toEqual(['answered', 'answered', 'ERR_CLIENT_CLOSED sent=true']);
      });

      it('refuses more requests than maxInFlight with ERR_TOO_MANY_REQUESTS', async () => {
        server = await startProtocolServer();
        server.handlers.set('hang', () => new Promise(() => {}));
        const client = open(url(server), { maxInFlight: 2 });
        await client.opened;
        void client.request('hang').catch(() => {});
        void client.request('hang').catch(() => {});
        await expect(client.request('hang')).rejects.toMatchObject({ code: 'ERR_TOO_MANY_REQUESTS' });
      });
    });
  }

  for (const kind of CLIENT_KINDS) {
    // The full client over TCP; the compact one over WebSocket, the only transport it has.
    const url = (s: ProtocolTestServer): string => (kind === 'full' ? s.tcpUrl : s.wsUrl);
    const open = (u: string, options: ProtocolConnectOptions = {}): SocklineClient =>
      openAs(u, options, kind);
    describe(`the ${kind} client`, () => {
      it('routes publishes across transports with + and # wildcards, and unsubscribe stops them', async () => {
        server = await startProtocolServer();
        const tcp = connect(server.tcpUrl);
        clients.push(tcp);
        const ws = open(server.wsUrl);
        const seen: string[] = [];
        const offPlus = tcp.subscribe('chat/+', (v, { topic }) => seen.push(`tcp+ ${topic} ${String(v)}`));
        ws.subscribe('chat/#', (v, { topic }) => seen.push(`ws# ${topic} ${String(v)}`));
        await Promise.all([tcp.opened, ws.opened]);
        await new Promise((r) => setTimeout(r, 30));
        ws.publish('chat/lobby', 'hi from ws');
        tcp.publish('chat/lobby/deep', 'deep from tcp');
        await expect.poll(() => seen.length).toBe(3);
        expect(seen.sort()).toEqual(
          [
            'tcp+ chat/lobby hi from ws',
            'ws# chat/lobby hi from ws',
            'ws# chat/lobby/deep deep from tcp',
          ].sort(),
        );
        offPlus();
        await new Promise((r) => setTimeout(r, 30));
        ws.publish('chat/lobby', 'second');
        await expect.poll(() => seen.length).toBe(4);
        await new Promise((r) => setTimeout(r, 50));
        expect(seen.filter((s) => s.includes('second'))).toEqual(['ws# chat/lobby second']);
      });

      it('refuses a client with no version in common with ERR_VERSION_UNSUPPORTED and the server list, without retrying', async () => {
        server = await startProtocolServer({ versions: [7] });
        const client = open(url(server));
        const closed = waitFor(client, 'close') as Promise<{ error: { code: string; versions: number[] } }>;
        const { error } = await closed;
        expect(error.code).toBe('ERR_VERSION_UNSUPPORTED');
        expect(error.versions).toEqual([7]);
      });

      it('re-evaluates the token on every attempt and stops after repeated identical auth failures', async () => {
        let calls = 0;
        server = await startProtocolServer({
          authenticate: (hello) => {
            if (hello.token !== 'good') throw new Error('bad token');
            return { user: 'alice' };
          },
        });
        const client = open(url(server), {
          token: async () => {
            calls++;
            return 'bad';
          },
          authRetries: 3,
        });
        const { error } = (await waitFor(client, 'close')) as { error: { code: string } };
        expect(error.code).toBe('ERR_AUTH_FAILED');
        expect(calls).toBe(3);

        const good = open(url(server), { token: () => 'good' });
        await good.opened;
        expect(
          [...server.sessions].some((s) => (s.session?.user as { user?: string })?.user === 'alice'),
        ).toBe(true);
      });

      it('resubscribes and reports the loss when the server forgot the session', async () => {
        server = await startProtocolServer();
        const client = open(url(server));
        const got: unknown[] = [];
        client.subscribe('news', (v) => got.push(v));
        await client.opened;
        const lost = waitFor(client, 'sessionlost');
        server.store.clear();
        server.dropAll();
        expect(await lost).toMatchObject({ resent: 0 });
        await new Promise((r) => setTimeout(r, 30));
        const other = openAs(server.tcpUrl, {}, 'full');
        await other.opened;
        other.publish('news', 'after the loss');
        await expect.poll(() => got).toEqual(['after the loss']);
      });

      it('waits for the delay a closing server asks for instead of its own backoff', async () => {
        server = await startProtocolServer();
        const client = open(url(server), { reconnect: { initialDelay: 1, jitter: 0 } });
        await client.opened;
        const reconnecting = waitFor(client, 'reconnecting') as Promise<{ delay: number }>;
        [...server.sessions][0]!.close(1001, 'restarting', 321);
        expect((await reconnecting).delay).toBe(321);
      });

      it('measures the round-trip time', async () => {
        server = await startProtocolServer();
        const client = open(url(server));
        await client.opened;
        const rtt = await client.ping();
        expect(rtt).toBeGreaterThanOrEqual(0);
        expect(client.rtt).toBe(rtt);
      });
    });
  }
});

describe('session lifetime on the server', () => {
  it('keeps a dropped session for resume but forgets one whose client closed', async () => {
    const server = await startProtocolServer();
    try {
      const dropped = connect(server.tcpUrl, { reconnect: false });
      const closed = connect(server.wsUrl);
      await Promise.all([dropped.opened, closed.opened]);
      expect(server.store.size).toBe(2);
      await closed.close();
      await expect.poll(() => server.store.size).toBe(1);
      server.dropAll();
      await new Promise((r) => setTimeout(r, 50));
      expect(server.store.size).toBe(1);
      await dropped.close();
    } finally {
      await server.close();
    }
  });
});
