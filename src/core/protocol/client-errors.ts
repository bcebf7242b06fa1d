import { ErrorCodes, SocklineError, isSocklineError, type ErrorCode } from '../errors.js';
import type { RequestStall } from './endpoint/host.js';
import { CloseCodes, type CloseFrame } from './frames.js';

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
  unreadable: 'bytes that are not sockline frames (a banner, HTTP, another protocol)',
  tooLarge: (size: number) => `a first message of ${size} bytes, over maxHandshakeSize`,
  frame: (type: string) =>
    `a ${name(type)} frame instead of WELCOME${type === 'hello' ? ' (its own HELLO, echoed back)' : ''}`,
};

/**
 * What an operation that cannot go on because the client is closed rejects with: closed by
 * `close()` (`ERR_CLIENT_CLOSED`, no `cause`), or `cause`, the error that closed it, saying
 * whether the client was ever open (a refusal, `ERR_MAX_RETRIES`…, with that code).
 */
export function closedError(what: string, cause: Error | undefined, everOpen: boolean): SocklineError {
  if (cause === undefined) {
    return new SocklineError(ErrorCodes.CLIENT_CLOSED, `${what}: the client was closed by close()`);
  }
  const code = isSocklineError(cause) ? cause.code : ErrorCodes.CONNECTION_CLOSED;
  const how = everOpen ? 'the client closed' : 'the client closed without ever connecting';
  return new SocklineError(code, `${what}: ${how}: ${cause.message}`, { cause });
}

/**
 * Why a request of a client that is not connected waited until it timed out: down, or never
 * connected, with the last error of the link (`last`) as the cause.
 */
export function waitingFor(everOpen: boolean, last: SocklineError | undefined): RequestStall {
  const note = everOpen ? 'the connection is down' : 'the client has not connected yet';
  return last === undefined ? { note } : { note: `${note} (${last.message})`, cause: last };
}

/** What failed, by the close code that says so (docs/protocol.md §5.3); other codes: `ERR_CONNECTION_CLOSED`. */
const CLOSE_ERRORS: Readonly<Record<number, ErrorCode>> = {
  [CloseCodes.PROTOCOL_ERROR]: ErrorCodes.PROTOCOL,
  [CloseCodes.AUTH_FAILED]: ErrorCodes.AUTH_FAILED,
  [CloseCodes.VERSION_UNSUPPORTED]: ErrorCodes.VERSION_UNSUPPORTED,
  [CloseCodes.HANDSHAKE_TIMEOUT]: ErrorCodes.HANDSHAKE_TIMEOUT,
  [CloseCodes.HEARTBEAT_TIMEOUT]: ErrorCodes.HEARTBEAT_TIMEOUT,
  [CloseCodes.TOO_MANY_REQUESTS]: ErrorCodes.TOO_MANY_REQUESTS,
};

/** The error a CLOSE from the server stands for: its code's (4004: `ERR_HEARTBEAT_TIMEOUT`), with its reason. */
export function closeError(frame: CloseFrame): SocklineError {
  return new SocklineError(
    CLOSE_ERRORS[frame.code] ?? ErrorCodes.CONNECTION_CLOSED,
    `the server closed the connection (${frame.code}${frame.reason === '' ? '' : `: ${frame.reason}`})`,
  );
}

/**
 * Whether a close code says something failed: not 1000 (the session is over), 1001 (going
 * away, come back) or 1013 (try again later), which are normal operation.
 */
export function closeFailed(code: number): boolean {
  return code !== CloseCodes.NORMAL && code !== CloseCodes.GOING_AWAY && code !== CloseCodes.TRY_AGAIN_LATER;
}
