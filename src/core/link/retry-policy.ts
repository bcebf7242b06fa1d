import { ErrorCodes, SocklineError } from '../errors.js';
import type { TransportCloseInfo } from '../transport.js';
import { backoffDelay } from './backoff.js';
import type { DisconnectInfo, ResolvedLinkOptions } from './options.js';
import type { DeferredInfo } from './types.js';
import type { LinkEmit } from './attempts.js';

/**
 * What follows a disconnect: the next attempt in `delay` ms (numbered `attempt` as the
 * `reconnecting` event tells it), or closing with the error `close` (whatever the transport
 * reported, even a value that is not an `Error`).
 */
export type Decision = { readonly delay: number; readonly attempt: number } | { readonly close: Error };

/**
 * What the link does after a transport ends: retry after a backoff delay, retry when the peer
 * said (a deferral), or close with the error that explains why not. It counts consecutive
 * failures (the backoff grows with them, `maxRetries` bounds them; they reset once a
 * connection stays up `minUptime`) and deferrals, which are not failures: a peer that asks to
 * be left alone for a while is alive. Decisions only, no timers: the link schedules.
 *
 * @example
 * const next = policy.next(info, disconnect); // { close: error } or { delay, attempt }
 */
export class RetryPolicy {
  readonly #options: Pick<ResolvedLinkOptions, 'reconnect' | 'shouldReconnect' | 'random'>;
  /** Consecutive failures since the link last stayed up for `minUptime`. */
  failures = 0;
  /** Times the peer asked the link to come back later. */
  deferrals = 0;
  /** The current attempt is being ended by a final refusal (a handshake's `fail(…, false)`). */
  refused = false;
  /** The peer asked to come back later: used by the next disconnect, once. */
  #deferred: DeferredInfo | undefined;
  readonly #emit: LinkEmit;

  constructor(
    options: Pick<ResolvedLinkOptions, 'reconnect' | 'shouldReconnect' | 'random'>,
    emit: LinkEmit,
  ) {
    this.#options = options;
    this.#emit = emit;
  }

  /** How long a connection must stay up to reset the failure count; undefined: no need. */
  get uptime(): number | undefined {
    const reconnect = this.#options.reconnect;
    return reconnect !== false && this.failures > 0 ? reconnect.minUptime : undefined;
  }

  /** The next disconnect waits `ms` instead of the backoff delay, and is not a failure. */
  defer(ms: number, reason: string): void {
    if (ms >= 0 && ms <= 0x7fffffff) this.#deferred = { delay: ms, reason };
  }

  /**
   * A transport ended (`disconnect`: what the link reported of it) while the link is not
   * closing: when to try again, or the error the link closes with. A deferral the peer asked
   * for is counted and reported (`deferred`) first.
   */
  next(info: TransportCloseInfo, disconnect: DisconnectInfo): Decision {
    const reconnect = this.#options.reconnect;
    const final = info.final === true || this.refused;
    this.refused = false;
    const deferred = this.#deferred;
    this.#deferred = undefined;
    if (deferred !== undefined) {
      // The peer is alive and said when to come back: not a failure.
      this.deferrals++;
      this.#emit('deferred', deferred);
    }
    if (reconnect === false || final || !this.#options.shouldReconnect(disconnect)) {
      return { close: info.error ?? disconnectError(disconnect, deferred) };
    }
    if (deferred !== undefined) return { delay: deferred.delay, attempt: this.failures + 1 };
    this.failures++;
    if (this.failures > reconnect.maxRetries) {
      const cause = info.error ? { cause: info.error } : undefined;
      const error = new SocklineError(
        ErrorCodes.MAX_RETRIES,
        `gave up after ${reconnect.maxRetries} reconnect attempts`,
        cause,
      );
      return { close: error };
    }
    // A peer that said how long to wait (an HTTP Retry-After) is not asked sooner.
    const delay = backoffDelay(this.failures - 1, reconnect, this.#options.random);
    return { delay: Math.max(delay, info.retryAfter ?? 0), attempt: this.failures };
  }
}

/** Why a link that will not reconnect closed, when the transport gave no error. */
function disconnectError(info: DisconnectInfo, deferred: DeferredInfo | undefined): SocklineError {
  if (deferred !== undefined) {
    return new SocklineError(
      ErrorCodes.CONNECTION_CLOSED,
      `the peer asked to come back in ${deferred.delay} ms (${deferred.reason}), and reconnecting is off`,
    );
  }
  const detail =
    info.code !== undefined ? ` (code ${info.code}${info.reason ? `: ${info.reason}` : ''})` : '';
  return new SocklineError(ErrorCodes.CONNECTION_CLOSED, `the connection closed${detail}`);
}
