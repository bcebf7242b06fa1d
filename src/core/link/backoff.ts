/** How the delay before each reconnect attempt grows. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. @default 500 */
  readonly initialDelay: number;
  /** Upper bound of the delay, in ms. @default 10000 */
  readonly maxDelay: number;
  /** Growth factor per failed attempt. @default 2 */
  readonly multiplier: number;
  /**
   * Share of the delay that is random, from 0 (none) to 1 ("full jitter": uniform in
   * `[0, delay]`). Jitter spreads clients that lost the same server over time, so a restart
   * does not bring them all back in the same instant. @default 1
   */
  readonly jitter: number;
}

/**
 * The delay before attempt number `attempt` (0 for the first retry): a pure function of
 * the attempt, the options and a random source, with jitter drawn on every call.
 *
 * `delay = min(maxDelay, initialDelay * multiplier ** attempt) * (1 - jitter * random())`
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelay, options.initialDelay * options.multiplier ** attempt);
  return Math.round(ceiling * (1 - options.jitter * random()));
}
