import { describe, expect, it } from 'vitest';
import { ErrorCodes, SocklineError } from '../../src/core/errors.js';
import { encodeBatch } from '../../src/core/protocol/batch.js';
import { readHelloAnswer, unreadableAnswer } from '../../src/core/protocol/client-handshake.js';
import type { Frame } from '../../src/core/protocol/frames.js';
import { bytes, data, welcome } from './endpoint-helpers.js';

const MAX = 16 << 10;

describe('readHelloAnswer: what the server answered a HELLO with', () => {
  it('a WELCOME, with the bodies that came in the same BATCH for the session', () => {
    expect(readHelloAnswer(bytes(welcome()), MAX)).toEqual({ welcome: welcome(), rest: [] });
    const bodies = [bytes(welcome({ batch: true })), data('first', 1), data('second', 2)];
    const size = bodies.reduce((n, b) => n + b.byteLength, 0);
    const answer = readHelloAnswer(encodeBatch(bodies, size), MAX);
    expect(answer).toMatchObject({ welcome: { type: 'welcome', batch: true } });
    expect('rest' in answer && answer.rest).toEqual([data('first', 1), data('second', 2)]);
  });

  it('turns each kind of refusal into a typed error, retrying only where it can help', () => {
    const cases: Array<[Frame, string, boolean]> = [
      [
        { type: 'refuse', code: 'ERR_AUTH_FAILED', message: 'bad token', versions: [] },
        'ERR_AUTH_FAILED',
        true,
      ],
      [
        { type: 'refuse', code: 'ERR_VERSION_UNSUPPORTED', message: 'no', versions: [7] },
        'ERR_VERSION_UNSUPPORTED',
        false,
      ],
      [{ type: 'refuse', code: 'ERR_BAD_PAYLOAD', message: 'codec', versions: [] }, 'ERR_PROTOCOL', true],
      // A CLOSE's code says what failed (docs/protocol.md §5.3); an unknown one, only that it closed.
      [{ type: 'close', code: 4000, reason: 'bye' }, 'ERR_PROTOCOL', true],
      [{ type: 'close', code: 4003, reason: 'late' }, 'ERR_HANDSHAKE_TIMEOUT', true],
      [{ type: 'close', code: 4321, reason: 'app' }, 'ERR_CONNECTION_CLOSED', true],
      [welcome({ version: 1 }), 'ERR_VERSION_UNSUPPORTED', false],
    ];
    for (const [frame, code, retry] of cases) {
      expect(readHelloAnswer(bytes(frame), MAX), frame.type).toMatchObject({ error: { code }, retry });
    }
    const refused = readHelloAnswer(
      bytes({ type: 'refuse', code: 'ERR_VERSION_UNSUPPORTED', message: '', versions: [7, 8] }),
      MAX,
    );
    expect(refused).toMatchObject({ refuse: { type: 'refuse' } });
    expect((refused as { error: SocklineError }).error.versions).toEqual([7, 8]);
    expect(readHelloAnswer(bytes({ type: 'close', code: 4000, reason: 'bye' }), MAX)).toMatchObject({
      error: { message: 'the server closed the connection (4000: bye)' },
    });
  });

  it('a CLOSE with reconnectAfter is a deferral, with the code and reason of the server', () => {
    for (const code of [1001, 1013]) {
      expect(readHelloAnswer(bytes({ type: 'close', code, reason: 'full', reconnectAfter: 9 }), MAX)).toEqual(
        {
          defer: 9,
          reason: `${code}: full`,
        },
      );
    }
  });

  it('an answer no sockline server sends is ERR_NOT_SOCKLINE, final, saying what came', () => {
    const foreign = (what: string): object => ({
      error: { code: 'ERR_NOT_SOCKLINE', message: expect.stringContaining(what) as unknown },
      retry: false,
    });
    // Over maxHandshakeSize: refused before it is decoded.
    expect(readHelloAnswer(bytes(welcome({ sessionId: 'x'.repeat(100) })), 64)).toMatchObject(
      foreign('over maxHandshakeSize'),
    );
    expect(readHelloAnswer('a text message', MAX)).toMatchObject(foreign('a text message'));
    // Not a frame: the decoder's own error is the cause.
    for (const bad of [new Uint8Array([0x7e, 0]), new Uint8Array([0x0f, 0])]) {
      const answer = readHelloAnswer(bad, MAX) as { error: SocklineError };
      expect(answer).toMatchObject(foreign('bytes that are not sockline frames'));
      expect(answer.error.cause).toMatchObject({ code: 'ERR_PROTOCOL' });
    }
    expect(readHelloAnswer(data('x'), MAX)).toMatchObject(foreign('a DATA frame instead of WELCOME'));
    expect(
      readHelloAnswer(bytes({ type: 'hello', versions: [2], capabilities: 0, codec: 'json' }), MAX),
    ).toMatchObject(foreign('its own HELLO, echoed back'));
    const broken = new SocklineError(ErrorCodes.FRAME_TOO_LARGE, 'a frame of 1162037327 bytes');
    const unreadable = unreadableAnswer(broken) as { error: SocklineError };
    expect(unreadable).toMatchObject(foreign('bytes that are not sockline frames'));
    expect(unreadable.error.cause).toBe(broken);
  });
});
