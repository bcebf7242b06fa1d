import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { BackoffOptions } from './backoff.js';
import type { OutboxLimits, OverflowPolicy } from './outbox.js';
import { optionRangeError, optionTypeError } from '../options/messages.js';

/** Why a transport ended, as given to `shouldReconnect` and the `disconnect` event. */
export interface DisconnectInfo {
  /** Close code when the transport has one (WebSocket). */
  readonly code?: number | undefined;
  readonly reason?: string | undefined;
  readonly error?: Error | undefined;
  /** Whether this transport had opened. */
  readonly wasOpen: boolean;
}

export interface ReconnectOptions extends Partial<BackoffOptions> {
  /** Consecutive failed attempts before giving up (`closed`, `ERR_MAX_RETRIES`). @default Infinity */
  maxRetries?: number;
  /** How long a link must stay open before the retry count resets, in ms. @default 5000 */
  minUptime?: number;
}

export interface OutboxOptions {
  /** @default 1000 */
  maxMessages?: number;
  /** @default 1048576 (1 MiB) */
  maxBytes?: number;
  /** @default 'reject' */
  overflow?: OverflowPolicy;
  /** Default time a queued message may wait, in ms (`send(…, { ttl })` overrides). @default Infinity */
  ttl?: number;
}

/** Options of the reconnecting link, shared by every runtime. */
export interface LinkOptions {
  /** Backoff and retry limits, or `false` to never reconnect. */
  reconnect?: ReconnectOptions | false;
  /** An attempt that has not opened after this many ms is abandoned. @default 10000 */
  connectTimeout?: number;
  /** No inbound byte for this many ms means the link is dead and is re-established. @default false */
  idleTimeout?: number | false;
  /** How long a graceful `close()` waits for buffered bytes before destroying, in ms. @default 5000 */
  closeTimeout?: number;
  /** `bufferedAmount` above which `send()` callers should wait for `drain`, in bytes. @default 1048576 */
  highWaterMark?: number;
  /** Bounds of the queue that holds messages while the link is down. */
  outbox?: OutboxOptions;
  /** Return false to stop reconnecting after this disconnect. @default () => true */
  shouldReconnect?: (info: DisconnectInfo) => boolean;
  /** Aborting it closes the link (`ERR_ABORTED`). */
  signal?: AbortSignal;
  /** Time source; tests inject fake timers here. @default the runtime's timers */
  clock?: Clock;
  /** Random source for jitter, in [0, 1). @default Math.random */
  random?: () => number;
}

/** `LinkOptions` after defaults and validation: no optional fields left. */
export interface ResolvedLinkOptions {
  readonly reconnect: (BackoffOptions & { readonly maxRetries: number; readonly minUptime: number }) | false;
  readonly connectTimeout: number;
  readonly idleTimeout: number | false;
  readonly closeTimeout: number;
  readonly highWaterMark: number;
  readonly outbox: OutboxLimits & { readonly ttl: number };
  readonly shouldReconnect: (info: DisconnectInfo) => boolean;
  readonly signal: AbortSignal | undefined;
  readonly clock: Clock;
  readonly random: () => number;
}

/** Every default in one place. */
export const linkDefaults = Object.freeze({
  reconnect: Object.freeze({
    initialDelay: 500,
    maxDelay: 10_000,
    multiplier: 2,
    jitter: 1,
    maxRetries: Infinity,
    minUptime: 5_000,
  }),
  connectTimeout: 10_000,
  idleTimeout: false as number | false,
  closeTimeout: 5_000,
  highWaterMark: 1 << 20,
  outbox: Object.freeze({
    maxMessages: 1000,
    maxBytes: 1 << 20,
    overflow: 'reject' as OverflowPolicy,
    ttl: Infinity,
  }),
});

const always = (): boolean => true;

/** The smallest number above 0: as a `min`, it makes an option positive. */
export const POSITIVE = Number.MIN_VALUE;
/** The largest finite number: as a `max`, it refuses `Infinity` (the default). */
export const FINITE = Number.MAX_VALUE;

/**
 * Checks one number option at the public boundary: returns it, or `fallback` when it is
 * undefined. TypeError for a non-number; RangeError naming the option and the value for NaN
 * and for a value outside `min`..`max` (`Infinity` passes only with `max: Infinity`, where it
 * means unlimited). Both carry `ERR_INVALID_OPTION`.
 */
export function numberOption(name: string, value: unknown, fallback: number, min = 0, max = FINITE): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw optionTypeError(name, 'a number', value);
  if (!(value >= min && value <= max)) throw optionRangeError(name, value, rangeText(min, max));
  return value;
}

/** How a range reads in an error: "> 0", ">= 1", "0 to 1", "> 0 or Infinity". */
function rangeText(min: number, max: number): string {
  const low = min === POSITIVE ? '> 0' : `>= ${min}`;
  if (max === Infinity) return `${low}, or Infinity`;
  return max === FINITE ? `${low} and finite` : `${min} to ${max}`;
}

/** Applies defaults and validates once, at the public boundary. */
export function resolveLinkOptions(options: LinkOptions = {}): ResolvedLinkOptions {
  const d = linkDefaults;
  const { reconnect: dr, outbox: dout } = d;
  const r = options.reconnect;
  const o = options.outbox ?? {};
  const overflow = o.overflow ?? dout.overflow;
  if (overflow !== 'reject' && overflow !== 'drop-oldest' && overflow !== 'drop-newest') {
    throw optionRangeError('outbox.overflow', overflow, "'reject', 'drop-oldest' or 'drop-newest'");
  }
  let reconnect: ResolvedLinkOptions['reconnect'] = false;
  if (r !== false) {
    const { initialDelay: i, maxDelay, multiplier, jitter, maxRetries, minUptime } = r ?? {};
    const initialDelay = numberOption('reconnect.initialDelay', i, dr.initialDelay);
    reconnect = Object.freeze({
      initialDelay,
      // Never below initialDelay, which would make the first delay the longest.
      maxDelay: numberOption(
        'reconnect.maxDelay',
        maxDelay,
        Math.max(dr.maxDelay, initialDelay),
        initialDelay,
      ),
      multiplier: numberOption('reconnect.multiplier', multiplier, dr.multiplier, 1),
      jitter: numberOption('reconnect.jitter', jitter, dr.jitter, 0, 1),
      maxRetries: numberOption('reconnect.maxRetries', maxRetries, dr.maxRetries, 0, Infinity),
      minUptime: numberOption('reconnect.minUptime', minUptime, dr.minUptime),
    });
  }
  const idle = options.idleTimeout ?? d.idleTimeout;
  return Object.freeze({
    reconnect,
    connectTimeout: numberOption(
      'connectTimeout',
      options.connectTimeout,
      d.connectTimeout,
      POSITIVE,
      Infinity,
    ),
    idleTimeout: idle === false ? false : numberOption('idleTimeout', idle, 0, POSITIVE),
    closeTimeout: numberOption('closeTimeout', options.closeTimeout, d.closeTimeout),
    highWaterMark: numberOption('highWaterMark', options.highWaterMark, d.highWaterMark),
    outbox: Object.freeze({
      maxMessages: numberOption('outbox.maxMessages', o.maxMessages, dout.maxMessages, 0, Infinity),
      maxBytes: numberOption('outbox.maxBytes', o.maxBytes, dout.maxBytes, 0, Infinity),
      overflow,
      ttl: numberOption('outbox.ttl', o.ttl, dout.ttl, POSITIVE, Infinity),
    }),
    shouldReconnect: options.shouldReconnect ?? always,
    signal: options.signal,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
  });
}
