import { ErrorCodes, SocklineError } from '../errors.js';

/**
 * The link's liveness check: no inbound byte for `limit` ms means the connection is dead
 * (a peer gone without a FIN, a NAT that forgot the flow). Receiving costs one clock read
 * (`heard`); the owner runs one timer, re-armed only when it fires, and asks `check(now)`
 * what to do. No timers of its own, so it is tested with plain numbers.
 *
 * @example
 * const liveness = new Liveness(30_000);
 * liveness.heard = now;                 // on every chunk
 * const next = liveness.check(later);   // ms until the next check, or the error
 */
export class Liveness {
  /** The deadline in ms; `false`: no check. */
  limit: number | false;
  /** When the last byte came (clock ms). */
  heard = 0;
  /** When the running timer was meant to fire. */
  #due = 0;

  constructor(limit: number | false) {
    this.limit = limit;
  }

  /** The owner starts its timer for `ms` at `now`. */
  armed(now: number, ms: number): void {
    this.#due = now + ms;
  }

  /**
   * The timer fired at `now`: the ms to wait before checking again (0: the check is off),
   * or the error that ends the connection.
   */
  check(now: number): number | SocklineError {
    const limit = this.limit;
    if (limit === false) return 0;
    if (now - this.#due > limit) {
      // The timer fired far too late: the runtime was suspended or throttled (a hidden tab,
      // a laptop asleep). That says nothing about the peer, so start measuring again.
      this.heard = now;
    }
    const silent = now - this.heard;
    if (silent < limit) return limit - silent;
    return new SocklineError(
      ErrorCodes.IDLE_TIMEOUT,
      `nothing received for ${silent} ms (idleTimeout ${limit} ms)`,
    );
  }
}
