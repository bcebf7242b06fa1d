import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes, RemoteError, SocklineError } from '../../src/core/errors.js';
import type { Frame } from '../../src/core/protocol/frames.js';
import { decodeFrame } from '../../src/core/protocol/frames-decode.js';
import {
  localHub,
  MemorySessionStore,
  ServerSession,
  type ServerConnection,
  type ServerSessionOptions,
} from '../../src/core/protocol/server-session.js';
import { bytes, data } from './endpoint-helpers.js';

/** The server's role on one connection, driven by scripted frames on fake time. */
beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
});

/** A connection that records what the server writes, decoded, and whether it was closed. */
class Wire implements ServerConnection {
  readonly frames: Frame[] = [];
  closed = false;
  send(frame: Uint8Array): boolean {
    this.frames.push(decodeFrame(frame));
    return true;
  }
  close(): void {
    this.closed = true;
  }
}

function server(overrides: Partial<ServerSessionOptions> = {}): ServerSessionOptions {
  const store = new MemorySessionStore();
  return {
    store,
    hub: localHub(store),
    handlers: new Map(),
    heartbeatInterval: 1_600,
    heartbeatTimeout: 800,
    handshakeTimeout: 1_000,
    maxInFlight: 7,
    resumeWindow: 30_000,
    ...overrides,
  };
}

const hello = (resume?: { sessionId: string; lastSeq: number }): Uint8Array =>
  bytes({ type: 'hello', versions: [2], capabilities: 15, codec: 'json', ...(resume ? { resume } : {}) });

/** Lets an async HELLO check (authenticate) finish without moving the clock. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(0);
};

describe('ServerSession: the server role on one connection', () => {
  it("answers HELLO with a WELCOME announcing the limits its session's endpoint runs with", async () => {
    const options = server();
    const wire = new Wire();
    const session = new ServerSession(wire, options);
    session.receive(hello());
    await settle();
    const id = session.session!.id;
    expect(wire.frames).toEqual([
      {
        type: 'welcome',
        version: 2,
        sessionId: id,
        resumed: false,
        heartbeatInterval: 1_600,
        heartbeatTimeout: 800,
        lastSeq: 0,
        maxFrameSize: 1 << 20,
        maxInFlight: 7,
        resumeWindow: 30_000,
        maxMessageSize: 64 << 20,
        maxStreams: 16,
      },
    ]);
    // Three messages, then the connection drops; a resume is told what the server received.
    for (let seq = 1; seq <= 3; seq++) session.receive(data(seq, seq));
    session.closed();
    const again = new Wire();
    const resumed = new ServerSession(again, options);
    resumed.receive(hello({ sessionId: id, lastSeq: 0 }));
    await settle();
    expect(again.frames[0]).toMatchObject({ type: 'welcome', sessionId: id, resumed: true, lastSeq: 3 });
    resumed.close(1000);
    options.store.clear();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('closes a connection without HELLO at handshakeTimeout with CLOSE 4003, never before', async () => {
    const wire = new Wire();
    new ServerSession(wire, server());
    // 1,000 ms away: met within a sixteenth of it (62 ms) at the latest.
    await vi.advanceTimersByTimeAsync(999);
    expect(wire.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(63);
    expect(wire.frames).toEqual([{ type: 'close', code: 4003, reason: 'no HELLO within 1000 ms' }]);
    expect(wire.closed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses a HELLO over the size cap, a first frame that is not HELLO, no common version, another codec', async () => {
    const cases: Array<[Uint8Array, Frame[]]> = [
      [
        new Uint8Array(20_000).fill(1),
        [{ type: 'close', code: 4000, reason: 'HELLO of 20000 bytes is over the 16384-byte cap' }],
      ],
      [
        bytes({ type: 'ping', nonce: 1 }),
        [{ type: 'close', code: 4000, reason: 'expected HELLO, got PING' }],
      ],
      [
        bytes({ type: 'hello', versions: [9], capabilities: 0, codec: 'json' }),
        [
          {
            type: 'refuse',
            code: 'ERR_VERSION_UNSUPPORTED',
            message: 'no protocol version in common',
            versions: [2],
          },
          { type: 'close', code: 4002, reason: 'no protocol version in common' },
        ],
      ],
      [
        bytes({ type: 'hello', versions: [2], capabilities: 0, codec: 'cbor' }),
        [
          {
            type: 'refuse',
            code: 'ERR_BAD_PAYLOAD',
            message: 'codec "cbor" is not spoken here (json)',
            versions: [],
          },
          { type: 'close', code: 4000, reason: 'codec "cbor" is not spoken here (json)' },
        ],
      ],
    ];
    for (const [first, expected] of cases) {
      const wire = new Wire();
      const session = new ServerSession(wire, server());
      session.receive(first);
      await settle();
      expect(wire.frames).toEqual(expected);
      expect(wire.closed).toBe(true);
      expect(session.session).toBeNull();
    }
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets go of a connection a resume superseded: it reads nothing more and leaves no deadline', async () => {
    const options = server();
    const first = new Wire();
    const old = new ServerSession(first, options);
    old.receive(hello());
    await settle();
    const state = old.session!;
    const second = new Wire();
    const current = new ServerSession(second, options);
    current.receive(hello({ sessionId: state.id, lastSeq: 0 }));
    await settle();
    expect(first.closed).toBe(true);
    expect(state.connection).toBe(second);
    const received: unknown[] = [];
    (options as { onMessage?: (v: unknown) => void }).onMessage = (v) => received.push(v);
    old.receive(data('late, on the old connection', 1));
    current.receive(data('on the new one', 1));
    expect(received).toEqual(['on the new one']);
    expect(state.delivery.received).toBe(1);
    old.closed(); // the old socket's close, when it comes, changes nothing
    expect(state.connection).toBe(second);
    current.close(1000);
    options.store.clear();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('checks a resume against the identity that owns the session before any store or lookup is asked', async () => {
    const looked: string[] = [];
    const asked: string[] = [];
    let denied = 0;
    const options = server({
      authenticate: (hello) => ({ id: hello.token }),
      lookup: (id) => {
        looked.push(id);
        return Promise.resolve(undefined);
      },
      onResumeDenied: () => void denied++,
    });
    const get = options.store.get.bind(options.store);
    options.store.get = (id) => {
      asked.push(id);
      return get(id);
    };
    const helloOf = (token: string, resume?: { sessionId: string; lastSeq: number }): Uint8Array =>
      bytes({
        type: 'hello',
        versions: [2],
        capabilities: 15,
        codec: 'json',
        token,
        ...(resume ? { resume } : {}),
      });
    const alice = new Wire();
    const owner = new ServerSession(alice, options);
    owner.receive(helloOf('alice'));
    await settle();
    const state = owner.session!;
    // The secret is never the public id, and the public id cannot be turned back into it.
    expect(state.publicId).not.toBe(state.id);
    expect(state.id).not.toContain(state.publicId);
    const mallory = new Wire();
    const intruder = new ServerSession(mallory, options);
    intruder.receive(helloOf('mallory', { sessionId: state.id, lastSeq: 0 }));
    await settle();
    expect(denied).toBe(1);
    expect(asked).toEqual([]);
    expect(looked).toEqual([]);
    expect(mallory.frames[0]).toMatchObject({ type: 'welcome', resumed: false });
    expect((mallory.frames[0] as { sessionId: string }).sessionId).not.toBe(state.id);
    // The owner's session and connection are as they were.
    expect(alice.closed).toBe(false);
    expect(state.connection).toBe(alice);
    owner.closed();
    const back = new Wire();
    const resumed = new ServerSession(back, options);
    resumed.receive(helloOf('alice', { sessionId: state.id, lastSeq: 0 }));
    await settle();
    expect(back.frames[0]).toMatchObject({ type: 'welcome', resumed: true, sessionId: state.id });
    expect(asked).toEqual([state.id]);
    expect(denied).toBe(1);
    intruder.close(1000);
    resumed.close(1000);
    options.store.clear();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a user that cannot be identified gets a session that can never be resumed, and onError says why', async () => {
    const errors: unknown[] = [];
    const options = server({ authenticate: () => () => 'a function', onError: (e) => errors.push(e) });
    const wire = new Wire();
    const session = new ServerSession(wire, options);
    session.receive(hello());
    await settle();
    const id = session.session!.id;
    expect(errors).toMatchObject([
      { name: 'TypeError', message: expect.stringContaining('cannot identify') },
    ]);
    session.closed();
    const again = new Wire();
    const next = new ServerSession(again, options);
    next.receive(hello({ sessionId: id, lastSeq: 0 }));
    await settle();
    expect(again.frames[0]).toMatchObject({ type: 'welcome', resumed: false });
    next.close(1000);
    options.store.clear();
  });

  it("refuses authentication with sockline's own message, or 'authentication failed' unless exposeErrors", async () => {
    const refusal = async (thrown: unknown, exposeErrors = false): Promise<string> => {
      const wire = new Wire();
      const options = server({
        exposeErrors,
        authenticate: () => {
          throw thrown;
        },
      });
      new ServerSession(wire, options).receive(hello());
      await settle();
      expect(wire.frames[1]).toMatchObject({ type: 'close', code: 4001 });
      return (wire.frames[0] as { message: string }).message;
    };
    const secret = new Error('user table at 10.0.0.5 unreachable');
    expect(await refusal(secret)).toBe('authentication failed');
    expect(await refusal(secret, true)).toBe('user table at 10.0.0.5 unreachable');
    expect(await refusal(new RemoteError('E_TOKEN', 'token expired'))).toBe('token expired');
    expect(await refusal(new SocklineError(ErrorCodes.AUTH_FAILED, 'bad token'))).toBe('bad token');
    // Node's own errors carry ERR_ codes too; they are not sockline's, so their text stays here.
    const nodeError = Object.assign(new Error('getaddrinfo ENOTFOUND users.internal'), {
      code: 'ERR_SOCKET_BAD_PORT',
    });
    expect(await refusal(nodeError)).toBe('authentication failed');
  });
});
