import type { RedisClientOptions } from 'redis';

/** Options of {@link redisAdapter}. Every bound is finite. */
export interface RedisAdapterOptions {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`. @default 'redis://127.0.0.1:6379' */
  readonly url?: string;
  /** More node-redis client options (socket, credentials, database...); `url` wins. */
  readonly client?: RedisClientOptions;
  /** Prefix of every key, so several clusters can share one Redis. @default 'sockline' */
  readonly prefix?: string;
  /**
   * Share sessions, so a client resumes on any process. `false`: only topics, rooms and
   * broadcasts are shared (less Redis traffic; a resume works only on the same process).
   * @default true
   */
  readonly sessions?: boolean;
  /** Approximate length of the bus stream (`XADD MAXLEN ~`). @default 100000 */
  readonly maxStreamLength?: number;
  /** Unacknowledged frames kept in one session's record, at most. @default 10000 */
  readonly maxSessionFrames?: number;
  /** Publishes kept to forward while Redis is unreachable, at most (count). @default 10000 */
  readonly maxForwardMessages?: number;
  /** ... and bytes. @default 8388608 */
  readonly maxForwardBytes?: number;
  /** Session lookups (resumes from another process) in flight, at most. @default 100 */
  readonly maxLookups?: number;
  /** Bus entries one resume catches up on, at most. @default 10000 */
  readonly maxCatchUp?: number;
  /** Longest delay between two attempts to reach Redis again, in ms. @default 2000 */
  readonly maxRetryDelay?: number;
  /** How long `listen()` waits for Redis before starting degraded, in ms. @default 5000 */
  readonly connectTimeout?: number;
}

export interface ResolvedRedisOptions {
  url: string;
  prefix: string;
  sessions: boolean;
  maxStreamLength: number;
  maxSessionFrames: number;
  maxForwardMessages: number;
  maxForwardBytes: number;
  maxLookups: number;
  maxCatchUp: number;
  maxRetryDelay: number;
  connectTimeout: number;
}

/** Defaults of {@link RedisAdapterOptions}. */
export const redisAdapterDefaults: Readonly<ResolvedRedisOptions> = Object.freeze({
  url: 'redis://127.0.0.1:6379',
  prefix: 'sockline',
  sessions: true,
  maxStreamLength: 100_000,
  maxSessionFrames: 10_000,
  maxForwardMessages: 10_000,
  maxForwardBytes: 8 << 20,
  maxLookups: 100,
  maxCatchUp: 10_000,
  maxRetryDelay: 2_000,
  connectTimeout: 5_000,
});

const COUNTS = [
  'maxStreamLength',
  'maxSessionFrames',
  'maxForwardMessages',
  'maxForwardBytes',
  'maxLookups',
  'maxCatchUp',
  'maxRetryDelay',
  'connectTimeout',
] as const;

/** Validates once (RangeError/TypeError naming the option); every bound filled in. */
export function resolveRedisOptions(options: RedisAdapterOptions): ResolvedRedisOptions {
  const r: ResolvedRedisOptions = { ...redisAdapterDefaults };
  for (const name of COUNTS) {
    const v = options[name];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
      throw new RangeError(`Invalid option ${name}: ${String(v)}`);
    r[name] = Math.floor(v);
  }
  if (options.url !== undefined) {
    if (typeof options.url !== 'string') throw new TypeError(`Invalid option url: ${String(options.url)}`);
    r.url = options.url;
  }
  if (options.prefix !== undefined) {
    if (typeof options.prefix !== 'string' || options.prefix === '')
      throw new TypeError(`Invalid option prefix: ${String(options.prefix)}`);
    r.prefix = options.prefix;
  }
  if (options.sessions !== undefined) r.sessions = options.sessions !== false;
  return r;
}
