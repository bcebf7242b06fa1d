import { describe, expect, it } from 'vitest';

/**
 * The values each entry of the built package exports (docs/api.md, "Entry points"): what an
 * application uses, the server API, the building blocks in `sockline/core`; nothing more. A
 * new export is a decision, made here as well.
 */
const load = (entry: string): Promise<Record<string, unknown>> =>
  import(new URL(`../../dist/${entry}.js`, import.meta.url).href) as Promise<Record<string, unknown>>;

const APPLICATION = ['CloseCodes', 'ErrorCodes', 'RemoteError', 'SocklineError', 'isSocklineError'];

describe('the public surface of the built package', () => {
  it('`sockline` in a browser exports connect, connectRaw, errors and codes', async () => {
    expect(Object.keys(await load('browser')).sort()).toEqual(
      [...APPLICATION, 'connect', 'connectRaw'].sort(),
    );
  });

  it('`sockline/node` adds the server API, and no session internals or test hubs', async () => {
    expect(Object.keys(await load('node')).sort()).toEqual(
      [
        ...APPLICATION,
        'connect',
        'connectRaw',
        'createServer',
        'defaultIdentify',
        'MemorySessionStore',
        'serverDefaults',
        'streams',
      ].sort(),
    );
  });

  it('`sockline/verbose`, `sockline/iterate` and `sockline/handle` export nothing: they are imported for their effect', async () => {
    expect(Object.keys(await load('verbose'))).toEqual([]);
    expect(Object.keys(await load('iterate'))).toEqual([]);
    expect(Object.keys(await load('handle'))).toEqual([]);
  });

  it('`sockline/streams` exports streams and the connect that takes them, in a browser and in Node', async () => {
    expect(Object.keys(await load('streams')).sort()).toEqual(['connect', 'streams']);
    const node = await load('streams-node');
    expect(Object.keys(node).sort()).toEqual(['connect', 'streams']);
    expect(node.connect).toBe((await load('node')).connect);
  });

  it('`sockline/core` adds the building blocks, and no option resolvers or test transports', async () => {
    expect(Object.keys(await load('core')).sort()).toEqual(
      [
        ...APPLICATION,
        'BaseTransport',
        'BrowserWsTransport',
        'Link',
        'PROTOCOL_VERSION',
        'SUPPORTED_VERSIONS',
        'backoffDelay',
        'batchWire',
        'byteWires',
        'createFraming',
        'createLink',
        'decodeFrame',
        'encodeFrame',
        'framingDefaults',
        'jsonCodec',
        'lengthFraming',
        'linesFraming',
        'linkDefaults',
        'noneFraming',
        'protocolDefaults',
        'systemClock',
        'topicMatches',
      ].sort(),
    );
  });

  it('a Peer shows its API and nothing of the session behind it', async () => {
    const { connect, createServer } = (await load('node')) as typeof import('../../src/node/index.js');
    const server = createServer({ tcp: {} });
    const { tcp } = await server.listen();
    const connected = new Promise<object>((resolve) => server.on('connection', resolve));
    const client = connect(tcp!);
    try {
      const peer = await connected;
      const own = Object.getOwnPropertyNames(peer);
      const api = Object.getOwnPropertyNames(Object.getPrototypeOf(peer)).sort();
      expect(own).toEqual([]);
      expect(api).toEqual(
        [
          'close',
          'connected',
          'constructor',
          'id',
          'join',
          'leave',
          'openStream',
          'remoteAddress',
          'request',
          'rooms',
          'send',
          'subscriptions',
          'transport',
          'user',
        ].sort(),
      );
    } finally {
      await client.close();
      await server.close();
    }
  });
});
