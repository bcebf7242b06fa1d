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
  'INTERNAL',
  'INVALID_OPTION',
  'UPGRADE_REFUSED',
  'NOT_SOCKLINE',
  'CALLBACK',
  'TOO_MANY_SUBSCRIPTIONS',
  'MESSAGE_TOO_LARGE',
  'NOT_SUPPORTED',
  'TOO_MANY_STREAMS',
  'STREAM_ABORTED',
  'MEMORY_BUDGET',
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
 * | `ERR_REMOTE` | the peer's handler refused the request on purpose: a {@link RemoteError} with its `remoteCode`, message and `data` |
 * | `ERR_UNKNOWN_METHOD` | no handler for the requested method |
 * | `ERR_SESSION_LOST` | the session could not be resumed; messages in flight may be missing |
 * | `ERR_INTERNAL` | the peer's handler failed unexpectedly; its message stays with the peer |
 * | `ERR_INVALID_OPTION` | an option or argument is unknown, of the wrong type or out of range (a `TypeError` or `RangeError` carrying this code) |
 * | `ERR_UPGRADE_REFUSED` | the server answered the WebSocket upgrade with an HTTP status (`status`) instead of 101 |
 * | `ERR_NOT_SOCKLINE` | the endpoint answered, but not with the sockline protocol (an HTTP page, a line or echo service, a plain WebSocket server): use `protocol: 'raw'` for such a peer |
 * | `ERR_CALLBACK` | a listener or handler of the application threw; what it threw is the `cause` |
 * | `ERR_TOO_MANY_SUBSCRIPTIONS` | the server refused a SUBSCRIBE: the session's `maxSubscriptions`, or the server's `maxTotalSubscriptions`, is reached |
 * | `ERR_MESSAGE_TOO_LARGE` | a message is over `maxMessageSize` (the sender's, or the one the peer announced) |
 * | `ERR_NOT_SUPPORTED` | the peer cannot take it: a message over one frame or a stream to a client without `sockline/streams`, a stream nobody listens for; or `for await` without `import 'sockline/iterate'`, `client.handle()` without `import 'sockline/handle'` |
 * | `ERR_TOO_MANY_STREAMS` | the cap on streams open at once (`maxStreams`) was reached |
 * | `ERR_STREAM_ABORTED` | the other end of a stream aborted (writer) or cancelled (reader) it; `remoteCode` and the message are its reason |
 * | `ERR_MEMORY_BUDGET` | the receiver refused a large message or a stream: it would take its memory budget over (try again later) |
 */
// Every call is marked pure, so a bundle that reads no code from the table drops it whole.
export const ErrorCodes = /* @__PURE__ */ Object.freeze(
  /* @__PURE__ */ Object.fromEntries(/* @__PURE__ */ ERROR_NAMES.map((name) => [name, `ERR_${name}`])),
) as { readonly [Name in (typeof ERROR_NAMES)[number]]: `ERR_${Name}` };

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The one error class sockline throws and emits. `code` is one of {@link ErrorCodes}. */
export class SocklineError extends Error {
  readonly code: ErrorCode;
  /**
   * Set when the error came from the peer as the answer to a request: the code it sent. For
   * the codes sockline itself raises (`ERR_UNKNOWN_METHOD`, `ERR_TOO_MANY_REQUESTS`…) it
   * equals `code`; for a {@link RemoteError} it is the application's own code.
   */
  remoteCode?: string;
  /** `ERR_UPGRADE_REFUSED`: the HTTP status the server answered the WebSocket upgrade with. */
  status?: number;
  /** `ERR_VERSION_UNSUPPORTED`: the protocol versions the server speaks. */
  versions?: readonly number[];
  /**
   * A request that failed without an answer (timed out, aborted, session lost, closed):
   * whether its REQUEST had left this side. `false`: the peer never saw it and never runs
   * it, so trying again is safe. `true`: the peer may have run it (or, after a timeout or
   * an abort, may still run it, once).
   */
  sent?: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SocklineError';
    this.code = code;
  }
}

/** An argument error (`TypeError` or `RangeError`) that also carries {@link ErrorCodes}' `ERR_INVALID_OPTION`. */
export type OptionError = (TypeError | RangeError) & { readonly code: 'ERR_INVALID_OPTION' };

/**
 * An error a request handler throws on purpose, to answer the caller with an application
 * code, a message and optional data (the gRPC/Connect convention). The caller's promise
 * rejects with a `RemoteError` of the same `remoteCode`, message and `data`; its `code` is
 * `ERR_REMOTE`. Any other exception in a handler reaches the caller as `ERR_INTERNAL`,
 * without its message.
 *
 * @example
 * server.handle('user', (id) => {
 *   const user = users.get(id);
 *   if (user === undefined) throw new RemoteError('NOT_FOUND', `no user ${id}`, { data: { id } });
 *   return user;
 * });
 */
export class RemoteError extends SocklineError {
  override readonly remoteCode: string;
  /** What the handler attached, decoded by the codec; undefined when nothing was. */
  readonly data: unknown;

  constructor(remoteCode: string, message: string, options?: { data?: unknown; cause?: unknown }) {
    super(ErrorCodes.REMOTE, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RemoteError';
    this.remoteCode = remoteCode;
    this.data = options?.data;
  }
}

/** True when `err` is a sockline error with the given code (works across module copies). */
export function isSocklineError(err: unknown, code?: ErrorCode): err is SocklineError {
  if (typeof err !== 'object' || err === null) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string' || !c.startsWith('ERR_')) return false;
  return code === undefined || c === code;
}

/**
 * The error reported when the application's own code (a listener, a subscription or request
 * handler) threw: `ERR_CALLBACK`, with what it threw as the `cause`.
 */
export function callbackError(what: string, thrown: unknown): SocklineError {
  const detail = thrown instanceof Error ? thrown.message : String(thrown);
  // The code as a literal: a bundle that needs no other code keeps no table of them all.
  return new SocklineError('ERR_CALLBACK', `${what} threw: ${detail}`, { cause: thrown });
}

/**
 * Reports an error that has nowhere else to go (an `'error'` listener that threw) the way the
 * platform reports an uncaught exception, outside the code that was running.
 */
export function reportUncaught(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
