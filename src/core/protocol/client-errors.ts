import { ErrorCodes, SocklineError } from '../errors.js';

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
