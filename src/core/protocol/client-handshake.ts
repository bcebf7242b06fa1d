import { ErrorCodes, SocklineError } from '../errors.js';
import { BATCH_TYPE, splitBatch } from './batch.js';
import {
  SUPPORTED_VERSIONS,
  type CloseFrame,
  type Frame,
  type RefuseFrame,
  type WelcomeFrame,
} from './frames.js';
import { decodeFrame } from './frames-decode.js';

/**
 * What the server answered a HELLO with (docs/protocol.md §6): its WELCOME (and the frame
 * bodies that came in the same BATCH, for the session), or why this attempt ends: `retry`
 * false when trying again cannot help. `cause` is a decoding error worth reporting.
 */
export type HelloAnswer =
  | { readonly welcome: WelcomeFrame; readonly rest: readonly Uint8Array[] }
  | {
      readonly error: SocklineError;
      readonly retry: boolean;
      readonly frame?: RefuseFrame | CloseFrame;
      readonly cause?: SocklineError;
    };

/**
 * Reads the first message of a connection, the answer to HELLO. A body over
 * `maxHandshakeSize` is refused before it is decoded; so is anything that is not a frame.
 */
export function readHelloAnswer(message: Uint8Array | string, maxHandshakeSize: number): HelloAnswer {
  let frame: Frame | undefined;
  let bodies: Uint8Array[] = [];
  try {
    if (typeof message !== 'string') {
      bodies = message[0] === BATCH_TYPE ? splitBatch(message) : [message];
      if (bodies[0]!.byteLength <= maxHandshakeSize) frame = decodeFrame(bodies[0]!);
    }
  } catch (err) {
    return invalid(err instanceof SocklineError ? err : undefined);
  }
  if (frame === undefined) return invalid(undefined);
  switch (frame.type) {
    case 'welcome':
      if (SUPPORTED_VERSIONS.includes(frame.version)) return { welcome: frame, rest: bodies.slice(1) };
      return {
        error: new SocklineError(ErrorCodes.VERSION_UNSUPPORTED, `the server chose version ${frame.version}`),
        retry: false,
      };
    case 'refuse':
      return { error: refusal(frame), retry: frame.code !== ErrorCodes.VERSION_UNSUPPORTED, frame };
    case 'close':
      return {
        error: new SocklineError(
          ErrorCodes.CONNECTION_CLOSED,
          `the server closed the connection (${frame.code}: ${frame.reason})`,
        ),
        retry: true,
        frame,
      };
    default:
      return {
        error: new SocklineError(ErrorCodes.PROTOCOL, `expected WELCOME, got ${frame.type.toUpperCase()}`),
        retry: true,
      };
  }
}

function invalid(cause: SocklineError | undefined): HelloAnswer {
  const error = new SocklineError(ErrorCodes.PROTOCOL, 'invalid handshake reply from the server');
  return cause === undefined ? { error, retry: true } : { error, retry: true, cause };
}

/** The error a REFUSE stands for (docs/protocol.md §5.4). */
function refusal(frame: RefuseFrame): SocklineError {
  if (frame.code === ErrorCodes.VERSION_UNSUPPORTED) {
    const error = new SocklineError(
      ErrorCodes.VERSION_UNSUPPORTED,
      `the server speaks protocol versions [${frame.versions.join(', ')}], this client [${SUPPORTED_VERSIONS.join(', ')}]`,
    );
    (error as SocklineError & { versions?: number[] }).versions = frame.versions;
    return error;
  }
  if (frame.code === ErrorCodes.AUTH_FAILED)
    return new SocklineError(ErrorCodes.AUTH_FAILED, `authentication failed: ${frame.message}`);
  return new SocklineError(ErrorCodes.PROTOCOL, `the server refused: ${frame.code} ${frame.message}`);
}
