import type { SocklineError } from '../../errors.js';
import type { CloseFrame, PayloadKind } from '../frames.js';
import type { DeliveryHooks } from './delivery.js';

/**
 * What an endpoint (`Endpoint`) writes and tells: its role adapter. Client and server differ only
 * here; the optional members belong to one role.
 */
export interface EndpointHost extends DeliveryHooks {
  /**
   * Writes one frame body to the connection (`seq` for a sequenced frame). Returns false when
   * the connection did not take it (backpressure or gone); only a volatile send reads that.
   */
  write(frame: Uint8Array, seq?: number): boolean | void;
  /** The endpoint has something to do at `at` (ms on its clock): call `tick()` then or soon after. */
  wake(at: number): void;
  /** The connection must end: the endpoint wrote CLOSE `code` and detached; `error` says why. */
  end(code: number, error: SocklineError): void;
  /** The peer sent CLOSE after the handshake. */
  closed(frame: CloseFrame): void;
  /** A DATA message, decoded; `seq` when it was sequenced. */
  message(value: unknown, seq: number | undefined): void;
  /** The handler of a request from the peer; undefined answers `ERR_UNKNOWN_METHOD`. */
  handler(method: string): ((params: unknown) => unknown) | undefined;
  /** Server: a PUBLISH to route (topic checked, payload not decoded: it is forwarded as it is). */
  publish?(topic: string, kind: PayloadKind, payload: Uint8Array, seq: number | undefined): void;
  /** Something went wrong that does not end the connection by itself (a frame that did not decode). */
  error?(error: SocklineError): void;
  /** Server: the peer subscribed to a checked pattern, or unsubscribed from one. */
  subscribed?(pattern: string): void;
  unsubscribed?(pattern: string): void;
}

/** What a WELCOME meant for the client's session. */
export interface Welcomed {
  /** The session of the HELLO goes on. */
  readonly resumed: boolean;
  /** The session before, when it was lost. */
  readonly previousId: string | undefined;
  /** Unacknowledged messages of the lost session, sent again in the new one. */
  readonly resent: number;
}
