import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, RemoteError, type Peer, type SocklineServer } from '../../src/node/index.js';
import { connect as browserConnect } from '../../src/browser/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { jsonCodec } from '../../src/core/protocol/codec.js';
import { findFreePort } from '../support/peers.js';
import { CLIENT_KINDS, connectAs, type ClientKind } from '../support/clients.js';
import { scriptedSockline, welcome, type Scripted } from '../support/scripted-servers.js';

/**
 * What the client says when something goes wrong: RPC errors decoded by code, the
 * application's own throws contained and reported, misuse rejected (never thrown from an
 * async API), and errors that tell "never connected" from "closed by close()".
 */

const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function client(
  url: string,
  options: Parameters<typeof connect>[1] = {},
  kind: ClientKind = 'full',
): SocklineClient {
  const c = connectAs(kind, url, { reconnect: { initialDelay: 20, maxDelay: 100 }, ...options } as never);
  closers.push(() => c.close());
  return c;
}

/** The URL a client of `kind` connects to: TCP for the full client, WebSocket for the compact one. */
const scheme = (kind: ClientKind): string => (kind === 'full' ? 'tcp' : 'ws');

async function server(
  kind: ClientKind = 'full',
): Promise<{ server: SocklineServer; tcp: string; peer: () => Promise<Peer> }> {
  const s = createServer(kind === 'full' ? { tcp: {} } : { ws: {} });
  closers.push(() => s.close());
  const peers: Peer[] = [];
  s.on('connection', (p) => peers.push(p));
  const { tcp, ws } = await s.listen();
  return {
    server: s,
    tcp: (kind === 'full' ? tcp : ws)!,
    peer: async () => {
      await expect.poll(() => peers.length).toBeGreaterThan(0);
      return peers[0]!;
    },
  };
}

const codec = jsonCodec();

describe('RPC errors as the client receives them', () => {
  /** Answers every REQUEST with the error `code`, `message` and `data`. */
  const refusing = async (code: string, data?: unknown): Promise<Scripted> => {
    const s = await scriptedSockline((frame, write) => {
      if (frame.type === 'hello') write(welcome());
      if (frame.type !== 'request') return;
      const payload = data === undefined ? new Uint8Array(0) : codec.encode(data);
      write({ type: 'response', id: frame.id, error: { code, message: 'nope' }, kind: 'value', payload });
    });
    closers.push(() => s.close());
    return s;
  };

  it("an application code becomes a RemoteError with remoteCode and the handler's data", async () => {
    const s = await refusing('NOT_FOUND', { id: 7 });
    const err = await client(s.url)
      .request('user', 7)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({
      code: 'ERR_REMOTE',
      remoteCode: 'NOT_FOUND',
      message: 'nope',
      data: { id: 7 },
    });
  });

  it.each(['ERR_UNKNOWN_METHOD', 'ERR_TOO_MANY_REQUESTS', 'ERR_INTERNAL'])(
    'a code of sockline (%s) is the error code itself, comparable with err.code',
    async (code) => {
      const s = await refusing(code);
      const err = await client(s.url)
        .request('m')
        .catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(RemoteError);
      expect(err).toMatchObject({ name: 'SocklineError', code, remoteCode: code });
    },
  );

  it.each(CLIENT_KINDS)(
    'a real server without the handler answers ERR_UNKNOWN_METHOD (the %s client)',
    async (kind) => {
      const { tcp } = await server(kind);
      await expect(client(tcp, {}, kind).request('missing')).rejects.toMatchObject({
        code: 'ERR_UNKNOWN_METHOD',
      });
    },
  );
});

for (const kind of CLIENT_KINDS) {
  describe(`the application's callbacks on the client${kind === 'compact' ? ', the compact client' : ''}`, () => {
    it('a throwing subscription handler neither stops the rest of a batch nor the connection', async () => {
      const { server: s, tcp } = await server(kind);
      const c = client(tcp, {}, kind);
      const errors: Array<{ code: string; cause: unknown }> = [];
      c.on('error', (e) => errors.push({ code: e.code, cause: e.cause }));
      let disconnects = 0;
      c.on('disconnect', () => disconnects++);
      const got: unknown[] = [];
      const boom = new Error('handler bug');
      c.subscribe('news/#', () => {
        throw boom;
      });
      c.subscribe('news/#', (v) => got.push(v));
      await c.opened;
      await c.ping();
      // One tick: the server writes the three publishes as one batch.
      for (let i = 1; i <= 3; i++) s.publish('news/today', i);
      await expect.poll(() => got).toEqual([1, 2, 3]);
      expect(errors).toEqual([1, 2, 3].map(() => ({ code: 'ERR_CALLBACK', cause: boom })));
      expect(disconnects).toBe(0);
      expect(c.state).toBe('open');
    });

    it("a throwing 'message' listener lets the other listeners run and keeps the session", async () => {
      const { tcp, peer } = await server(kind);
      const c = client(tcp, {}, kind);
      const codes: string[] = [];
      c.on('error', (e) => codes.push(e.code));
      const got: unknown[] = [];
      c.on('message', () => {
        throw new Error('listener bug');
      });
      c.on('message', (v) => got.push(v));
      await c.opened;
      const p = await peer();
      const session = c.sessionId;
      p.send('a');
      p.send('b');
      await expect.poll(() => got).toEqual(['a', 'b']);
      expect(codes).toEqual(['ERR_CALLBACK', 'ERR_CALLBACK']);
      expect(c.sessionId).toBe(session);
    });

    // Both clients: this file loads the Node build, which installs sockline/handle and sockline/verbose.
    it("a handle() handler's unexpected exception answers ERR_INTERNAL without its message, and is reported here", async () => {
      const { tcp, peer } = await server(kind);
      const c = client(tcp, {}, kind);
      const errors: Array<{ code: string; message: string }> = [];
      c.on('error', (e) => errors.push({ code: e.code, message: e.message }));
      c.handle('secret', () => {
        throw new Error('db password=hunter2 failed');
      });
      await c.opened;
      const err = await (await peer()).request('secret').catch((e: unknown) => e);
      expect(err).toMatchObject({ remoteCode: 'ERR_INTERNAL', message: 'internal error' });
      expect(errors).toEqual([
        { code: 'ERR_CALLBACK', message: expect.stringContaining('hunter2') as string },
      ]);
    });
  });
}

for (const kind of CLIENT_KINDS) {
  describe(`misuse of an async API rejects, with a typed code${kind === 'compact' ? ', the compact client' : ''}`, () => {
    it.each([
      ['a method that is not a string', [123], 'ERR_INVALID_OPTION', TypeError],
      ['a timeout of 0', ['m', 1, { timeout: 0 }], 'ERR_INVALID_OPTION', RangeError],
      ['a timeout of -1', ['m', 1, { timeout: -1 }], 'ERR_INVALID_OPTION', RangeError],
      ["a timeout of 'x'", ['m', 1, { timeout: 'x' }], 'ERR_INVALID_OPTION', TypeError],
      ['a misspelt option', ['m', 1, { timout: 5 }], 'ERR_INVALID_OPTION', TypeError],
    ])('request() with %s', async (_what, args, code, Kind) => {
      const c = client(`${scheme(kind)}://127.0.0.1:1`, { reconnect: false }, kind);
      c.on('error', () => {});
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = (c.request as (...a: unknown[]) => Promise<unknown>)(...args);
      }).not.toThrow();
      const err = await result!.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Kind);
      expect(err).toMatchObject({ code });
    });

    it('request() with params the codec cannot encode (a BigInt) rejects', async () => {
      const c = client(`${scheme(kind)}://127.0.0.1:1`, { reconnect: false }, kind);
      c.on('error', () => {});
      let result: Promise<unknown> | undefined;
      expect(() => (result = c.request('m', 10n))).not.toThrow();
      await expect(result).rejects.toThrow(TypeError);
    });

    it('a misspelt option says which one was meant', async () => {
      const c = client(`${scheme(kind)}://127.0.0.1:1`, { reconnect: false }, kind);
      c.on('error', () => {});
      await expect(c.request('m', 1, { timout: 5 } as never)).rejects.toThrow(
        'Unknown option timout (did you mean timeout?)',
      );
    });

    it('close() with a bad code rejects', async () => {
      const c = client(`${scheme(kind)}://127.0.0.1:1`, { reconnect: false }, kind);
      c.on('error', () => {});
      await expect(c.close(1.5)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    });
  });
}

for (const kind of CLIENT_KINDS) {
  describe(`errors that say what happened${kind === 'compact' ? ', the compact client' : ''}`, () => {
    it('never connected, reconnect off: a pending request rejects with why, not "the client closed"', async () => {
      const port = await findFreePort();
      const c = client(`${scheme(kind)}://127.0.0.1:${port}`, { reconnect: false }, kind);
      c.on('error', () => {});
      const err = (await c.request('m').catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe('ERR_TRANSPORT');
      expect(err.message).toContain('without ever connecting');
      expect(err.message).toContain('ECONNREFUSED');
    });

    it('never connected, reconnecting: a request that times out says the client has not connected yet', async () => {
      const port = await findFreePort();
      const c = client(`${scheme(kind)}://127.0.0.1:${port}`, {}, kind);
      c.on('error', () => {});
      const err = (await c.request('m', null, { timeout: 300 }).catch((e: unknown) => e)) as Error & {
        code: string;
        cause: unknown;
      };
      expect(err.code).toBe('ERR_REQUEST_TIMEOUT');
      expect(err.message).toContain('the client has not connected yet');
      expect(err.message).toContain('ECONNREFUSED');
      expect(err.cause).toMatchObject({ code: 'ERR_TRANSPORT' });
    });

    it('closed by the user: ERR_CLIENT_CLOSED, saying so', async () => {
      const port = await findFreePort();
      const c = client(`${scheme(kind)}://127.0.0.1:${port}`, {}, kind);
      c.on('error', () => {});
      const pending = c.request('m').catch((e: unknown) => e);
      await c.close();
      expect(await pending).toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
      await expect(c.request('m')).rejects.toThrow('closed by close()');
    });
  });
}

describe('the browser build where there is no WebSocket', () => {
  it('fails at once with a typed error that says what to pass', () => {
    expect(typeof (globalThis as { WebSocket?: unknown }).WebSocket).toBe('undefined'); // Node 20
    expect(() => browserConnect('ws://127.0.0.1:1/')).toThrow(
      expect.objectContaining({
        code: 'ERR_UNSUPPORTED_SCHEME',
        message: expect.stringContaining('options.WebSocket') as string,
      }),
    );
    expect(() => browserConnect(() => 'ws://127.0.0.1:1/', { protocol: 'raw' })).toThrow(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED_SCHEME' }),
    );
  });
});
