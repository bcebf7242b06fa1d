import { ErrorCodes, SocklineError } from '../errors.js';
import { BATCH_TYPE, splitBatch } from './batch.js';
import { closeError, handshakeReplies, notSockline } from './client-errors.js';
import { SUPPORTED_VERSIONS, type Frame, type RefuseFrame, type WelcomeFrame } from './frames.js';
import { clientFrames, readFrame } from './frames-decode.js';

/**
 * What the server answered a HELLO with (docs/protocol.md §6): its WELCOME (and the frame
 * bodies that came in the same BATCH, for the session); "come back in `defer` ms" (a CLOSE
 * with `reconnectAfter`: admission control, a busy session lookup, a server limit — a
 * deferral, neither an error nor a failure); or why this attempt ends, `retry` false when
 * trying again cannot help (`refuse` is the REFUSE, for the role's own policy).
 */
export type HelloAnswer =
  | { readonly welcome: WelcomeFrame; readonly rest: readonly Uint8Array[] }
  | { readonly defer: number; readonly reason: string }
  | { readonly error: SocklineError; readonly retry: boolean; readonly refuse?: RefuseFrame };

/**
 * Reads the first message of a connection, the answer to HELLO. What no sockline server
 * sends — text, bytes that are not a frame, a first body over `maxHandshakeSize`, a frame
 * other than WELCOME, REFUSE or CLOSE (our own HELLO, echoed back) — is `ERR_NOT_SOCKLINE`,
 * final: the same endpoint gives the same answer on every attempt.
 */
export function readHelloAnswer(message: Uint8Array | string, maxHandshakeSize: number): HelloAnswer {
  if (typeof message === 'string') return foreign(handshakeReplies.text);
  let first: Uint8Array | undefined;
  let bodies: Uint8Array[] | undefined;
  let frame: Frame;
  try {
    if (message[0] === BATCH_TYPE) {
      bodies = splitBatch(message);
      first = bodies[0];
    } else first = message;
    if (first === undefined) return foreign(handshakeReplies.unreadable);
    if (first.byteLength > maxHandshakeSize) return foreign(handshakeReplies.tooLarge(first.byteLength));
    frame = readFrame(first, clientFrames);
  } catch (err) {
    return foreign(handshakeReplies.unreadable, err);
  }
  switch (frame.type) {
    case 'welcome':
      if (SUPPORTED_VERSIONS.includes(frame.version)) return { welcome: frame, rest: bodies?.slice(1) ?? [] };
      return {
        error: new SocklineError(ErrorCodes.VERSION_UNSUPPORTED, `the server chose version ${frame.version}`),
        retry: false,
      };
    case 'refuse':
      return { error: refusal(frame), retry: frame.code !== ErrorCodes.VERSION_UNSUPPORTED, refuse: frame };
    case 'close':
      if (frame.reconnectAfter !== undefined)
        return { defer: frame.reconnectAfter, reason: `${frame.code}: ${frame.reason}` };
      return { error: closeError(frame), retry: true };
    default:
      return foreign(handshakeReplies.frame(frame.type));
  }
}

/**
 * The peer's bytes broke the framing before any answer could be read (a text banner read as
 * a length): not a sockline server.
 */
export function unreadableAnswer(error: SocklineError): HelloAnswer {
  return foreign(handshakeReplies.unreadable, error);
}

function foreign(what: string, cause?: unknown): HelloAnswer {
  return { error: notSockline(what, cause), retry: false };
}

/** The error a REFUSE stands for (docs/protocol.md §5.4). */
function refusal(frame: RefuseFrame): SocklineError {
  if (frame.code === ErrorCodes.VERSION_UNSUPPORTED) {
    const error = new SocklineError(
      ErrorCodes.VERSION_UNSUPPORTED,
      `the server speaks protocol versions [${frame.versions.join(', ')}], this client [${SUPPORTED_VERSIONS.join(', ')}]`,
    );
    error.versions = frame.versions;
    return error;
  }
  if (frame.code === ErrorCodes.AUTH_FAILED)
    return new SocklineError(ErrorCodes.AUTH_FAILED, `authentication failed: ${frame.message}`);
  return new SocklineError(ErrorCodes.PROTOCOL, `the server refused: ${frame.code} ${frame.message}`);
}
