import type { RawLinkOptions } from '../../core/connect-link.js';
import type { DisconnectInfo } from '../../core/link/options.js';
import type { OverflowPolicy } from '../../core/link/outbox.js';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { optionRangeError } from '../../core/options/messages.js';
import type { WebSocketConstructor } from '../../core/websocket-transport.js';

/**
 * What the compact link reads of its options: the link's and those a WebSocket honours
 * (`protocols`, `WebSocket`); `text` applies to raw mode. Names and types are the caller's
 * to check (`connectRaw()` checks raw mode's); ranges are checked here, once.
 */
export type CompactLinkOptions = Omit<RawLinkOptions, 'protocol' | 'framing'>;

/** `CompactLinkOptions` with the defaults of `linkDefaults` applied and every range checked. */
export interface CompactConfig {
  /** Backoff `[initialDelay, maxDelay, multiplier, jitter, maxRetries, minUptime]`, or false. */
  readonly r: readonly [number, number, number, number, number, number] | false;
  readonly connectTimeout: number;
  readonly idleTimeout: number | false;
  readonly closeTimeout: number;
  readonly highWaterMark: number;
  /** Outbox `[maxMessages, maxBytes, ttl]` and its policy. */
  readonly o: readonly [number, number, number];
  readonly overflow: OverflowPolicy;
  readonly shouldReconnect: ((info: DisconnectInfo) => boolean) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly clock: Clock;
  readonly random: () => number;
  readonly protocols: string | string[] | undefined;
  readonly text: boolean | undefined;
  readonly WebSocket: WebSocketConstructor;
}

/**
 * Checks option `name` (a number) against `min`..`max` and returns it, or `fallback` when it
 * is undefined. `Infinity` passes only where `max` is `Infinity` (unlimited).
 */
const num = (
  name: string,
  value: number | undefined,
  fallback: number,
  min = 0,
  max = Number.MAX_VALUE,
): number => {
  if (value === undefined) return fallback;
  if (!(value >= min && value <= max)) throw optionRangeError(name, value);
  return value;
};

/** Applies the defaults (those of `linkDefaults`) and checks the ranges, as `resolveLinkOptions` does. */
export function resolveCompact(options: CompactLinkOptions, WebSocket: WebSocketConstructor): CompactConfig {
  const { reconnect: r, outbox: o = {}, idleTimeout: idle = false } = options;
  const overflow = o.overflow ?? 'reject';
  if (!/^(reject|drop-(oldest|newest))$/.test(overflow)) throw optionRangeError('outbox.overflow', overflow);
  let backoff: CompactConfig['r'] = false;
  if (r !== false) {
    const initial = num('reconnect.initialDelay', r?.initialDelay, 500);
    backoff = [
      initial,
      // Never below initialDelay, which would make the first delay the longest.
      num('reconnect.maxDelay', r?.maxDelay, Math.max(1e4, initial), initial),
      num('reconnect.multiplier', r?.multiplier, 2, 1),
      num('reconnect.jitter', r?.jitter, 1, 0, 1),
      num('reconnect.maxRetries', r?.maxRetries, Infinity, 0, Infinity),
      num('reconnect.minUptime', r?.minUptime, 5e3),
    ];
  }
  return {
    r: backoff,
    connectTimeout: num('connectTimeout', options.connectTimeout, 1e4, Number.MIN_VALUE, Infinity),
    idleTimeout: idle === false ? idle : num('idleTimeout', idle, 0, Number.MIN_VALUE),
    closeTimeout: num('closeTimeout', options.closeTimeout, 5e3),
    highWaterMark: num('highWaterMark', options.highWaterMark, 1 << 20),
    o: [
      num('outbox.maxMessages', o.maxMessages, 1e3, 0, Infinity),
      num('outbox.maxBytes', o.maxBytes, 1 << 20, 0, Infinity),
      num('outbox.ttl', o.ttl, Infinity, Number.MIN_VALUE, Infinity),
    ],
    overflow,
    shouldReconnect: options.shouldReconnect,
    signal: options.signal,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    protocols: options.protocols,
    text: options.text,
    WebSocket,
  };
}
