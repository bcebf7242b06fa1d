/** The names of {@link ErrorCodes}; each code is the name with `ERR_` in front. */
const ERROR_NAMES = [
  'INVALID_URL',
  'UNSUPPORTED_SCHEME',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CLIENT_CLOSED',
  'MAX_RETRIES',
  'QUEUE_FULL',
  'MESSAGE_EXPIRED',
  'FRAME_TOO_LARGE',
  'TRUNCATED',
  'DATAGRAM_TOO_LARGE',
  'IDLE_TIMEOUT',
  'TRANSPORT',
  'ABORTED',
  'PROTOCOL',
  'BAD_PAYLOAD',
  'VERSION_UNSUPPORTED',
  'AUTH_FAILED',
  'HANDSHAKE_TIMEOUT',
  'HEARTBEAT_TIMEOUT',
  'REQUEST_TIMEOUT',
  'TOO_MANY_REQUESTS',
  'REMOTE',
  'UNKNOWN_METHOD',
  'SESSION_LOST',
] as const;

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
 * | `ERR_PROTOCOL` | the peer sent a frame that breaks the sockline protocol (malformed, unknown type, bad varint) |
 * | `ERR_BAD_PAYLOAD` | a payload the codec refuses: invalid JSON or UTF-8, forbidden keys (`__proto__`…), nesting too deep |
 * | `ERR_VERSION_UNSUPPORTED` | no protocol version in common; `versions` lists what the server speaks |
 * | `ERR_AUTH_FAILED` | the server refused the credentials |
 * | `ERR_HANDSHAKE_TIMEOUT` | HELLO/WELCOME did not complete within the handshake deadline |
 * | `ERR_HEARTBEAT_TIMEOUT` | the peer stayed silent past heartbeat interval + timeout |
 * | `ERR_REQUEST_TIMEOUT` | a request got no response within its timeout |
 * | `ERR_TOO_MANY_REQUESTS` | the cap on requests in flight was reached |
 * | `ERR_REMOTE` | the peer answered a request with an error (its code and message are kept) |
 * | `ERR_UNKNOWN_METHOD` | no handler for the requested method |
 * | `ERR_SESSION_LOST` | the session could not be resumed; messages in flight may be missing |
 */
export const ErrorCodes = /* @__PURE__ */ Object.freeze(
  Object.fromEntries(ERROR_NAMES.map((name) => [name, `ERR_${name}`])),
) as { readonly [Name in (typeof ERROR_NAMES)[number]]: `ERR_${Name}` };

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
