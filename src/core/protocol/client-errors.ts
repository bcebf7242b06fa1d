import { ErrorCodes, RemoteError, SocklineError, type ErrorCode } from '../errors.js';
import { decodePayload, type Codec } from './codec.js';
import type { Frame } from './frames.js';

type ResponseFrame = Extract<Frame, { type: 'response' }>;

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/**
 * The error an error RESPONSE rejects its request with: a code sockline knows
 * (`ERR_UNKNOWN_METHOD`, `ERR_TOO_MANY_REQUESTS`, `ERR_INTERNAL`…) becomes a `SocklineError`
 * of that code, so `err.code === 'ERR_UNKNOWN_METHOD'` matches; any other code is the
 * application's, and becomes a {@link RemoteError} (`code: 'ERR_REMOTE'`) with that
 * `remoteCode` and the `data` the handler attached, decoded by the codec. `remoteCode` is set
 * on both.
 */
export function responseError(frame: ResponseFrame, codec: Codec): SocklineError {
  const { code, message } = frame.error!;
  if (KNOWN_CODES.has(code)) {
    const error = new SocklineError(code as ErrorCode, message);
    error.remoteCode = code;
    return error;
  }
  if (frame.payload.byteLength === 0) return new RemoteError(code, message);
  try {
    return new RemoteError(code, message, { data: decodePayload(frame.kind, frame.payload, codec) });
  } catch (cause) {
    // The error still says what went wrong; only its attachment is lost.
    return new RemoteError(code, message, { cause });
  }
}

/** A frame kind as the protocol names it: `WELCOME`, `HELLO`. */
const name = (type: string): string => type.toUpperCase();

/**
 * The endpoint answered the handshake with something no sockline server sends: bytes that
 * are not a frame (a text banner, an HTTP response on a TCP port), a text WebSocket message,
 * or a frame other than WELCOME, REFUSE or CLOSE (our own HELLO, echoed back). Final: the
 * same endpoint gives the same answer on every attempt.
 */
export function notSockline(what: string, cause?: unknown): SocklineError {
  return new SocklineError(
    ErrorCodes.NOT_SOCKLINE,
    `not a sockline server: the endpoint answered the handshake with ${what}. An echo, line or plain WebSocket service speaks another protocol: use protocol: 'raw' to talk to it`,
    cause === undefined ? undefined : { cause },
  );
}

/** How the handshake names what it got instead of a WELCOME. */
export const handshakeReplies = {
  text: 'a text message',
  unreadable: 'bytes that are not sockline frames (a text banner, an HTTP response, another protocol)',
  tooLarge: (size: number) => `a first message of ${size} bytes, over maxHandshakeSize`,
  frame: (type: string) =>
    `a ${name(type)} frame instead of WELCOME${type === 'hello' ? ' (its own HELLO, echoed back)' : ''}`,
};
