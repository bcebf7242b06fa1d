import type { SocklineError } from '../../errors.js';
import type { CloseFrame, PayloadKind } from '../frames.js';
import type { DeliveryHooks } from './delivery.js';

/**
 * What an endpoint (`Endpoint`) writes and tells: its role adapter. Client and server differ only
 * here; the optional members belong to one role.
 */
export interface EndpointHost extends DeliveryHooks {
  /**
   * Writes one frame body to the connection (`seq` for a sequenced frame). `volatile`: the
   * frame may be lost (a volatile message, never replayed), which a datagram transport
   * sends unreliably; every other frame must arrive (docs/udp.md §5). Returns false when the
   * connection did not take it (backpressure or gone); only a volatile send reads that.
   */
  write(frame: Uint8Array, seq?: number, volatile?: boolean): boolean | void;
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
  /**
   * The handler of `method` threw something other than a `RemoteError` (or its result could
   * not be encoded): the peer was answered `ERR_INTERNAL`; the error is this side's to report.
   */
  handlerFailed?(method: string, error: unknown): void;
  /**
   * Why a request of this side is still unanswered when it times out, when the reason is not
   * the peer's (the client has not connected yet): words for the error, and the error behind them.
   */
  stalled?(): RequestStall | undefined;
  /** The application queued a sequenced message of `bytes` (its payload) for the peer. */
  queued?(bytes: number): void;
  /** Server: a PUBLISH to route (topic checked, payload not decoded: it is forwarded as it is). */
  publish?(topic: string, kind: PayloadKind, payload: Uint8Array, seq: number | undefined): void;
  /**
   * Something went wrong that does not end the connection: a subscription handler of the
   * application threw (`ERR_CALLBACK`), the server refused a subscription (SUBREFUSE).
   */
  error?(error: SocklineError): void;
  /**
   * Server: the peer subscribed to a checked pattern. Returns why it is refused (a limit),
   * or undefined when it is held; the endpoint tells a peer that understands SUBREFUSE.
   */
  subscribed?(pattern: string): string | undefined;
  /** Server: the peer unsubscribed from a pattern. */
  unsubscribed?(pattern: string): void;
  /**
   * A sequenced frame other than DATA or PUBLISH was received (a REQUEST, a RESPONSE, a frame
   * of a stream): a store that makes received frames durable (`holdAcks`) confirms its seq.
   */
  received?(seq: number): void;
  /**
   * A stream from the peer (an `IncomingStream` of `sockline/streams`): true when the
   * application takes it; false (or absent) refuses it with `ERR_NOT_SUPPORTED`.
   */
  stream?(stream: unknown): boolean;
}

/** See {@link EndpointHost.stalled}. */
export interface RequestStall {
  readonly note: string;
  readonly cause?: unknown;
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
