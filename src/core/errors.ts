/**
 * Error codes used across sockline. Check `err.code`, not `instanceof`: an application
 * may load both the ESM and the CJS copy of the package, and each has its own class.
 *
 * | code | meaning |
 * | --- | --- |
 * | `ERR_INVALID_URL` | the URL cannot be parsed or its scheme is unknown |
 * | `ERR_UNSUPPORTED_SCHEME` | the scheme is valid but not available in this runtime (e.g. `tcp://` in a browser) |
 * | `ERR_CONNECT_TIMEOUT` | an attempt did not open within `connectTimeout` |
 * | `ERR_CONNECTION_CLOSED` | the link closed while an operation was waiting on it |
 * | `ERR_CLIENT_CLOSED` | the operation was refused or aborted because `close()` was called |
 * | `ERR_MAX_RETRIES` | reconnecting stopped after `maxRetries` attempts (the last error is the `cause`) |
 * | `ERR_QUEUE_FULL` | the outbox is at its `maxMessages`/`maxBytes` bound and the policy is `reject` |
 * | `ERR_MESSAGE_EXPIRED` | a queued message outlived its `ttl` before it could be sent |
 * | `ERR_FRAME_TOO_LARGE` | a frame's declared or accumulated size is over `maxFrameSize` |
 * | `ERR_TRUNCATED` | the stream ended in the middle of a frame; the partial frame was discarded |
 * | `ERR_DATAGRAM_TOO_LARGE` | a message is larger than the datagram limit |
 * | `ERR_IDLE_TIMEOUT` | nothing was received for `idleTimeout` ms; the link was treated as dead |
 * | `ERR_TRANSPORT` | an I/O error from the underlying socket (the original error is the `cause`) |
 * | `ERR_ABORTED` | an `AbortSignal` fired |
 */
export const ErrorCodes = {
  INVALID_URL: 'ERR_INVALID_URL',
  UNSUPPORTED_SCHEME: 'ERR_UNSUPPORTED_SCHEME',
  CONNECT_TIMEOUT: 'ERR_CONNECT_TIMEOUT',
  CONNECTION_CLOSED: 'ERR_CONNECTION_CLOSED',
  CLIENT_CLOSED: 'ERR_CLIENT_CLOSED',
  MAX_RETRIES: 'ERR_MAX_RETRIES',
  QUEUE_FULL: 'ERR_QUEUE_FULL',
  MESSAGE_EXPIRED: 'ERR_MESSAGE_EXPIRED',
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  TRUNCATED: 'ERR_TRUNCATED',
  DATAGRAM_TOO_LARGE: 'ERR_DATAGRAM_TOO_LARGE',
  IDLE_TIMEOUT: 'ERR_IDLE_TIMEOUT',
  TRANSPORT: 'ERR_TRANSPORT',
  ABORTED: 'ERR_ABORTED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The one error class sockline throws and emits. `code` is one of {@link ErrorCodes}. */
export class SocklineError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SocklineError';
    this.code = code;
  }
}

/** True when `err` is a sockline error with the given code (works across module copies). */
export function isSocklineError(err: unknown, code?: ErrorCode): err is SocklineError {
  if (typeof err !== 'object' || err === null) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string' || !c.startsWith('ERR_')) return false;
  return code === undefined || c === code;
}
