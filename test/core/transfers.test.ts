import { describe, expect, it } from 'vitest';
import { ErrorCodes, SocklineError } from '../../src/core/errors.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import { encodeStreamFrame } from '../../src/core/protocol/frames-stream.js';
import { CHUNK_SIZE } from '../../src/core/streams/transfers.js';
import type { OutgoingStream } from '../../src/core/streams/types.js';
import { json } from './endpoint-helpers.js';
import {
  messageOpen,
  Pair,
  pattern,
  readAll,
  sameBytes,
  settle,
  testLimits,
  type AnyFrame,
} from './transfer-helpers.js';

const cutError = new SocklineError(ErrorCodes.CONNECTION_CLOSED, 'cut');
const chunksOf = (frames: AnyFrame[]): number =>
  frames
    .filter((f) => f.type === 'chunk')
    .reduce((n, f) => n + (f as { payload: Uint8Array }).payload.byteLength, 0);

describe('large messages (docs/protocol.md §13.4)', () => {
  it('sends a message over one frame as a message stream and delivers it whole, once', async () => {
    const pair = new Pair();
    const big = pattern(3 << 20);
    expect(pair.client.endpoint.send(undefined, big, false, Infinity)).toBe('queued');
    await pair.flush();
    expect(pair.server.host.messages).toHaveLength(1);
    expect(sameBytes(pair.server.host.messages[0], big)).toBe(true);
    const opens = pair.client.host.wrote.filter((f) => f.type === 'open');
    expect(opens).toMatchObject([{ id: 1, message: { size: 3 << 20 } }]);
    // Every chunk within one frame and no larger than CHUNK_SIZE; the bytes sent once.
    const chunks = pair.client.host.wrote.filter((f) => f.type === 'chunk') as Array<{ payload: Uint8Array }>;
    expect(Math.max(...chunks.map((c) => c.payload.byteLength))).toBe(CHUNK_SIZE);
    expect(chunksOf(pair.client.host.wrote)).toBe(3 << 20);
    // The server's memory for it is freed once it is delivered.
    expect(pair.server.endpoint.incoming).toBe(0);
  });

  it('never holds a message sent meanwhile back for more than one chunk, and delivers it first', async () => {
    const pair = new Pair();
    // The connection is busy: no chunk goes while it is over its high-water mark.
    pair.room = 0;
    pair.client.endpoint.send(undefined, pattern(2 << 20), false, Infinity);
    expect(chunksOf(pair.client.host.wrote)).toBe(0);
    const before = pair.client.host.wrote.length;
    pair.client.endpoint.send(undefined, 'small', false, Infinity);
    expect(pair.client.host.wrote.slice(before)).toMatchObject([{ type: 'data' }]);
    pair.room = Infinity;
    pair.client.endpoint.drained();
    await pair.flush();
    expect(pair.server.host.messages[0]).toBe('small');
    expect(pair.server.host.messages[1]).toBeInstanceOf(Uint8Array);
    // Sent while the large one is on its way, a small message takes turns with its chunks:
    // between any two of its frames at most one chunk.
    const turns = new Pair();
    turns.room = 0;
    turns.client.endpoint.send(undefined, pattern(2 << 20), false, Infinity);
    for (let i = 0; i < 5; i++) turns.client.endpoint.send(undefined, `m${i}`, false, Infinity);
    turns.room = Infinity;
    turns.client.endpoint.drained();
    const order = turns.client.host.wrote.map((f) => f.type).filter((t) => t === 'data' || t === 'chunk');
    expect(order.slice(0, 5)).toEqual(['data', 'data', 'data', 'data', 'data']);
  });

  it('resumes a message cut in the middle where it stopped, not from its beginning', async () => {
    const pair = new Pair();
    const big = pattern(8 << 20);
    pair.client.endpoint.send(undefined, big, false, Infinity);
    // Deliver part of it, then lose the connection with chunks on the wire.
    for (let i = 0; i < 2; i++) {
      for (const frame of pair.client.wire.splice(0, 6)) pair.server.endpoint.receive(frame);
      for (const frame of pair.server.wire.splice(0)) pair.client.endpoint.receive(frame);
      pair.clock.t += 20;
      pair.server.endpoint.tick(pair.clock.t);
      await settle();
    }
    const sentBefore = chunksOf(pair.client.host.wrote);
    expect(sentBefore).toBeGreaterThan(0);
    expect(sentBefore).toBeLessThan(8 << 20);
    pair.cut(cutError);
    pair.resume();
    await pair.flush();
    expect(pair.server.host.messages).toHaveLength(1);
    expect(sameBytes(pair.server.host.messages[0], big)).toBe(true);
    // Sent again: only what the server had not acknowledged (at most the replay window).
    const total = chunksOf(pair.client.host.wrote);
    expect(total - (8 << 20)).toBeLessThanOrEqual(4 << 20);
    expect(total).toBeLessThan(2 * (8 << 20));
  });

  it('acknowledges every 2 MiB of chunks: the writer never waits at its replay bound for the ack delay', async () => {
    // Replay bound 4 MiB (16 chunks); a standalone ack would otherwise come after 32 frames,
    // or after the ack delay, and no time passes here.
    const pair = new Pair();
    const big = pattern(8 << 20);
    pair.client.endpoint.send(undefined, big, false, Infinity);
    for (let i = 0; i < 100 && pair.server.host.messages.length === 0; i++) {
      for (const frame of pair.client.wire.splice(0)) pair.server.endpoint.receive(frame);
      await settle();
      for (const frame of pair.server.wire.splice(0)) pair.client.endpoint.receive(frame);
      await settle();
    }
    expect(pair.server.host.messages).toHaveLength(1);
    expect(sameBytes(pair.server.host.messages[0], big)).toBe(true);
  });

  it('refuses at the sender a message over maxMessageSize, and one over a frame to a peer without streams', async () => {
    const pair = new Pair();
    expect(() =>
      pair.client.endpoint.send(undefined, new Uint8Array(testLimits.maxMessageSize + 1), false, Infinity),
    ).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }));
    await expect(
      pair.client.endpoint.request('m', new Uint8Array(testLimits.maxMessageSize + 1)),
    ).rejects.toMatchObject({
      code: 'ERR_MESSAGE_TOO_LARGE',
      sent: false,
    });
    expect(() => pair.client.endpoint.send(undefined, new Uint8Array(2 << 20), true, Infinity)).toThrow(
      expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }),
    );
    const plain = new Pair({ clientStreams: false });
    expect(() => plain.server.endpoint.send(undefined, new Uint8Array(2 << 20), false, Infinity)).toThrow(
      expect.objectContaining({
        code: 'ERR_FRAME_TOO_LARGE',
        message: expect.stringMatching(/takes no larger one/),
      }),
    );
    expect(() => plain.server.endpoint.openStream({ name: 'x' })).toThrow(
      expect.objectContaining({ code: 'ERR_NOT_SUPPORTED' }),
    );
    expect(() => plain.client.endpoint.openStream({})).toThrow(
      expect.objectContaining({ code: 'ERR_NOT_SUPPORTED' }),
    );
  });

  it('refuses, at its first frame, a message declared over maxMessageSize: CLOSE 4000, nothing held', async () => {
    const pair = new Pair();
    const header = encodeFrame({ type: 'data', kind: 'binary', payload: new Uint8Array(0) });
    pair.server.endpoint.receive(
      encodeStreamFrame({
        type: 'open',
        seq: 1,
        id: 1,
        message: { size: 2 ** 40, header },
        kind: 'binary',
        payload: new Uint8Array(0),
      }),
    );
    expect(pair.server.host.ended).toMatchObject({ code: 4000 });
    expect(pair.server.endpoint.incoming).toBe(0);
  });

  it('holds what a peer that never finishes a message declared, within the budget, and frees it when the session ends', async () => {
    let reserved = 0;
    const budget = {
      reserve: (n: number): boolean => {
        if (reserved + n > 5 << 20) return false;
        reserved += n;
        return true;
      },
      release: (n: number): void => void (reserved -= n),
    };
    const pair = new Pair({ budget });
    const open = messageOpen;
    pair.server.endpoint.receive(open(1, 1, 4 << 20));
    pair.server.endpoint.receive(encodeStreamFrame({ type: 'chunk', seq: 2, id: 1, payload: pattern(1000) }));
    expect(pair.server.endpoint.incoming).toBe(4 << 20);
    expect(reserved).toBe(4 << 20);
    // Another that would take the budget over is refused with a CANCEL; the connection stays.
    pair.server.endpoint.receive(open(3, 2, 2 << 20));
    expect(pair.server.host.wrote.filter((f) => f.type === 'cancel')).toMatchObject([
      { type: 'cancel', id: 2, code: 'ERR_MEMORY_BUDGET' },
    ]);
    expect(pair.server.endpoint.phase).toBe('open');
    expect(reserved).toBe(4 << 20);
    pair.server.endpoint.close(new SocklineError(ErrorCodes.SESSION_LOST, 'the session ended'));
    expect(pair.server.endpoint.incoming).toBe(0);
    expect(reserved).toBe(0);
    // The partial message is dropped with a typed error.
    expect(pair.server.host.errors).toMatchObject([
      { code: 'ERR_SESSION_LOST', message: expect.stringMatching(/dropped unfinished \(1000 received\)/) },
    ]);
  });

  it('tells the sender of a message its receiver refused: a drop and an error, or the request rejected (never run)', async () => {
    const budget = { reserve: (): boolean => false, release: (): void => {} };
    const pair = new Pair({ budget });
    pair.server.host.handlers.set('upload', () => 'ran');
    pair.client.endpoint.send(undefined, pattern(2 << 20), false, Infinity);
    const request = pair.client.endpoint.request('upload', pattern(2 << 20));
    await pair.flush();
    expect(pair.client.host.drops).toMatchObject([{ reason: 'refused' }]);
    expect(pair.client.host.errors).toMatchObject([{ code: 'ERR_MEMORY_BUDGET' }]);
    await expect(request).rejects.toMatchObject({ code: 'ERR_MEMORY_BUDGET', sent: false });
    expect(pair.server.host.messages).toEqual([]);
  });

  it('carries requests and results over one frame both ways', async () => {
    const pair = new Pair();
    pair.server.host.handlers.set('echo', (p) => p);
    pair.client.host.handlers.set('twice', (p) => `${p as string}${p as string}`);
    const big = 'x'.repeat(3 << 20);
    const echoed = pair.client.endpoint.request('echo', big);
    const twice = pair.server.endpoint.request('twice', 'y'.repeat(1 << 20));
    await pair.flush();
    await expect(echoed).resolves.toBe(big);
    await expect(twice).resolves.toHaveLength(2 << 20);
  });
});

describe('streams (docs/protocol.md §13)', () => {
  async function upload(pair: Pair, size: number, meta = { name: 'a.bin', size }): Promise<OutgoingStream> {
    const stream = pair.client.endpoint.openStream(meta) as OutgoingStream;
    const writer = stream.writable.getWriter();
    void (async () => {
      for (let at = 0; at < size; at += 100_000)
        await writer.write(pattern(Math.min(100_000, size - at), at));
      await writer.close();
    })().catch(() => {});
    return stream;
  }

  it('streams bytes with their metadata; close resolves once the reader has them all', async () => {
    const pair = new Pair();
    const sent = await upload(pair, 1_000_000);
    await pair.flush();
    const [incoming] = pair.server.host.streams;
    expect(incoming!.meta).toEqual({ name: 'a.bin', size: 1_000_000 });
    const read = readAll(incoming!.readable);
    await pair.flush();
    expect(sameBytes(await read, pattern(1_000_000))).toBe(true);
    await pair.flush();
    await expect(sent.done).resolves.toBeUndefined();
    expect(sent.bytesAcknowledged).toBe(1_000_000);
    expect(pair.server.endpoint.incoming).toBe(0);
  });

  it('keeps what a reader that does not read holds within its window, whatever the writer writes', async () => {
    const pair = new Pair();
    const sent = await upload(pair, 8 << 20);
    await pair.flush();
    await pair.flush();
    const [incoming] = pair.server.host.streams;
    // Nothing read: the writer got one window of credit, and no more.
    expect(incoming!.bytesReceived).toBe(testLimits.streamWindow);
    expect(sent.bytesSent).toBe(testLimits.streamWindow);
    const reader = incoming!.readable.getReader();
    await reader.read();
    await pair.flush();
    expect(incoming!.bytesReceived).toBeLessThanOrEqual(testLimits.streamWindow + 100_000);
  });

  it('the writer aborting errors the reader with its reason, and frees both sides', async () => {
    const pair = new Pair();
    const sent = pair.client.endpoint.openStream({}) as OutgoingStream;
    const writer = sent.writable.getWriter();
    const written = writer.write(pattern(1000));
    await pair.flush();
    await written;
    const [incoming] = pair.server.host.streams;
    expect(pair.server.endpoint.incoming).toBe(testLimits.streamWindow);
    await writer.abort(new SocklineError(ErrorCodes.ABORTED, 'the user gave up'));
    await pair.flush();
    const reader = incoming!.readable.getReader();
    await expect(reader.read()).rejects.toMatchObject({
      code: 'ERR_STREAM_ABORTED',
      remoteCode: 'ERR_ABORTED',
      message: 'the writer aborted the stream: the user gave up',
    });
    expect(pair.server.endpoint.incoming).toBe(0);
    await expect(sent.done).rejects.toBeDefined();
    // The slot is free again.
    pair.client.endpoint.openStream({});
    pair.client.endpoint.openStream({});
  });

  it('the reader cancelling errors the writer with its reason, and frees both sides', async () => {
    const pair = new Pair();
    const sent = await upload(pair, 4 << 20);
    await pair.flush();
    const [incoming] = pair.server.host.streams;
    await incoming!.readable.cancel(Object.assign(new Error('disk full'), { code: 'E_FULL' }));
    await pair.flush();
    await expect(sent.done).rejects.toMatchObject({ code: 'ERR_STREAM_ABORTED', remoteCode: 'E_FULL' });
    const stopped = sent.bytesSent;
    await pair.flush();
    expect(sent.bytesSent).toBe(stopped);
    expect(pair.server.endpoint.incoming).toBe(0);
  });

  it('caps streams per session: the opener at the peer maxStreams, the reader against a hostile opener', async () => {
    const pair = new Pair();
    pair.client.endpoint.openStream({});
    pair.client.endpoint.openStream({});
    expect(() => pair.client.endpoint.openStream({})).toThrow(
      expect.objectContaining({ code: 'ERR_TOO_MANY_STREAMS' }),
    );
    await pair.flush();
    // A peer that ignores the cap gets a CANCEL; the connection stays.
    pair.server.endpoint.receive(
      encodeStreamFrame({ type: 'open', seq: 3, id: 3, kind: 'value', payload: json({}) }),
    );
    expect(pair.server.host.wrote.filter((f) => f.type === 'cancel')).toMatchObject([
      { id: 3, code: 'ERR_TOO_MANY_STREAMS' },
    ]);
    expect(pair.server.endpoint.phase).toBe('open');
  });

  it('resumes a stream cut in the middle exactly once: every byte, in order, credit announced again', async () => {
    const pair = new Pair();
    await upload(pair, 2 << 20);
    await pair.flush();
    const [incoming] = pair.server.host.streams;
    const read = readAll(incoming!.readable);
    for (let i = 0; i < 4; i++) {
      await pair.flush(3);
      pair.cut(cutError);
      pair.resume();
    }
    await pair.flush();
    expect(sameBytes(await read, pattern(2 << 20))).toBe(true);
  });

  it('ends the connection (CLOSE 4000) at a chunk past the credit, of a stream never opened, or past a message size', async () => {
    const empty = new Uint8Array(0);
    const header = encodeFrame({ type: 'data', kind: 'binary', payload: empty });
    const cases: Array<[string, Uint8Array[]]> = [
      [
        'past the credit',
        [
          encodeStreamFrame({ type: 'open', seq: 1, id: 1, kind: 'value', payload: json({}) }),
          encodeStreamFrame({
            type: 'chunk',
            seq: 2,
            id: 1,
            payload: new Uint8Array(testLimits.streamWindow + 1),
          }),
        ],
      ],
      ['never opened', [encodeStreamFrame({ type: 'chunk', seq: 1, id: 1, payload: pattern(10) })]],
      [
        'an id that skips one',
        [encodeStreamFrame({ type: 'open', seq: 1, id: 2, kind: 'value', payload: json({}) })],
      ],
      [
        'past the message size',
        [
          encodeStreamFrame({
            type: 'open',
            seq: 1,
            id: 1,
            message: { size: 10, header },
            kind: 'binary',
            payload: empty,
          }),
          encodeStreamFrame({ type: 'chunk', seq: 2, id: 1, payload: pattern(11) }),
        ],
      ],
      [
        'the end before the size',
        [
          encodeStreamFrame({
            type: 'open',
            seq: 1,
            id: 1,
            message: { size: 10, header },
            kind: 'binary',
            payload: empty,
          }),
          encodeStreamFrame({ type: 'chunk', seq: 2, id: 1, fin: true, payload: pattern(9) }),
        ],
      ],
      [
        'a header that is not a message',
        [
          encodeStreamFrame({
            type: 'open',
            seq: 1,
            id: 1,
            message: { size: 10, header: encodeFrame({ type: 'ping', nonce: 1 }) },
            kind: 'binary',
            payload: empty,
          }),
        ],
      ],
    ];
    for (const [name, frames] of cases) {
      const pair = new Pair();
      for (const frame of frames) pair.server.endpoint.receive(frame);
      expect(pair.server.host.ended, name).toMatchObject({ code: 4000 });
      // The connection ends, not the session: a stream already taken keeps its window.
      expect(pair.server.endpoint.incoming, name).toBeLessThanOrEqual(testLimits.streamWindow);
    }
    // A client that announced no streams gets none: a stream frame is a protocol error there.
    const plain = new Pair({ clientStreams: false, client: { transfers: null } });
    plain.client.endpoint.receive(
      encodeStreamFrame({ type: 'open', seq: 1, id: 1, kind: 'value', payload: json({}) }),
    );
    expect(plain.client.host.ended).toMatchObject({ code: 4000 });
  });

  it('a lost session fails streams at both ends with ERR_SESSION_LOST and frees them', async () => {
    const pair = new Pair();
    const sent = await upload(pair, 2 << 20);
    await pair.flush(2);
    const [incoming] = pair.server.host.streams;
    const reader = incoming!.readable.getReader();
    pair.server.endpoint.close(new SocklineError(ErrorCodes.SESSION_LOST, 'the session ended'));
    await expect(reader.read().then(() => reader.read())).rejects.toMatchObject({ code: 'ERR_SESSION_LOST' });
    pair.cut(cutError);
    pair.client.endpoint.hello(undefined);
    pair.client.endpoint.welcomed({
      type: 'welcome',
      version: 2,
      sessionId: 's2',
      resumed: false,
      heartbeatInterval: 1000,
      heartbeatTimeout: 500,
      lastSeq: 0,
      maxFrameSize: 1 << 20,
      maxInFlight: 10,
      resumeWindow: 1000,
      maxMessageSize: 1 << 20,
      maxStreams: 2,
    });
    await expect(sent.done).rejects.toMatchObject({ code: 'ERR_SESSION_LOST' });
    expect(pair.server.endpoint.incoming).toBe(0);
  });
});
