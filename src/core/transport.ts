import type { SocklineError } from './errors.js';

/**
 * What a transport carries:
 * - `stream`: ordered bytes with no boundaries (TCP, TLS) — framing is needed on top;
 * - `message`: boundaries kept, ordered, reliable (WebSocket);
 * - `datagram`: boundaries kept, may be dropped, reordered or duplicated (UDP).
 */
export type TransportKind = 'stream' | 'message' | 'datagram';

/** Why a transport closed. `error` is set when it failed rather than closed cleanly. */
export interface TransportCloseInfo {
  /** Close code when the transport has one (WebSocket); otherwise undefined. */
  readonly code?: number;
  readonly reason?: string;
  readonly error?: SocklineError;
  /** Whether `onOpen` had fired before the close. */
  readonly wasOpen: boolean;
  /**
   * The peer refused on purpose and will refuse again (an HTTP 404 or 403 on the WebSocket
   * upgrade): the link closes with `error` instead of retrying.
   */
  readonly final?: boolean;
  /** The peer asked to wait this long before the next attempt, in ms (an HTTP `Retry-After`). */
  readonly retryAfter?: number;
}

/**
 * The callbacks a transport reports to. They are given at creation, so no event can be
 * missed. After `onClose` no callback fires again, whatever the socket does later.
 */
export interface TransportHandlers {
  onOpen(): void;
  /** Bytes for a stream (any chunking); one whole message for message/datagram kinds. */
  onData(data: Uint8Array | string): void;
  /** Fires once after `send()` returned false, when the buffer fell below the low-water mark. */
  onDrain(): void;
  /** A soft error that does not close the transport (an ICMP port-unreachable on UDP). */
  onSoftError(error: SocklineError): void;
  /** Exactly once, also when opening failed. */
  onClose(info: TransportCloseInfo): void;
}

/**
 * A single-use byte pipe for one connection attempt. It never parses framing or protocol.
 *
 * Contract: `onClose` fires exactly once; `send()` never throws on I/O errors (they arrive
 * through `onClose`) and returns false once `bufferedAmount` is above the high-water mark;
 * `close()` (graceful) and `destroy()` (immediate) are idempotent; a dead socket is fully
 * detached and its late errors are swallowed.
 */
export interface Transport {
  readonly kind: TransportKind;
  /** Bytes accepted by `send()` but not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** The largest message `send()` accepts (a datagram limit); `Infinity` for streams. */
  readonly maxMessageSize: number;
  /**
   * Returns false when the caller should wait for `onDrain` before sending more. `volatile`:
   * the message may be lost (the session's volatile messages, never replayed); a transport
   * that can carry messages unreliably (the datagram layer) does, and every other message
   * must arrive. Transports never look inside a message to decide (docs/udp.md §5).
   */
  send(data: Uint8Array | string, volatile?: boolean): boolean;
  close(code?: number, reason?: string): void;
  destroy(error?: SocklineError): void;
  /** Stops reading from the socket, where the runtime allows it. */
  pause(): void;
  resume(): void;
  /** As on `net.Socket`: whether the open socket keeps a Node process alive. */
  ref(): void;
  unref(): void;
}

/** Options every transport understands. */
export interface BaseTransportOptions {
  /** `send()` returns false above this many buffered bytes. */
  readonly highWaterMark: number;
}

/** Creates one transport for one attempt. `url` is already validated for this transport. */
export type TransportFactory<O extends BaseTransportOptions = BaseTransportOptions> = (
  url: URL,
  handlers: TransportHandlers,
  options: O,
) => Transport;
