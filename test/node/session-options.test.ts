import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ProtocolConnectOptions } from '../../src/node/index.js';
import { ErrorCodes, SocklineError } from '../../src/core/errors.js';
import type { Codec } from '../../src/core/protocol/codec.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { createServer, type Peer, type ServerOptions, type SocklineServer } from '../../src/node/server.js';
import { type ClientKind, clientLabel, connectAs, TRANSPORT_CLIENTS } from '../support/clients.js';

const servers: SocklineServer[] = [];
const clients: SocklineClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: ServerOptions): Promise<SocklineServer> {
  const server = createServer({ tcp: {}, ws: {}, ...options });
  servers.push(server);
  await server.listen();
  return server;
}

function client(
  url: string,
  options: ProtocolConnectOptions = {},
  kind: ClientKind = 'full',
): SocklineClient {
  const c = connectAs(kind, url, { reconnect: { initialDelay: 20, maxDelay: 200 }, ...options });
  clients.push(c);
  return c;
}

/** A codec that is not JSON on the wire: JSON text, reversed. */
const reversed: Codec = {
  name: 'reversed-json',
  encode: (value) => new TextEncoder().encode([...JSON.stringify(value)].reverse().join('')),
  decode: (bytes) => {
    try {
      return JSON.parse([...new TextDecoder().decode(bytes)].reverse().join('')) as unknown;
    } catch (err) {
      throw new SocklineError(ErrorCodes.BAD_PAYLOAD, 'not reversed JSON', { cause: err });
    }
  },
};

describe('the client honours every limit the server announces', () => {
  for (const [transport, kind] of TRANSPORT_CLIENTS) {
    it(`completes 150 requests to a slow handler of a server allowing 100 at once (${clientLabel(transport, kind)})`, async () => {
      const server = await start({ maxInFlight: 100 });
      let running = 0;
      let most = 0;
      server.handle('slow', async (n) => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 30));
        running--;
        return n;
      });
      const c = client(server.addresses[transport]!, {}, kind);
      await c.opened;
      const settled = await Promise.allSettled(Array.from({ length: 150 }, (_, i) => c.request('slow', i)));
      expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
      expect(settled.map((s) => (s as PromiseFulfilledResult<unknown>).value)).toEqual(
        Array.from({ length: 150 }, (_, i) => i),
      );
      expect(most).toBe(100);
    });
  }
});

describe('server options of the session', () => {
  it('speaks the codec it is given with a client of the same codec, and refuses a client of another', async () => {
    const server = await start({ codec: reversed });
    const peers: Peer[] = [];
    server.on('connection', (peer) => {
      peers.push(peer);
      peer.on('message', (value) => peer.send({ echo: value }));
    });
    server.handle('add', (p) => {
      const [a, b] = p as [number, number];
      return { sum: a + b };
    });
    const c = client(server.addresses.tcp!, { codec: reversed });
    const got: unknown[] = [];
    c.on('message', (v) => got.push(v));
    await c.opened;
    await expect(c.request('add', [2, 3])).resolves.toEqual({ sum: 5 });
    c.send({ x: [1, 'two'] });
    await expect.poll(() => got).toEqual([{ echo: { x: [1, 'two'] } }]);
    server.broadcast({ to: 'all' });
    await expect.poll(() => got.length).toBe(2);
    expect(got[1]).toEqual({ to: 'all' });

    const errors: string[] = [];
    const json = client(server.addresses.ws!, { reconnect: false });
    json.on('error', (e) => errors.push(e.message));
    await expect(json.opened).rejects.toMatchObject({ code: 'ERR_PROTOCOL' });
    expect(errors.join(' ')).toContain('codec "json" is not spoken here (reversed-json)');
  });

  it('refuses a codec option that is not a codec', () => {
    expect(() => createServer({ codec: { name: 'x' } as unknown as Codec })).toThrow(TypeError);
  });

  it('checks the session options when the server is made, not at its first connection', () => {
    // What WELCOME announces must be a finite number; a timeout or a cap may be unlimited.
    for (const name of ['maxInFlight', 'heartbeatInterval', 'resumeWindow', 'maxFrameSize'] as const) {
      expect(() => createServer({ [name]: Infinity }), name).toThrow(
        expect.objectContaining({
          name: 'RangeError',
          code: 'ERR_INVALID_OPTION',
          message: expect.stringContaining(name),
        }),
      );
    }
    for (const name of ['requestTimeout', 'maxSubscriptions', 'maxTotalSubscriptions'] as const) {
      expect(() => createServer({ [name]: Infinity }), name).not.toThrow();
      expect(() => createServer({ [name]: 0 }), name).toThrow(RangeError);
    }
    expect(() => connect('tcp://127.0.0.1:1', { maxInFlight: '10' as unknown as number })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_OPTION' }),
    );
    expect(() => connect('tcp://127.0.0.1:1', { maxInFlight: 0 })).toThrow(RangeError);
    expect(() => connect('tcp://127.0.0.1:1', { requestTimeout: -1 })).toThrow(RangeError);
  });

  it('times a server → client request out after requestTimeout', async () => {
    const server = await start({ requestTimeout: 100 });
    const peers: Peer[] = [];
    server.on('connection', (peer) => peers.push(peer));
    const c = client(server.addresses.tcp!);
    c.handle('hang', () => new Promise(() => {}));
    await c.opened;
    await expect.poll(() => peers.length).toBe(1);
    const started = Date.now();
    await expect(peers[0]!.request('hang')).rejects.toMatchObject({
      code: 'ERR_REQUEST_TIMEOUT',
      message: 'request "hang" timed out after 100 ms',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(() => createServer({ requestTimeout: 0 })).toThrow(RangeError);
  });
});
