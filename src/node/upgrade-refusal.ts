import type { IncomingMessage } from 'node:http';
import { ErrorCodes, SocklineError } from '../core/errors.js';

/** How a transport reports an upgrade the server answered with an HTTP status instead of 101. */
export interface UpgradeRefusal {
  readonly error: SocklineError;
  /** A refusal that will not change by retrying: the link closes. */
  readonly final: boolean;
  /** The server's `Retry-After`, in ms. */
  readonly retryAfter?: number;
}

/** The longest wait a `Retry-After` can ask for: the largest delay a timer takes. */
const MAX_RETRY_AFTER = 0x7fffffff;

/**
 * Classifies the answer to a WebSocket upgrade that was not 101 (RFC 6455 §4.1), the way
 * HTTP means it: 408, 429 and 5xx are outages (retried with backoff, never sooner than
 * `Retry-After`); any other 4xx (a wrong path, a refused origin or credentials) and a
 * redirect that is not followed are refusals (final); a 2xx means an HTTP page, not a
 * WebSocket endpoint (final). `sockline`: the peer was expected to speak the sockline
 * protocol, so a page is reported as `ERR_NOT_SOCKLINE`, which names raw mode.
 */
export function upgradeRefusal(url: URL, response: IncomingMessage, sockline: boolean): UpgradeRefusal {
  const status = response.statusCode ?? 0;
  const answer = `HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`;
  const at = `${url.href} answered the WebSocket upgrade with ${answer}`;
  const retryable = status === 408 || status === 429 || status >= 500 || status < 200;
  const retryAfter = retryable ? parseRetryAfter(response.headers['retry-after']) : undefined;
  let code: typeof ErrorCodes.UPGRADE_REFUSED | typeof ErrorCodes.NOT_SOCKLINE = ErrorCodes.UPGRADE_REFUSED;
  let message: string;
  if (retryable) {
    message = `${at}; retrying${retryAfter === undefined ? '' : ` in ${retryAfter} ms or later (Retry-After)`}`;
  } else if (status < 300 && sockline) {
    code = ErrorCodes.NOT_SOCKLINE;
    message = `${url.href} is not a sockline server: it answered the WebSocket upgrade with ${answer}, as a web page does. Check the URL's path; for a WebSocket service that is not sockline use protocol: 'raw'`;
  } else if (status < 300) {
    message = `${at}, as a web page does: no WebSocket endpoint here (check the URL's path)`;
  } else if (status < 400) {
    const location = response.headers.location;
    message = `${at}${location ? ` to ${location}` : ''}; not followed (followRedirects: true follows it)`;
  } else {
    message = `${at}: refused, not retried${REASONS[status] ?? ''}`;
  }
  const error = new SocklineError(code, message);
  error.status = status;
  return retryAfter === undefined ? { error, final: !retryable } : { error, final: !retryable, retryAfter };
}

const REASONS: Readonly<Record<number, string>> = {
  401: ' (credentials missing or refused: headers or token)',
  403: ' (an Origin or credentials the server does not accept)',
  404: ' (no WebSocket endpoint at this path)',
  426: ' (the server expects another protocol or version)',
};

/** `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms; undefined if absent or unreadable. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - Date.now();
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER);
}
