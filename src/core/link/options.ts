import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { BackoffOptions } from './backoff.js';
import type { OutboxLimits, OverflowPolicy } from './outbox.js';

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

function check(name: string, value: number, ok: boolean): number {
  if (!ok || Number.isNaN(value)) throw new RangeError(`Invalid option ${name}: ${String(value)}`);
  return value;
}
/** A duration or count: a non-negative number, `Infinity` allowed only where it means "unlimited". */
function nonNegative(name: string, value: unknown, fallback: number, allowInfinity = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number')
    throw new TypeError(`Invalid option ${name}: expected a number, got ${typeof value}`);
  return check(name, value, value >= 0 && (allowInfinity || Number.isFinite(value)));
}
function positive(name: string, value: unknown, fallback: number, allowInfinity = false): number {
  const v = nonNegative(name, value, fallback, allowInfinity);
  return check(name, v, v > 0);
}

/** Applies defaults and validates once, at the public boundary. */
export function resolveLinkOptions(options: LinkOptions = {}): ResolvedLinkOptions {
  const d = linkDefaults;
  let reconnect: ResolvedLinkOptions['reconnect'] = false;
  if (options.reconnect !== false) {
    const r = options.reconnect ?? {};
    const initialDelay = nonNegative('reconnect.initialDelay', r.initialDelay, d.reconnect.initialDelay);
    const maxDelay = nonNegative(
      'reconnect.maxDelay',
      r.maxDelay,
      Math.max(d.reconnect.maxDelay, initialDelay),
    );
    if (maxDelay < initialDelay) {
      throw new RangeError(
        `Invalid option reconnect.maxDelay: ${maxDelay} is below initialDelay ${initialDelay}`,
      );
    }
    const multiplier = nonNegative('reconnect.multiplier', r.multiplier, d.reconnect.multiplier);
    check('reconnect.multiplier', multiplier, multiplier >= 1);
    const jitter = nonNegative('reconnect.jitter', r.jitter, d.reconnect.jitter);
    check('reconnect.jitter', jitter, jitter <= 1);
    reconnect = Object.freeze({
      initialDelay,
      maxDelay,
      multiplier,
      jitter,
      maxRetries: nonNegative('reconnect.maxRetries', r.maxRetries, d.reconnect.maxRetries, true),
      minUptime: nonNegative('reconnect.minUptime', r.minUptime, d.reconnect.minUptime),
    });
  }
  const o = options.outbox ?? {};
  const overflow = o.overflow ?? d.outbox.overflow;
  if (overflow !== 'reject' && overflow !== 'drop-oldest' && overflow !== 'drop-newest') {
    throw new RangeError(`Invalid option outbox.overflow: ${String(overflow)}`);
  }
  const idle = options.idleTimeout ?? d.idleTimeout;
  return Object.freeze({
    reconnect,
    connectTimeout: positive('connectTimeout', options.connectTimeout, d.connectTimeout, true),
    idleTimeout: idle === false ? false : positive('idleTimeout', idle, 0),
    closeTimeout: nonNegative('closeTimeout', options.closeTimeout, d.closeTimeout),
    highWaterMark: nonNegative('highWaterMark', options.highWaterMark, d.highWaterMark),
    outbox: Object.freeze({
      maxMessages: nonNegative('outbox.maxMessages', o.maxMessages, d.outbox.maxMessages, true),
      maxBytes: nonNegative('outbox.maxBytes', o.maxBytes, d.outbox.maxBytes, true),
      overflow,
      ttl: positive('outbox.ttl', o.ttl, d.outbox.ttl, true),
    }),
    shouldReconnect: options.shouldReconnect ?? always,
    signal: options.signal,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
  });
}
