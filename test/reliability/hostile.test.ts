import * as dgram from 'node:dgram';
import * as https from 'node:https';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect } from '../../src/node/index.js';
import type { SocklineClient } from '../../src/core/protocol/client.js';
import { lengthFraming } from '../../src/core/framing/index.js';
import { decodeFrame } from '../../src/core/protocol/frames-decode.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import type { Frame } from '../../src/core/protocol/frames.js';
import { decodePayload, jsonCodec } from '../../src/core/protocol/codec.js';
import { decodePacket } from '../../src/core/datagram/packet.js';
import { isSocklineError } from '../../src/core/errors.js';
import { createServer, type Peer, type ServerOptions, type SocklineServer } from '../../src/node/server.js';
import { protocolVectors } from '../fixtures/protocol-vectors.js';
import { fromHex } from '../fixtures/frames.js';
import { testCert } from '../support/tls-cert.js';
import { startUdpProxy } from '../support/udp-proxy.js';
import { testSeed } from '../support/seed.js';
import { framed, helloBody, rawPeer, type RawPeer } from './support/raw-peer.js';

/**
 * Hostile input against a real server over real sockets. Each case ends in a CLOSE (or a
 * typed error) and a closed connection — never a crash, a hang or a change to
 * Object.prototype — while a healthy client on another connection keeps being served.
 */

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let server: SocklineServer | undefined;
const clients: SocklineClient[] = [];
const peers: RawPeer[] = [];
let prototypeBefore: string[] = [];
beforeEach(() => {
  prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
});
afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
  // No case may touch Object.prototype, whatever it sent.
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

async function start(
  options: ServerOptions = {},
): Promise<{ server: SocklineServer; bystander: SocklineClient }> {
  server = createServer({ tcp: {}, ws: {}, ...options });
  server.handle('echo', (p) => p);
  await server.listen();
  const bystander = connect(server.addresses.ws!);
  clients.push(bystander);
  await bystander.opened;
  return { server, bystander };
}

async function peer(s: SocklineServer): Promise<RawPeer> {
  const p = await rawPeer(s.addresses.tcp!);
  peers.push(p);
  return p;
}

/** The healthy client is still served, and the server holds no connection for the hostile one. */
async function unaffected(s: SocklineServer, bystander: SocklineClient): Promise<void> {
  expect(await bystander.request('echo', { still: 'fine' })).toEqual({ still: 'fine' });
  await expect.poll(() => s.metrics().connections.tcp).toBe(0);
}

const data = (kind: 'text' | 'value' | 'binary', payload: Uint8Array): Uint8Array =>
  encodeFrame({ type: 'data', kind, payload });

describe('hostile bytes on a TCP connection', () => {
  // [name, after a completed handshake?, bytes, expected CLOSE code]
  const cases: Array<[string, boolean, () => Uint8Array, number]> = [
    ['1,000,000 empty frames in one chunk before HELLO', false, () => new Uint8Array(4_000_000), 4000],
    ['1,000,000 empty frames in one chunk after the handshake', true, () => new Uint8Array(4_000_000), 4000],
    [
      'an endless varint of 1,000,000 bytes',
      true,
      () => framed(new Uint8Array(1_000_000).fill(0xff).fill(0x30, 0, 1).fill(0, 1, 2)),
      4000,
    ],
    [
      'a DATA frame with an undefined flag bit (0x08)',
      true,
      () => framed(new Uint8Array([0x10, 0x08, 1])),
      4000,
    ],
    ['a frame of a type no version defines (0x7e)', true, () => framed(new Uint8Array([0x7e, 0])), 4000],
    ['a frame before HELLO', false, () => framed(encodeFrame({ type: 'ping', nonce: 1 })), 4000],
    ['a second HELLO', true, () => framed(helloBody), 4000],
    [
      'invalid UTF-8 in a text DATA frame',
      true,
      () => framed(data('text', new Uint8Array([0xc3, 0x28, 0xed, 0xa0, 0x80]))),
      4000,
    ],
    [
      'a sequence gap',
      true,
      () => framed(encodeFrame({ type: 'data', seq: 5, kind: 'text', payload: text('x') })),
      4000,
    ],
    ['an ack of a message never sent', true, () => framed(encodeFrame({ type: 'ack', seq: 9 })), 4000],
    ...(['__proto__', 'constructor', 'prototype'] as const).map(
      (key): [string, boolean, () => Uint8Array, number] => [
        `a JSON DATA payload with a "${key}" key`,
        true,
        () => framed(data('value', text(`{"a":{"${key}":{"polluted":1}}}`))),
        4000,
      ],
    ),
    [
      'JSON nested 100,000 deep',
      true,
      () => framed(data('value', text('['.repeat(100_000) + ']'.repeat(100_000)))),
      4000,
    ],
    [
      'a HELLO of an unknown protocol version',
      false,
      () => framed(encodeFrame({ type: 'hello', versions: [1, 99], capabilities: 7, codec: 'json' })),
      4002,
    ],
  ];

  for (const [name, handshake, bytes, code] of cases) {
    it(`closes a connection that sends ${name} with CLOSE ${code}`, async () => {
      const { server: s, bystander } = await start();
      const got: unknown[] = [];
      s.on('connection', (peer: Peer) => peer.on('message', (v) => got.push(v)));
      const p = await peer(s);
      if (handshake) await p.hello();
      p.write(bytes());
      await p.closed;
      expect(p.closeFrame()).toMatchObject({ type: 'close', code });
      expect(got).toEqual([]);
      await unaffected(s, bystander);
    });
  }

  it('answers a REFUSE listing its versions before closing a HELLO of an unknown version', async () => {
    const { server: s } = await start();
    const p = await peer(s);
    p.write(framed(encodeFrame({ type: 'hello', versions: [99], capabilities: 7, codec: 'json' })));
    await p.closed;
    expect(p.frames[0]).toMatchObject({ type: 'refuse', code: 'ERR_VERSION_UNSUPPORTED', versions: [2] });
  });

  it('answers forbidden JSON keys and invalid UTF-8 in a REQUEST with ERR_BAD_PAYLOAD and keeps the connection', async () => {
    const { server: s, bystander } = await start();
    const p = await peer(s);
    await p.hello();
    const bad: Array<[Uint8Array, 'text' | 'value']> = [
      [text('{"__proto__":{"polluted":1}}'), 'value'],
      [text('{"x":[{"constructor":{"prototype":{"polluted":1}}}]}'), 'value'],
      [text('{"\\u005f_proto__":1}'), 'value'],
      [new Uint8Array([0xff, 0xfe]), 'text'],
      [text('['.repeat(100_000) + ']'.repeat(100_000)), 'value'],
    ];
    bad.forEach(([payload, kind], i) =>
      p.write(framed(encodeFrame({ type: 'request', id: i + 1, method: 'echo', kind, payload }))),
    );
    expect(await p.probe(7)).toBe('pong');
    const responses = p.frames.filter(
      (f): f is Extract<Frame, { type: 'response' }> => f.type === 'response',
    );
    expect(responses.map((r) => [r.id, r.error?.code])).toEqual(
      bad.map((_, i) => [i + 1, 'ERR_BAD_PAYLOAD']),
    );
    expect(await bystander.request('echo', 1)).toBe(1);
  });

  it('ignores RESPONSE frames for ids it never asked about', async () => {
    const { server: s } = await start();
    const p = await peer(s);
    await p.hello();
    for (const id of [1, 2, 12345, Number.MAX_SAFE_INTEGER])
      p.write(framed(encodeFrame({ type: 'response', id, kind: 'value', payload: text('"forged"') })));
    expect(await p.probe(1)).toBe('pong');
    expect(p.isClosed).toBe(false);
  });

  it('survives 10,000 requests from a peer that never reads: in-flight cap, then the slow-consumer policy', async () => {
    const { server: s, bystander } = await start({
      maxOutboundBytes: 16 << 10,
      writeDeadline: 200,
      heartbeatInterval: 100,
    });
    let running = 0;
    let maxRunning = 0;
    s.handle('work', async (n) => {
      maxRunning = Math.max(maxRunning, ++running);
      await sleep(1);
      running--;
      return { n, pad: 'r'.repeat(4_000) };
    });
    const p = await peer(s);
    await p.hello();
    p.socket.pause(); // never reads a byte of the answers
    let id = 0;
    // In bursts, so that many handlers run and their answers pile up unread.
    while (id < 10_000 && !p.isClosed) {
      const burst: Uint8Array[] = [];
      for (let i = 0; i < 200; i++, id++)
        burst.push(
          framed(
            encodeFrame({
              type: 'request',
              id: id + 1,
              method: 'work',
              kind: 'value',
              payload: text(String(id)),
            }),
          ),
        );
      p.write(Buffer.concat(burst));
      await sleep(2);
    }
    await expect.poll(() => s.metrics().slowConsumers, { timeout: 5_000 }).toBe(1);
    // Reading again, it finds the connection gone.
    p.socket.resume();
    await p.closed;
    expect(maxRunning).toBeLessThanOrEqual(100);
    await unaffected(s, bystander);
  });

  it('closes connections that never send a byte when the handshake deadline passes', async () => {
    const { server: s, bystander } = await start({ handshakeTimeout: 150 });
    const silent = await Promise.all([peer(s), peer(s), peer(s)]);
    await Promise.all(silent.map((p) => p.closed));
    for (const p of silent) expect(p.closeFrame()).toMatchObject({ code: 4003 });
    await expect.poll(() => s.metrics().handshakeFailures).toBe(3);
    await unaffected(s, bystander);
  });

  it('refuses a HELLO over the handshake size cap (16 KiB) with CLOSE 4000', async () => {
    const { server: s, bystander } = await start();
    const p = await peer(s);
    const big = encodeFrame({
      type: 'hello',
      versions: [2],
      capabilities: 7,
      codec: 'json',
      token: 't'.repeat(4_000),
    });
    // A well-formed HELLO padded past the cap with a trailing-bytes tail.
    p.write(framed(new Uint8Array([...big, ...new Uint8Array(20_000)])));
    await p.closed;
    expect(p.closeFrame()).toMatchObject({ code: 4000 });
    await unaffected(s, bystander);
  });

  // docs/protocol.md §6.3 caps a frame before the handshake at maxHandshakeSize (16 KiB), "so
  // that an unauthenticated peer cannot make it buffer a large frame": the cap is the stream
  // decoder's limit until the handshake completes, checked on the length prefix.
  it('closes a connection at once when its first header declares more than the HELLO cap (16 KiB)', async () => {
    const { server: s, bystander } = await start({ handshakeTimeout: 30_000 });
    const p = await peer(s);
    p.write(new Uint8Array([0x00, 0x00, 0x40, 0x01])); // 16 KiB + 1, no body
    await expect.poll(() => p.isClosed, { timeout: 2_000 }).toBe(true);
    expect(p.closeFrame()).toMatchObject({ code: 4000 });
    await unaffected(s, bystander);
  });

  it('reassembles a 1 MiB frame that arrives in many small writes, and refuses one byte more on its header', async () => {
    const { server: s, bystander } = await start();
    const got: unknown[] = [];
    s.on('connection', (peer: Peer) => peer.on('message', (v) => got.push(v)));
    const p = await peer(s);
    await p.hello();
    // The largest legal frame: 1 MiB body, binary payload.
    const body = data('binary', new Uint8Array((1 << 20) - 2).fill(9));
    const wire = framed(body);
    for (let at = 0; at < wire.length; at += 1024) {
      p.write(wire.subarray(at, at + 1024));
      if (at % (64 << 10) === 0) await sleep(0);
    }
    await expect.poll(() => got.length, { timeout: 5_000 }).toBe(1);
    expect((got[0] as Uint8Array).byteLength).toBe((1 << 20) - 2);
    expect(p.isClosed).toBe(false);
    // A header declaring 1 MiB + 1: closed at once, before any body byte is buffered.
    p.write(new Uint8Array([0x00, 0x10, 0x00, 0x01]));
    await p.closed;
    await unaffected(s, bystander);
  });
});

describe('hostile input on WebSocket', () => {
  // docs/protocol.md §1 makes any text message a protocol error, whatever its bytes.
  for (const [name, message] of [
    ['that is not a frame', '{"type":"hello"}'],
    ["carrying a valid HELLO's bytes", Buffer.from(helloBody)],
  ] as const) {
    it(`closes a connection that sends a text message ${name}, with CLOSE 4000 and WebSocket close 4000`, async () => {
      const { server: s, bystander } = await start();
      const ws = new WebSocket(s.addresses.ws!);
      const got: Frame[] = [];
      ws.on('message', (m: Buffer) => got.push(decodeFrame(new Uint8Array(m))));
      ws.on('error', () => {});
      await new Promise((r) => ws.once('open', r));
      ws.send(message, { binary: false });
      const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
      expect(got).toEqual([expect.objectContaining({ type: 'close', code: 4000 })]);
      expect(code).toBe(4000);
      expect(await bystander.request('echo', 2)).toBe(2);
      await expect.poll(() => s.metrics().connections.ws).toBe(1);
    });
  }
});

describe('names that mean something in JavaScript', () => {
  it('treats error, __proto__, constructor and prototype as plain method, topic and event names', async () => {
    const { server: s } = await start();
    const names = ['error', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];
    for (const name of names) s.handle(name, (p) => `${name}:${String(p)}`);
    const c = connect(s.addresses.tcp!);
    clients.push(c);
    await c.opened;
    for (const name of names) expect(await c.request(name, 1)).toBe(`${name}:1`);
    await expect(c.request('valueOf')).rejects.toMatchObject({ remoteCode: 'ERR_UNKNOWN_METHOD' });
    const got: string[] = [];
    for (const name of names) c.subscribe(name, (_v, { topic }) => got.push(topic));
    // `#` also matches its parent level: 'constructor' reaches this pattern too.
    c.subscribe('constructor/#', (_v, { topic }) => got.push(`#${topic}`));
    await sleep(20);
    for (const name of names) c.publish(name, name);
    c.publish('constructor/error', 0);
    await expect.poll(() => got.length).toBe(names.length + 2);
    expect(got.sort()).toEqual([...names, '#constructor', '#constructor/error'].sort());
    // Requests the server makes to the client, by the same names.
    for (const name of names) c.handle(name, () => name);
    const p = [...s.peers.values()].find((candidate) => candidate.transport === 'tcp');
    for (const name of names) expect(await p!.request(name)).toBe(name);
  });
});

describe('random input, time-boxed', () => {
  const seed = testSeed();
  const report = (err: unknown): never => {
    console.error(`random input test failed with seed ${seed} (rerun with SOCKLINE_SEED=${seed})`);
    throw err;
  };

  const golden = protocolVectors.map((v) => fromHex(v.hex));
  /** Random bytes, and golden frames with one byte changed or cut short. */
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc
      .tuple(fc.constantFrom(...golden), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
      .map(([g, at, value, cut]) => {
        const b = g.slice();
        if (b.length === 0) return b;
        if (cut) return b.subarray(0, at % b.length);
        b[at % b.length] = value;
        return b;
      }),
  );

  it('100,000 random bodies into the frame, payload, packet and stream decoders: typed errors only', () => {
    let inputs = 0;
    const codec = jsonCodec();
    const stream = lengthFraming();
    const kinds = ['binary', 'text', 'value'] as const;
    // Nearly every input is refused: capturing a stack for each refusal would cost more
    // than the decoding itself.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      fc.assert(
        fc.property(body, fc.integer({ min: 0, max: 2 }), (bytes, kind) => {
          inputs++;
          const typed = (decode: () => unknown): void => {
            try {
              decode();
            } catch (err) {
              if (!isSocklineError(err)) throw err;
            }
          };
          typed(() => decodeFrame(bytes));
          typed(() => decodePayload(kinds[kind]!, bytes, codec));
          typed(() => decodePacket(bytes));
          typed(() => {
            const decoder = stream.createDecoder(() => {});
            decoder.push(bytes);
            decoder.end();
          });
        }),
        { seed, numRuns: 100_000, interruptAfterTimeLimit: 5_000 },
      );
    } catch (err) {
      report(err);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    console.log(`decoders: ${inputs} random inputs`);
    expect(inputs).toBeGreaterThan(10_000);
  });

  it('random frames after a valid HELLO over real sockets: each connection is served or closed, never stuck', async () => {
    // Up to 2,000 handshakes in 3 s from a raw peer that does not come back later: admission
    // control (test/node/admission.test.ts) would turn most of them away before any frame.
    const { server: s, bystander } = await start({ admission: false });
    let inputs = 0;
    let closedByServer = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 40 }), async (bodies) => {
          inputs += bodies.length;
          const p = await peer(s);
          await p.hello();
          p.write(Buffer.concat(bodies.map((b) => framed(b))));
          const outcome = await p.probe(424242);
          if (outcome === 'closed') closedByServer++;
          p.destroy();
          await p.closed;
        }),
        { seed, numRuns: 2_000, interruptAfterTimeLimit: 3_000 },
      );
    } catch (err) {
      report(err);
    }
    console.log(`sockets: ${inputs} random frames`);
    expect(inputs).toBeGreaterThan(1_000);
    expect(closedByServer).toBeGreaterThan(0);
    await unaffected(s, bystander);
  });
});

describe('hostile datagrams', () => {
  it('does not process a captured packet replayed from another address, and answers it within 3x its bytes', async () => {
    server = createServer({ udp: { reliable: true } });
    await server.listen();
    const s = server;
    s.handle('echo', (v) => v);
    const got: unknown[] = [];
    s.on('connection', (peer: Peer) => peer.on('message', (v) => got.push(v)));
    const captured: Buffer[] = [];
    const proxy = await startUdpProxy(
      { host: '127.0.0.1', port: Number(new URL(s.addresses.udp!).port) },
      { seed: 1, tap: (dir, d) => dir === 'up' && d[1] === 0x10 && captured.push(Buffer.from(d)) },
    );
    try {
      const victim = connect(proxy.url, { reliable: true });
      clients.push(victim);
      await victim.opened;
      victim.send('from the victim');
      await expect.poll(() => got).toEqual(['from the victim']);

      const attacker = dgram.createSocket('udp4');
      let repliedBytes = 0;
      const replyTypes = new Set<string>();
      attacker.on('message', (m) => {
        repliedBytes += m.byteLength;
        replyTypes.add(decodePacket(new Uint8Array(m)).type);
      });
      await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', r));
      let sentBytes = 0;
      for (const packet of captured) {
        attacker.send(packet, Number(new URL(s.addresses.udp!).port), '127.0.0.1');
        sentBytes += packet.byteLength;
      }
      await sleep(100);
      attacker.close();
      expect(captured.length).toBeGreaterThan(0);
      // Nothing of the replay reached the session...
      expect(got).toEqual(['from the victim']);
      // ...the only answers were path challenges, within the anti-amplification budget...
      expect([...replyTypes]).toEqual(['pathChallenge']);
      expect(repliedBytes).toBeLessThanOrEqual(3 * sentBytes);
      // ...and the victim's session goes on, on its own path.
      expect(await victim.request('echo', 'still mine')).toBe('still mine');
      victim.send('again');
      await expect.poll(() => got).toEqual(['from the victim', 'again']);
      await victim.close();
    } finally {
      await proxy.close();
    }
  });

  it('never answers an unproven address with more bytes than it sent, whatever it sends', async () => {
    server = createServer({ udp: {} });
    await server.listen();
    const port = Number(new URL(server.addresses.udp!).port);
    const seed = testSeed();
    const random = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 200 }), { seed, numRuns: 500 });
    const sockets = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const socket = dgram.createSocket('udp4');
        const counts = { sent: 0, received: 0 };
        socket.on('message', (m) => (counts.received += m.byteLength));
        await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
        return { socket, counts };
      }),
    );
    random.forEach((bytes, i) => {
      // Every other datagram looks like a sockline INITIAL, so some are answered with a COOKIE.
      const b =
        i % 2 === 0
          ? bytes
          : Uint8Array.from([0xd1, 0x01, ...bytes.subarray(0, 8), 0x00, 0x00, ...new Uint8Array(60)]);
      const { socket, counts } = sockets[i % sockets.length]!;
      socket.send(b, port, '127.0.0.1');
      counts.sent += b.byteLength;
    });
    await sleep(150);
    for (const { socket } of sockets) socket.close();
    try {
      for (const { counts } of sockets) expect(counts.received).toBeLessThanOrEqual(counts.sent);
    } catch (err) {
      console.error(`amplification test failed with seed ${seed} (rerun with SOCKLINE_SEED=${seed})`);
      throw err;
    }
    expect(server.metrics().connections.udp).toBe(0);
  });
});

describe('a TLS server with a self-signed certificate', () => {
  it('is refused over wss:// by default and accepted once its certificate is given as ca', async () => {
    const { cert, key } = testCert();
    const httpsServer = https.createServer({ cert, key });
    await new Promise<void>((r) => httpsServer.listen(0, '127.0.0.1', r));
    try {
      server = createServer({ ws: { server: httpsServer } });
      await server.listen();
      const url = `wss://127.0.0.1:${(httpsServer.address() as { port: number }).port}/`;
      const untrusting = connect(url, { reconnect: false });
      clients.push(untrusting);
      const errors: string[] = [];
      untrusting.on('error', (e) =>
        errors.push(`${e.code} ${String((e.cause as Error | undefined)?.message)}`),
      );
      await expect(untrusting.opened).rejects.toBeDefined();
      expect(errors.join('\n')).toMatch(/ERR_TRANSPORT .*(self[- ]signed|certificate)/i);
      expect(server.peers.size).toBe(0);
      const trusting = connect(url, { tls: { ca: cert } });
      clients.push(trusting);
      await trusting.opened;
      expect(server.peers.size).toBe(1);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await server?.close();
      server = undefined;
      httpsServer.closeAllConnections();
      await new Promise<void>((r) => httpsServer.close(() => r()));
    }
  });
});
