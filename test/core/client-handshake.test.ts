import { describe, expect, it } from 'vitest';
import type { SocklineError } from '../../src/core/errors.js';
import { encodeBatch } from '../../src/core/protocol/batch.js';
import { readHelloAnswer } from '../../src/core/protocol/client-handshake.js';
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
      [{ type: 'close', code: 1001, reason: 'busy', reconnectAfter: 250 }, 'ERR_CONNECTION_CLOSED', true],
      [{ type: 'data', kind: 'binary', payload: new Uint8Array(0) }, 'ERR_PROTOCOL', true],
      [welcome({ version: 2 }), 'ERR_VERSION_UNSUPPORTED', false],
    ];
    for (const [frame, code, retry] of cases) {
      expect(readHelloAnswer(bytes(frame), MAX), frame.type).toMatchObject({ error: { code }, retry });
    }
    const refused = readHelloAnswer(
      bytes({ type: 'refuse', code: 'ERR_VERSION_UNSUPPORTED', message: '', versions: [7, 8] }),
      MAX,
    );
    expect(refused).toMatchObject({ frame: { type: 'refuse' } });
    expect(
      ((refused as { error: SocklineError }).error as SocklineError & { versions: number[] }).versions,
    ).toEqual([7, 8]);
    expect(
      readHelloAnswer(bytes({ type: 'close', code: 1013, reason: 'full', reconnectAfter: 9 }), MAX),
    ).toMatchObject({
      frame: { type: 'close', reconnectAfter: 9 },
      error: { message: 'the server closed the connection (1013: full)' },
    });
  });

  it('refuses an answer over maxHandshakeSize before decoding it, and anything that is not a frame', () => {
    const invalid = {
      error: { code: 'ERR_PROTOCOL', message: 'invalid handshake reply from the server' },
      retry: true,
    };
    const oversize = readHelloAnswer(bytes(welcome({ sessionId: 'x'.repeat(100) })), 64);
    expect(oversize).toMatchObject(invalid);
    expect(oversize).not.toHaveProperty('cause');
    expect(readHelloAnswer('a text message', MAX)).toMatchObject(invalid);
    // Not a frame: the decoder's own error comes along, to be reported.
    expect(readHelloAnswer(new Uint8Array([0x7e, 0]), MAX)).toMatchObject({
      ...invalid,
      cause: { code: 'ERR_PROTOCOL' },
    });
    expect(readHelloAnswer(new Uint8Array([0x0f, 0]), MAX)).toMatchObject({
      ...invalid,
      cause: { code: 'ERR_PROTOCOL' },
    });
  });
});
