import { describe, expect, it } from 'vitest';
import { ErrorCodes, RemoteError, SocklineError } from '../../src/core/errors.js';
import { encodeBatch } from '../../src/core/protocol/batch.js';
import { Endpoint } from '../../src/core/protocol/endpoint/endpoint.js';
import { Capabilities, type Frame } from '../../src/core/protocol/frames.js';
import { decodeFrame as decode } from '../../src/core/protocol/frames-decode.js';
import {
  CLIENT_CAPABILITIES,
  bytes,
  ClientRecorder,
  clientConfig,
  data,
  fakeClock,
  json,
  openClient,
  openServer,
  ServerRecorder,
  serverConfig,
  valueOf,
  welcome,
  welcomeClient,
} from './endpoint-helpers.js';

const closed = new SocklineError(ErrorCodes.CONNECTION_CLOSED, 'gone');
const types = (frames: Frame[]): string[] => frames.map((f) => f.type);
const batchOf = (bodies: Uint8Array[]): Uint8Array =>
  encodeBatch(
    bodies,
    bodies.reduce((n, b) => n + b.byteLength, 0),
  );
const seqs = (frames: Frame[]): Array<number | undefined> =>
  frames.filter((f) => f.type === 'data').map((f) => (f as { seq?: number }).seq);
/** Lets the microtasks of async handlers run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('Endpoint: the handshake', () => {
  it('client: sends a HELLO with its capabilities, codec and token, and resumes the session it had', () => {
    const clock = fakeClock();
    const host = new ClientRecorder();
    const endpoint = new Endpoint(clientConfig(clock), host);
    const first = new Endpoint(clientConfig(clock), host).hello('tok');
    expect(first).toEqual(
      bytes({ type: 'hello', versions: [2], capabilities: CLIENT_CAPABILITIES, codec: 'json', token: 'tok' }),
    );
    endpoint.hello(undefined);
    welcomeClient(endpoint, host, welcome({ sessionId: 'abc' }));
    endpoint.receive(data('a', 1));
    endpoint.receive(data('b', 2));
    endpoint.detach(closed);
    expect(endpoint.hello(undefined)).toEqual(
      bytes({
        type: 'hello',
        versions: [2],
        capabilities: CLIENT_CAPABILITIES,
        codec: 'json',
        resume: { sessionId: 'abc', lastSeq: 2 },
      }),
    );
    const noResume = openClient(clock, { resume: false }).endpoint;
    noResume.detach(closed);
    expect(noResume.hello(undefined)).toEqual(
      bytes({ type: 'hello', versions: [2], capabilities: CLIENT_CAPABILITIES, codec: 'json' }),
    );
  });

  it("client: asks to resume only while the server's resumeWindow (plus its heartbeat) may keep the session", () => {
    const clock = fakeClock(1_000);
    const hasResume = (hello: Uint8Array): boolean => 'resume' in (decode(hello) as object);
    const { endpoint, host } = openClient(clock, {}, welcome({ resumeWindow: 10_000 }));
    endpoint.detach(closed);
    // Kept by the server for 10,000 ms after it noticed, at most 1,500 ms of heartbeat later.
    clock.t = 1_000 + 11_500;
    expect(hasResume(endpoint.hello(undefined))).toBe(true);
    endpoint.detach(closed); // an attempt that failed does not move the window
    clock.t += 1;
    expect(hasResume(endpoint.hello(undefined))).toBe(false);
    welcomeClient(endpoint, host, welcome({ sessionId: 's2', resumeWindow: 0 }));
    endpoint.detach(closed);
    expect(hasResume(endpoint.hello(undefined))).toBe(false);
  });

  it('client: on WELCOME opens, pings at once and reports the session', () => {
    const { endpoint, host } = openClient(fakeClock());
    expect(host.events).toEqual(['session s1 fresh']);
    expect(host.take()).toEqual([{ type: 'ping', nonce: 1 }]);
    expect(endpoint.phase).toBe('open');
    expect(endpoint.sessionId).toBe('s1');
  });
});

describe('Endpoint: sequence numbers, acknowledgements and resume', () => {
  it('numbers what it sends from 1 and piggybacks the ack it owes', () => {
    const clock = fakeClock();
    const { endpoint, host } = openServer(clock);
    host.take();
    endpoint.receive(data('a', 1));
    endpoint.receive(data('b', 2));
    expect(host.messages).toEqual(['a', 'b']);
    expect(endpoint.send(undefined, 'x', false, Infinity)).toBe('sent');
    expect(endpoint.send(undefined, 'y', false, Infinity)).toBe('sent');
    const frames = host.take();
    expect(frames).toMatchObject([
      { type: 'data', seq: 1, ack: 2 },
      { type: 'data', seq: 2 },
    ]);
    expect(frames[1]).not.toHaveProperty('ack');
    // The ack deadline comes with nothing owed: nothing is written.
    clock.t += 20;
    endpoint.tick(clock.t);
    expect(host.take()).toEqual([]);
  });

  it('tells its host that a volatile message may be lost, and no other frame', async () => {
    const { endpoint, host } = openClient(fakeClock());
    host.take();
    endpoint.receive(data('a', 1));
    endpoint.send(undefined, 'sequenced', false, Infinity);
    endpoint.send('room/1', 'volatile publish', true, Infinity);
    endpoint.send(undefined, 'volatile', true, Infinity);
    endpoint.subscribe('room/+', () => {});
    void endpoint.request('m', 1, { timeout: 1000 });
    void endpoint.ping();
    endpoint.writeClose(1000, '');
    expect(host.frames.map((f, i) => `${f.type}${host.volatile[i] ? ' volatile' : ''}`)).toEqual([
      'data',
      'publish volatile',
      'data volatile',
      'subscribe',
      'request',
      'ping',
      'close',
    ]);
  });

  it('acknowledges alone exactly ackDelay after a receipt, or at once after 32', () => {
    const clock = fakeClock(1_000);
    const { endpoint, host } = openServer(clock);
    host.take();
    endpoint.receive(data('a', 1));
    expect(host.wakes.at(-1)).toBe(1_020);
    expect(endpoint.deadline).toBe(1_020);
    endpoint.tick(1_019);
    expect(host.take()).toEqual([]);
    endpoint.tick(1_020);
    expect(host.take()).toEqual([{ type: 'ack', seq: 1 }]);
    for (let seq = 2; seq <= 33; seq++) endpoint.receive(data(seq, seq));
    expect(host.take()).toEqual([{ type: 'ack', seq: 33 }]);
  });

  it('drops a duplicate silently and ends the connection at a gap with CLOSE 4000', () => {
    const { endpoint, host } = openServer(fakeClock());
    host.take();
    endpoint.receive(data('a', 1));
    endpoint.receive(data('a again', 1));
    endpoint.receive(data('b', 2));
    expect(host.messages).toEqual(['a', 'b']);
    endpoint.receive(data('e', 5));
    expect(host.take()).toEqual([{ type: 'close', code: 4000, reason: 'sequence gap: got 5 after 2' }]);
    expect(host.ended).toMatchObject({ code: 4000, error: { code: 'ERR_PROTOCOL' } });
    expect(endpoint.phase).toBe('detached');
    expect(host.messages).toEqual(['a', 'b']);
  });

  it('reads frames in place from a chunk as it reads them whole: messages, acks, other frames, a BATCH', () => {
    const { endpoint, host } = openServer(fakeClock());
    endpoint.send(undefined, 'out', false, Infinity);
    host.take();
    const frames = [
      data('a', 1, 1),
      bytes({ type: 'data', kind: 'binary', seq: 2, payload: new Uint8Array([7, 8]) }),
      bytes({ type: 'ping', nonce: 9 }),
      batchOf([data('b', 3), data('c', 4)]),
    ];
    // One chunk with a byte before and after each frame: the ranges are not the whole chunk.
    const chunk = new Uint8Array(frames.reduce((n, f) => n + f.length + 2, 0)).fill(0xff);
    let at = 0;
    const ranges: Array<[number, number]> = [];
    for (const f of frames) {
      chunk.set(f, at + 1);
      ranges.push([at + 1, at + 1 + f.length]);
      at += f.length + 2;
    }
    for (const [start, end] of ranges) endpoint.receiveRange(chunk, start, end);
    expect(host.messages).toEqual(['a', new Uint8Array([7, 8]), 'b', 'c']);
    expect(endpoint.delivery.outstanding).toBe(0);
    expect(host.take()).toEqual([{ type: 'pong', nonce: 9 }]);
    endpoint.receiveRange(chunk, ranges[0]![0], ranges[0]![1]);
    expect(host.messages).toHaveLength(4);
    endpoint.receiveRange(data('f', 9), 0, data('f', 9).length);
    expect(host.take()).toEqual([{ type: 'close', code: 4000, reason: 'sequence gap: got 9 after 4' }]);
  });

  it('refuses an ack of a sequence number never sent', () => {
    const { endpoint, host } = openServer(fakeClock());
    endpoint.send(undefined, 1, false, Infinity);
    host.take();
    endpoint.receive(bytes({ type: 'ack', seq: 2 }));
    expect(host.take()).toEqual([
      { type: 'close', code: 4000, reason: 'ack 2 is above the last sequence number sent' },
    ]);
  });

  it('on resume replays what the server lacks, then what waited, in order', () => {
    const clock = fakeClock();
    const { endpoint, host } = openClient(clock);
    for (let n = 1; n <= 5; n++) endpoint.send(undefined, n, false, Infinity);
    endpoint.receive(bytes({ type: 'ack', seq: 2 }));
    endpoint.detach(closed);
    expect(endpoint.send(undefined, 6, false, Infinity)).toBe('queued');
    expect(endpoint.send(undefined, 7, false, Infinity)).toBe('queued');
    host.take();
    endpoint.hello(undefined);
    welcomeClient(endpoint, host, welcome({ resumed: true, lastSeq: 3 }));
    const frames = host.take().filter((f) => f.type === 'data');
    expect(seqs(frames)).toEqual([4, 5, 6, 7]);
    expect(frames.map(valueOf)).toEqual([4, 5, 6, 7]);
    expect(host.events.at(-1)).toBe('session s1 resumed');
  });

  it('after a lost session sends what was never acknowledged again from sequence 1', () => {
    const clock = fakeClock();
    const { endpoint, host } = openClient(clock);
    for (let n = 1; n <= 5; n++) endpoint.send(undefined, n, false, Infinity);
    endpoint.receive(bytes({ type: 'ack', seq: 2 }));
    endpoint.receive(data('from s1', 1));
    endpoint.detach(closed);
    host.take();
    endpoint.hello(undefined);
    welcomeClient(endpoint, host, welcome({ sessionId: 's2', resumed: false }));
    const frames = host.take().filter((f) => f.type === 'data');
    expect(seqs(frames)).toEqual([1, 2, 3]);
    expect(frames.map(valueOf)).toEqual([3, 4, 5]);
    expect(host.events.slice(-2)).toEqual(['session s2 fresh', 'lost s1 resent 3']);
    // The receiving side starts over too: seq 1 of the new session is a new message.
    endpoint.receive(data('from s2', 1));
    expect(host.messages).toEqual(['from s1', 'from s2']);
  });

  it("holds every frame to the server's maxFrameSize from its WELCOME", () => {
    const { endpoint } = openClient(fakeClock(), {}, welcome({ maxFrameSize: 100 }));
    expect(() => endpoint.send(undefined, new Uint8Array(90), false, Infinity)).toThrow(
      expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }),
    );
    expect(endpoint.send(undefined, new Uint8Array(80), false, Infinity)).toBe('sent');
  });
});

describe('Endpoint: the request table', () => {
  it('numbers requests from 1 and settles each once: result, remote error, undecodable result', async () => {
    const { endpoint, host } = openClient(fakeClock());
    host.take();
    const sum = endpoint.request('sum', [1, 2]);
    const fail = endpoint.request('fail', null);
    const bad = endpoint.request('bad', null);
    expect(host.take()).toMatchObject([
      { type: 'request', id: 1, method: 'sum' },
      { type: 'request', id: 2, method: 'fail' },
      { type: 'request', id: 3, method: 'bad' },
    ]);
    endpoint.receive(bytes({ type: 'response', id: 99, kind: 'value', payload: json('stray') }));
    endpoint.receive(bytes({ type: 'response', id: 1, kind: 'value', payload: json(3) }));
    endpoint.receive(bytes({ type: 'response', id: 1, kind: 'value', payload: json('twice') }));
    endpoint.receive(
      bytes({
        type: 'response',
        id: 2,
        error: { code: 'E_X', message: 'nope' },
        kind: 'binary',
        payload: new Uint8Array(0),
      }),
    );
    endpoint.receive(bytes({ type: 'response', id: 3, kind: 'value', payload: json('x').subarray(1) }));
    await expect(sum).resolves.toBe(3);
    await expect(fail).rejects.toMatchObject({ code: 'ERR_REMOTE', remoteCode: 'E_X', message: 'nope' });
    await expect(bad).rejects.toMatchObject({ code: 'ERR_BAD_PAYLOAD' });
    // None of that ends the connection.
    expect(host.take()).toEqual([]);
    expect(endpoint.phase).toBe('open');
  });

  it("rejects by the RPC error contract: sockline's codes as themselves, the application's as a RemoteError with its data", async () => {
    const { endpoint, host } = openClient(fakeClock());
    host.take();
    const unknown = endpoint.request('nothing', null);
    const refused = endpoint.request('pay', null);
    const bare = endpoint.request('pay', null);
    const garbled = endpoint.request('pay', null);
    const error = (
      id: number,
      code: string,
      message: string,
      payload: Uint8Array = new Uint8Array(0),
    ): Uint8Array => bytes({ type: 'response', id, error: { code, message }, kind: 'value', payload });
    endpoint.receive(error(1, 'ERR_UNKNOWN_METHOD', 'no handler for "nothing"', json({ ignored: true })));
    endpoint.receive(error(2, 'E_FUNDS', 'not enough', json({ balance: 3 })));
    endpoint.receive(error(3, 'E_FUNDS', 'not enough'));
    endpoint.receive(error(4, 'E_FUNDS', 'not enough', json('x').subarray(1)));
    const known = await unknown.catch((e: unknown) => e);
    expect(known).toBeInstanceOf(SocklineError);
    expect(known).toMatchObject({ code: 'ERR_UNKNOWN_METHOD', remoteCode: 'ERR_UNKNOWN_METHOD' });
    expect(known).not.toBeInstanceOf(RemoteError);
    const remote = await refused.catch((e: unknown) => e);
    expect(remote).toBeInstanceOf(RemoteError);
    expect(remote).toMatchObject({
      code: 'ERR_REMOTE',
      remoteCode: 'E_FUNDS',
      message: 'not enough',
      data: { balance: 3 },
    });
    await expect(bare).rejects.toMatchObject({ code: 'ERR_REMOTE', remoteCode: 'E_FUNDS', data: undefined });
    // Details the codec cannot decode are left out; the request still fails with its code.
    await expect(garbled).rejects.toMatchObject({
      code: 'ERR_REMOTE',
      remoteCode: 'E_FUNDS',
      data: undefined,
    });
    expect(endpoint.phase).toBe('open');
  });

  it('says why a request waited when it times out and its host knows (the client never connected)', async () => {
    const clock = fakeClock();
    const host = new ClientRecorder();
    const cause = new SocklineError(ErrorCodes.CONNECTION_CLOSED, 'connect ECONNREFUSED');
    const stalled = { note: 'the client has not connected yet (connect ECONNREFUSED)', cause };
    (host as ClientRecorder & { stalled(): typeof stalled }).stalled = () => stalled;
    const endpoint = new Endpoint(clientConfig(clock), host);
    const waiting = endpoint.request('m', null, { timeout: 100 });
    clock.t += 100;
    endpoint.tick(clock.t);
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_REQUEST_TIMEOUT',
      message: 'request "m" timed out after 100 ms: the client has not connected yet (connect ECONNREFUSED)',
    });
    expect((error as Error).cause).toBe(cause);
  });

  it('times a request out exactly at its timeout, the default one or its own', async () => {
    const clock = fakeClock(1_000);
    const { endpoint, host } = openClient(clock);
    const own = endpoint.request('slow', null, { timeout: 100 });
    const byDefault = endpoint.request('slow', null);
    expect(host.wakes).toContain(1_100);
    expect(host.wakes).toContain(6_000);
    expect(endpoint.tick(1_099)).toBe(1_100);
    endpoint.tick(1_100);
    await expect(own).rejects.toMatchObject({
      code: 'ERR_REQUEST_TIMEOUT',
      message: 'request "slow" timed out after 100 ms',
    });
    expect(endpoint.tick(5_999)).toBe(6_000);
    endpoint.tick(6_000);
    await expect(byDefault).rejects.toMatchObject({ code: 'ERR_REQUEST_TIMEOUT' });
  });

  it("writes at most the server's maxInFlight at once; the others wait in order, also across a reconnect", async () => {
    const clock = fakeClock(1_000);
    const { endpoint, host } = openClient(clock, {}, welcome({ maxInFlight: 2 }));
    host.take();
    const controller = new AbortController();
    const results = [
      endpoint.request('m', 1),
      endpoint.request('m', 2, { timeout: 50 }),
      endpoint.request('m', 3),
      endpoint.request('m', 4),
      endpoint.request('m', 5, { signal: controller.signal }),
      endpoint.request('m', 6),
    ];
    const settled: unknown[] = [];
    for (const r of results)
      r.then(
        (v) => settled.push(v),
        (e: SocklineError) => settled.push(e.code),
      );
    const written = (): unknown[] => host.take().flatMap((f) => (f.type === 'request' ? [valueOf(f)] : []));
    expect(written()).toEqual([1, 2]);
    endpoint.receive(bytes({ type: 'response', id: 1, kind: 'value', payload: json('one') }));
    expect(written()).toEqual([3]);
    clock.t = 1_050;
    endpoint.tick(clock.t); // request 2 times out: its place goes to the next
    expect(written()).toEqual([4]);
    controller.abort(); // request 5 never reaches the wire
    endpoint.receive(bytes({ type: 'response', id: 3, kind: 'value', payload: json('three') }));
    expect(written()).toEqual([6]);
    // A reconnect fails nothing: what was written is written again (the server drops what it
    // had), what waits goes out as answers free the window.
    const later = endpoint.request('m', 7);
    const laterStill = endpoint.request('m', 8);
    expect(written()).toEqual([]);
    endpoint.detach(closed);
    endpoint.hello(undefined);
    // The server had requests 1 to 3 (seq 1 to 3); 4 and 6 (seq 4 and 5) are written again.
    welcomeClient(endpoint, host, welcome({ resumed: true, maxInFlight: 2, lastSeq: 3 }));
    expect(written()).toEqual([4, 6]);
    endpoint.receive(bytes({ type: 'response', id: 4, kind: 'value', payload: json('four') }));
    expect(written()).toEqual([7]);
    endpoint.receive(bytes({ type: 'response', id: 6, kind: 'value', payload: json('six') }));
    expect(written()).toEqual([8]);
    endpoint.receive(bytes({ type: 'response', id: 7, kind: 'value', payload: json('seven') }));
    endpoint.receive(bytes({ type: 'response', id: 8, kind: 'value', payload: json('eight') }));
    await settle();
    await Promise.all([later, laterStill]);
    expect(settled).toEqual(['one', 'ERR_REQUEST_TIMEOUT', 'ERR_ABORTED', 'three', 'four', 'six']);
    await expect(later).resolves.toBe('seven');
  });

  it('refuses one request over its own maxInFlight, an aborted signal and a frame over the limit', async () => {
    const { endpoint, host } = openClient(fakeClock(), { maxInFlight: 2 }, welcome({ maxFrameSize: 64 }));
    host.take();
    await expect(endpoint.request('big', 'x'.repeat(100))).rejects.toMatchObject({
      code: 'ERR_FRAME_TOO_LARGE',
    });
    void endpoint.request('a', null);
    void endpoint.request('b', null);
    await expect(endpoint.request('c', null)).rejects.toMatchObject({ code: 'ERR_TOO_MANY_REQUESTS' });
    const aborted = AbortSignal.abort(new Error('stop'));
    await expect(endpoint.request('d', null, { signal: aborted })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
    expect(types(host.take())).toEqual(['request', 'request']);
  });

  it('server: a request made while detached waits for a connection; detach fails nothing; a lost session fails what left', async () => {
    const clock = fakeClock();
    const host = new ServerRecorder();
    const endpoint = new Endpoint(serverConfig(clock), host);
    const early = endpoint.request('m', 'early');
    expect(host.take()).toEqual([]);
    endpoint.accepted('s', 0, CLIENT_CAPABILITIES, undefined);
    endpoint.open();
    expect(host.take()).toMatchObject([{ type: 'request', seq: 1, id: 1, method: 'm' }]);
    const pending = endpoint.request('m', 'pending');
    host.take();
    endpoint.detach(closed);
    endpoint.receive(bytes({ type: 'response', seq: 1, id: 1, kind: 'value', payload: json('lost?') }));
    endpoint.accepted('s', 1, CLIENT_CAPABILITIES, undefined);
    endpoint.open();
    // The client had request 1: only request 2 is written again; the answers come after the resume.
    expect(host.take()).toMatchObject([{ type: 'request', seq: 2, id: 2 }]);
    endpoint.receive(bytes({ type: 'response', seq: 1, id: 1, kind: 'value', payload: json('one') }));
    await expect(early).resolves.toBe('one');
    const error = new SocklineError(ErrorCodes.SESSION_LOST, 'the session ended');
    endpoint.close(error);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SESSION_LOST', sent: true });
  });

  it('client: a lost session fails the requests that left (ERR_SESSION_LOST, sent), and sends those that had not', async () => {
    const clock = fakeClock();
    const { endpoint, host } = openClient(clock, {}, welcome({ maxInFlight: 1 }));
    host.take();
    const first = endpoint.request('m', 1);
    const second = endpoint.request('m', 2);
    expect(host.take()).toMatchObject([{ type: 'request', seq: 1, id: 1 }]);
    endpoint.detach(closed);
    endpoint.hello(undefined);
    const result = welcomeClient(endpoint, host, welcome({ sessionId: 's2', maxInFlight: 1 }));
    expect(result).toMatchObject({ resumed: false, previousId: 's1', resent: 0 });
    await expect(first).rejects.toMatchObject({ code: 'ERR_SESSION_LOST', sent: true });
    expect(host.take().filter((f) => f.type === 'request')).toMatchObject([
      { type: 'request', seq: 1, id: 2 },
    ]);
    endpoint.receive(bytes({ type: 'response', seq: 1, id: 2, kind: 'value', payload: json('two') }));
    await expect(second).resolves.toBe('two');
  });

  it('says in `sent` whether a request that failed without an answer had left: a timeout before it did, and after', async () => {
    const clock = fakeClock(1_000);
    const { endpoint, host } = openClient(clock, {}, welcome({ maxInFlight: 1 }));
    host.take();
    const written = endpoint.request('m', 1, { timeout: 100 });
    const waiting = endpoint.request('m', 2, { timeout: 100 });
    expect(types(host.take())).toEqual(['request']);
    clock.t = 1_100;
    endpoint.tick(clock.t);
    await expect(written).rejects.toMatchObject({ code: 'ERR_REQUEST_TIMEOUT', sent: true });
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_REQUEST_TIMEOUT', sent: false });
    // The one that never left is never written.
    expect(host.take()).toEqual([]);
  });
});

describe('Endpoint: answering requests', () => {
  it("answers with the handler's result, ERR_UNKNOWN_METHOD, and ERR_TOO_MANY_REQUESTS over maxAnswering", async () => {
    const { endpoint, host } = openServer(fakeClock());
    host.take();
    host.handlers.set('sum', (p) => (p as number[]).reduce((a, b) => a + b, 0));
    host.handlers.set('hang', () => new Promise(() => {}));
    const request = (id: number, method: string, params: unknown): void =>
      endpoint.receive(bytes({ type: 'request', id, method, kind: 'value', payload: json(params) }));
    request(1, 'sum', [1, 2, 3]);
    request(2, 'nothing', null);
    await settle();
    request(3, 'hang', null);
    request(4, 'hang', null);
    request(5, 'sum', [1]);
    await settle();
    const answers = host.take() as Array<{ id: number }>;
    expect(answers.sort((a, b) => a.id - b.id)).toMatchObject([
      { type: 'response', id: 1 },
      { type: 'response', id: 2, error: { code: 'ERR_UNKNOWN_METHOD' } },
      {
        type: 'response',
        id: 5,
        error: { code: 'ERR_TOO_MANY_REQUESTS', message: 'more than 2 requests in flight' },
      },
    ]);
  });

  it('answers a RemoteError with its code, message and data; any other throw ERR_INTERNAL, reported to the host', async () => {
    const answers = async (exposeErrors: boolean): Promise<{ frames: Frame[]; host: ServerRecorder }> => {
      const { endpoint, host } = openServer(fakeClock(), { exposeErrors, maxAnswering: 10 });
      host.take();
      const bug = new Error('db password is hunter2');
      host.handlers.set('refuse', () => {
        throw new RemoteError('E_FUNDS', 'not enough', { data: { balance: 3 } });
      });
      host.handlers.set('crash', () => {
        throw bug;
      });
      host.handlers.set('bigint', () => 10n);
      const request = (id: number, method: string): void =>
        endpoint.receive(bytes({ type: 'request', id, method, kind: 'value', payload: json(null) }));
      request(1, 'refuse');
      request(2, 'crash');
      request(3, 'bigint');
      await settle();
      expect(host.failures.map((f) => f.method)).toEqual(['crash', 'bigint']);
      expect(host.failures[0]!.error).toBe(bug);
      expect(endpoint.phase).toBe('open');
      return {
        frames: host.take().sort((a, b) => (a as { id: number }).id - (b as { id: number }).id),
        host,
      };
    };
    const { frames } = await answers(false);
    expect(frames).toMatchObject([
      { type: 'response', id: 1, error: { code: 'E_FUNDS', message: 'not enough' } },
      { type: 'response', id: 2, error: { code: 'ERR_INTERNAL', message: 'internal error' } },
      { type: 'response', id: 3, error: { code: 'ERR_INTERNAL', message: 'internal error' } },
    ]);
    expect(valueOf(frames[0]!)).toEqual({ balance: 3 });
    const exposed = await answers(true);
    expect(exposed.frames[1]).toMatchObject({
      error: { code: 'ERR_INTERNAL', message: 'db password is hunter2' },
    });
  });

  it('answers a request after a reconnect, exactly once, in the sequence of the session', async () => {
    const { endpoint, host } = openServer(fakeClock());
    let finish!: (v: unknown) => void;
    let runs = 0;
    host.handlers.set('later', () => {
      runs++;
      return new Promise((resolve) => (finish = resolve));
    });
    const request = bytes({
      type: 'request',
      seq: 1,
      id: 1,
      method: 'later',
      kind: 'value',
      payload: json(null),
    });
    endpoint.receive(request);
    await settle();
    endpoint.detach(closed);
    finish('after the cut');
    await settle();
    expect(host.take()).toEqual([]);
    // The client resumes without having had the answer, and sends the request again.
    endpoint.accepted('s1', 0, CLIENT_CAPABILITIES, undefined);
    endpoint.open();
    endpoint.receive(request);
    await settle();
    expect(host.take().filter((f) => f.type === 'response')).toMatchObject([
      { type: 'response', seq: 1, id: 1 },
    ]);
    expect(runs).toBe(1);
  });
});

describe('Endpoint: subscriptions', () => {
  it('client: one SUBSCRIBE per pattern, publishes to every matching handler, UNSUBSCRIBE with the last handler', () => {
    const { endpoint, host } = openClient(fakeClock());
    host.take();
    const got: string[] = [];
    const offA = endpoint.subscribe('chat/+', (v, { topic }) => got.push(`A ${topic} ${String(v)}`));
    const offB = endpoint.subscribe('chat/+', (v) => got.push(`B ${String(v)}`));
    endpoint.subscribe('chat/#', (v) => got.push(`C ${String(v)}`));
    expect(host.take()).toEqual([
      { type: 'subscribe', topic: 'chat/+' },
      { type: 'subscribe', topic: 'chat/#' },
    ]);
    endpoint.receive(
      bytes({ type: 'publish', seq: 1, topic: 'chat/lobby', kind: 'value', payload: json('hi') }),
    );
    endpoint.receive(bytes({ type: 'publish', seq: 2, topic: 'news', kind: 'value', payload: json('no') }));
    expect(got).toEqual(['A chat/lobby hi', 'B hi', 'C hi']);
    offA();
    expect(host.take()).toEqual([]);
    offB();
    offB();
    expect(host.take()).toEqual([{ type: 'unsubscribe', topic: 'chat/+' }]);
    expect(() => endpoint.subscribe('a/#/b', () => {})).toThrow(TypeError);
  });

  it('client: what changed while detached is told on resume; after a lost session every pattern is sent again', () => {
    const { endpoint, host } = openClient(fakeClock());
    const off = endpoint.subscribe('a', () => {});
    endpoint.subscribe('b', () => {});
    endpoint.detach(closed);
    off();
    endpoint.subscribe('c', () => {});
    host.take();
    endpoint.hello(undefined);
    welcomeClient(endpoint, host, welcome({ resumed: true }));
    expect(host.take().filter((f) => f.type !== 'ping')).toEqual([
      { type: 'unsubscribe', topic: 'a' },
      { type: 'subscribe', topic: 'b' },
      { type: 'subscribe', topic: 'c' },
    ]);
    endpoint.detach(closed);
    endpoint.subscribe('d', () => {})();
    endpoint.hello(undefined);
    welcomeClient(endpoint, host, welcome({ sessionId: 's2' }));
    expect(host.take().filter((f) => f.type !== 'ping')).toEqual([
      { type: 'subscribe', topic: 'b' },
      { type: 'subscribe', topic: 'c' },
    ]);
  });

  it('server: hands checked patterns and publishes to its host, forwarding payloads undecoded', () => {
    const { endpoint, host } = openServer(fakeClock());
    host.take();
    endpoint.receive(bytes({ type: 'subscribe', topic: 'x/+' }));
    endpoint.receive(bytes({ type: 'unsubscribe', topic: 'x/+' }));
    const raw = json('x').subarray(1); // not JSON: the server does not decode it
    endpoint.receive(bytes({ type: 'publish', seq: 1, topic: 'x/y', kind: 'value', payload: raw }));
    expect(host.events).toEqual(['subscribed x/+', 'unsubscribed x/+', 'publish x/y']);
    expect(host.published[0]).toMatchObject({ topic: 'x/y', kind: 'value', seq: 1 });
    expect(host.take()).toEqual([]);
    endpoint.receive(bytes({ type: 'subscribe', topic: 'a/#/b' }));
    expect(host.take()).toMatchObject([{ type: 'close', code: 4000 }]);
  });

  it('server: a subscription its host refuses is answered SUBREFUSE to a client that understands it; the connection stays', () => {
    for (const [capabilities, told] of [
      [CLIENT_CAPABILITIES, true],
      [CLIENT_CAPABILITIES & ~Capabilities.SUBREFUSE, false],
    ] as const) {
      const { endpoint, host } = openServer(fakeClock(), {}, capabilities);
      host.maxSubscriptions = 1;
      host.take();
      endpoint.receive(bytes({ type: 'subscribe', topic: 'a' }));
      endpoint.receive(bytes({ type: 'subscribe', topic: 'b' }));
      expect(host.events).toEqual(['subscribed a', 'refused b']);
      expect(host.take()).toEqual(
        told
          ? [{ type: 'subrefuse', topic: 'b', code: 'ERR_TOO_MANY_SUBSCRIPTIONS', message: 'at most 1' }]
          : [],
      );
      expect(endpoint.phase).toBe('open');
    }
  });

  it('client: a SUBREFUSE is an error naming the pattern; the server never receives one', () => {
    const { endpoint, host } = openClient(fakeClock());
    endpoint.subscribe('a/#', () => {});
    host.take();
    endpoint.receive(
      bytes({ type: 'subrefuse', topic: 'a/#', code: 'ERR_TOO_MANY_SUBSCRIPTIONS', message: 'at most 1' }),
    );
    expect(host.errors).toMatchObject([
      {
        code: 'ERR_TOO_MANY_SUBSCRIPTIONS',
        topic: 'a/#',
        message: 'subscription to "a/#" refused: at most 1',
      },
    ]);
    expect(host.take()).toEqual([]);
    const server = openServer(fakeClock());
    server.host.take();
    server.endpoint.receive(bytes({ type: 'subrefuse', topic: 'a', code: 'X', message: '' }));
    expect(server.host.take()).toEqual([
      { type: 'close', code: 4000, reason: 'unexpected SUBREFUSE after the handshake' },
    ]);
  });

  it('client: a subscription handler that throws is reported (ERR_CALLBACK); the others and the rest of the batch still run', () => {
    const { endpoint, host } = openClient(fakeClock());
    const got: unknown[] = [];
    const thrown = new Error('handler bug');
    endpoint.subscribe('t', () => {
      throw thrown;
    });
    endpoint.subscribe('#', (v) => got.push(v));
    host.take();
    const publish = (seq: number, value: string): Uint8Array =>
      bytes({ type: 'publish', seq, topic: 't', kind: 'value', payload: json(value) });
    const batch = [publish(1, 'one'), publish(2, 'two')];
    endpoint.receive(encodeBatch(batch, batch[0]!.byteLength + batch[1]!.byteLength));
    expect(got).toEqual(['one', 'two']);
    expect(host.errors).toHaveLength(2);
    expect(host.errors[0]).toMatchObject({
      code: 'ERR_CALLBACK',
      message: "the subscription handler of 't' threw: handler bug",
    });
    expect(host.errors[0]!.cause).toBe(thrown);
    expect(endpoint.delivery.received).toBe(2);
    expect(endpoint.phase).toBe('open');
  });

  it('refuses frames its role never receives: SUBSCRIBE at a client, a publish to a wildcard at a server', () => {
    const client = openClient(fakeClock());
    client.host.take();
    client.endpoint.receive(bytes({ type: 'subscribe', topic: 'a' }));
    expect(client.host.take()).toEqual([
      { type: 'close', code: 4000, reason: 'unexpected SUBSCRIBE after the handshake' },
    ]);
    const server = openServer(fakeClock());
    server.host.take();
    server.endpoint.receive(
      bytes({ type: 'publish', topic: 'a/+', kind: 'binary', payload: new Uint8Array(0) }),
    );
    expect(server.host.take()).toMatchObject([{ type: 'close', code: 4000 }]);
    expect(server.host.published).toEqual([]);
  });
});

describe('Endpoint: heartbeats', () => {
  it('server: pings every interval and ends a connection silent for interval + timeout with CLOSE 4004', () => {
    const clock = fakeClock(1_000);
    const { endpoint, host } = openServer(clock);
    host.take();
    expect(endpoint.deadline).toBe(2_000);
    endpoint.tick(1_999);
    expect(host.take()).toEqual([]);
    clock.t = 1_200;
    endpoint.receive(bytes({ type: 'pong', nonce: 0 }));
    endpoint.tick(2_000);
    expect(host.take()).toEqual([{ type: 'ping', nonce: 1 }]);
    expect(endpoint.deadline).toBe(2_700);
    endpoint.tick(2_699);
    expect(host.take()).toEqual([]);
    endpoint.tick(2_700);
    expect(host.take()).toEqual([{ type: 'close', code: 4004, reason: 'no frame for 1500 ms' }]);
    expect(host.ended).toMatchObject({ code: 4004, error: { code: 'ERR_HEARTBEAT_TIMEOUT' } });
    expect(endpoint.deadline).toBe(Infinity);
  });

  it("client: pings on open and every interval of the server's WELCOME, measures the round trip, never ends a silence itself", async () => {
    const clock = fakeClock(1_000);
    const { endpoint, host } = openClient(clock, {}, welcome({ heartbeatInterval: 1_000 }));
    expect(host.take()).toEqual([{ type: 'ping', nonce: 1 }]);
    clock.t = 1_030;
    endpoint.receive(bytes({ type: 'pong', nonce: 1 }));
    expect(endpoint.rtt).toBe(30);
    expect(endpoint.deadline).toBe(2_000);
    endpoint.tick(2_000);
    expect(host.take()).toEqual([{ type: 'ping', nonce: 2 }]);
    clock.t = 60_000;
    endpoint.tick(clock.t);
    expect(types(host.take())).toEqual(['ping']);
    const ping = endpoint.ping();
    const nonce = (host.take()[0] as { nonce: number }).nonce;
    clock.t = 60_045;
    endpoint.receive(bytes({ type: 'pong', nonce }));
    await expect(ping).resolves.toBe(60_045 - 60_000);
    const lost = endpoint.ping();
    endpoint.detach(closed);
    await expect(lost).rejects.toBe(closed);
    await expect(endpoint.ping()).rejects.toMatchObject({ code: 'ERR_CONNECTION_CLOSED' });
  });

  it('answers a PING with a PONG of the same nonce', () => {
    const { endpoint, host } = openServer(fakeClock());
    host.take();
    endpoint.receive(bytes({ type: 'ping', nonce: 77 }));
    expect(host.take()).toEqual([{ type: 'pong', nonce: 77 }]);
  });
});

describe('Endpoint: close', () => {
  it('writes CLOSE with its code, tells the host of a CLOSE from the peer, and reads nothing after', () => {
    const { endpoint, host } = openClient(fakeClock());
    host.take();
    endpoint.writeClose(1000, 'bye');
    expect(host.take()).toEqual([{ type: 'close', code: 1000, reason: 'bye' }]);
    endpoint.receive(bytes({ type: 'close', code: 1001, reason: 'restart', reconnectAfter: 5 }));
    expect(host.closedBy).toEqual({ type: 'close', code: 1001, reason: 'restart', reconnectAfter: 5 });
  });

  it('cuts a long reason to 200 characters on a protocol error', () => {
    const { endpoint, host } = openServer(fakeClock());
    host.take();
    endpoint.receive(bytes({ type: 'subscribe', topic: `${'a'.repeat(150)}#` }));
    const [close] = host.take() as Array<{ type: 'close'; reason: string }>;
    expect(close!.reason.length).toBeLessThanOrEqual(200);
  });

  it('ends for good: everything outstanding rejects, unacknowledged messages are handed back, no deadline is left', async () => {
    const clock = fakeClock();
    const { endpoint, host } = openClient(clock);
    endpoint.send(undefined, 'one', false, Infinity);
    endpoint.send(undefined, 'two', false, Infinity);
    endpoint.receive(bytes({ type: 'ack', seq: 1 }));
    const request = endpoint.request('m', null);
    const error = new SocklineError(ErrorCodes.CLIENT_CLOSED, 'closed');
    const unsent = endpoint.close(error);
    expect(unsent.map((m) => m.original)).toEqual(['two']);
    await expect(request).rejects.toMatchObject({ code: 'ERR_CLIENT_CLOSED', message: 'closed', sent: true });
    expect(endpoint.deadline).toBe(Infinity);
    expect(endpoint.tick(clock.t + 1e6)).toBe(Infinity);
    host.take();
    endpoint.receive(data('late', 1));
    expect(host.take()).toEqual([]);
    expect(host.messages).toEqual([]);
  });
});
