import { CloseCodes } from '../frames.js';
import { encodeFrame } from '../frames-encode.js';

/**
 * Why a server's listener ends a connection by itself, before any session takes it
 * (docs/protocol.md §6.3):
 * - `limit`: a limit of the server turned the connection away before its HELLO; the text
 *   names the limit, and `reconnectAfter` says when to come back, in ms;
 * - `violation`: the peer broke a rule that needs no session to see (a HELLO over the size
 *   cap, a text WebSocket message).
 */
export type ConnectionEnd =
  { readonly limit: string; readonly reconnectAfter: number } | { readonly violation: string };

/** The CLOSE that ends a connection for a {@link ConnectionEnd}. */
export interface EndingClose {
  /** The CLOSE frame body, to write before the transport ends. */
  readonly frame: Uint8Array;
  /** Its close code, for a transport that closes with one (a WebSocket: the same, §1). */
  readonly code: number;
  readonly reason: string;
}

/**
 * The CLOSE a listener ends a connection with, so that no listener encodes frames or picks
 * close codes itself: 1013 (`TRY_AGAIN_LATER`) with `reconnectAfter` for a limit, 4000
 * (`PROTOCOL_ERROR`) for a violation.
 *
 * @example
 * const { frame } = endingClose({ limit: 'server full (maxConnections)', reconnectAfter: 5000 });
 * socket.end(framing.encode(frame));
 */
export function endingClose(end: ConnectionEnd): EndingClose {
  if ('limit' in end) {
    const { limit: reason, reconnectAfter } = end;
    const code = CloseCodes.TRY_AGAIN_LATER;
    return { frame: encodeFrame({ type: 'close', code, reason, reconnectAfter }), code, reason };
  }
  const { violation: reason } = end;
  const code = CloseCodes.PROTOCOL_ERROR;
  return { frame: encodeFrame({ type: 'close', code, reason }), code, reason };
}
