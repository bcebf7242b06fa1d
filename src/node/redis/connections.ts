import { createClient, RESP_TYPES, type RedisClientOptions } from 'redis';
import type { ResolvedRedisOptions } from './redis-options.js';
import { SCRIPTS, type Script } from './scripts.js';

/** The slice of a node-redis client this adapter uses (replies with bulk strings as Buffers). */
export interface Connection {
  readonly isReady: boolean;
  sendCommand(args: ReadonlyArray<string | Buffer>): Promise<unknown>;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

/** A reply's bulk string (a Buffer) or number as text. */
export function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString() : String(value);
}

/** Bytes as a Buffer for a command, without a copy. */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * The adapter's two connections to Redis: `cmd` for commands and scripts, `reader` for the
 * blocking XREAD of the bus (a blocked connection answers nothing else). node-redis
 * reconnects them by itself, with a capped, jittered backoff; while one is away its
 * commands fail at once (no offline queue), and the adapter goes `degraded` and keeps its
 * own bounded queue instead. Undefined until `open`: commands then reject.
 *
 * @example
 * const redis = new RedisConnections(options, clientOptions, (err) => adapter.failed(err));
 * await redis.open();
 * await redis.run(CLAIM, keys, args);
 */
export class RedisConnections {
  readonly #o: ResolvedRedisOptions;
  readonly #clientOptions: RedisClientOptions | undefined;
  readonly #failed: (error: unknown) => void;
  cmd: Connection | undefined;
  reader: Connection | undefined;

  constructor(
    options: ResolvedRedisOptions,
    clientOptions: RedisClientOptions | undefined,
    failed: (error: unknown) => void,
  ) {
    this.#o = options;
    this.#clientOptions = clientOptions;
    this.#failed = failed;
  }

  /**
   * Creates both connections (throws at once for options node-redis refuses) and starts
   * connecting them: the promise resolves once both are ready, and rejects after
   * `connectTimeout` (node-redis keeps trying: the caller stays degraded meanwhile).
   */
  open(): Promise<void> {
    const o = this.#o;
    const client = createClient({
      ...this.#clientOptions,
      url: o.url,
      // Fail fast while Redis is away: this adapter keeps its own bounded queue instead.
      disableOfflineQueue: true,
      socket: {
        ...this.#clientOptions?.socket,
        connectTimeout: o.connectTimeout,
        reconnectStrategy: (retries: number) =>
          Math.min(25 * 2 ** Math.min(retries, 10), o.maxRetryDelay) * (0.5 + Math.random() / 2),
      },
    } as RedisClientOptions);
    const cmd = client.withTypeMapping(BUFFERS) as unknown as Connection;
    const reader = client.duplicate().withTypeMapping(BUFFERS) as unknown as Connection;
    this.cmd = cmd;
    this.reader = reader;
    // Without an 'error' listener node-redis would throw from its emitter.
    cmd.on('error', (err) => this.#failed(err));
    reader.on('error', (err) => this.#failed(err));
    return this.#connect(cmd, reader);
  }

  async #connect(cmd: Connection, reader: Connection): Promise<void> {
    const o = this.#o;
    const connected = Promise.all([cmd.connect(), reader.connect()]);
    // Whatever the outcome, node-redis goes on trying: a late rejection is not unhandled.
    connected.catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis not reachable within ${o.connectTimeout} ms`)),
        o.connectTimeout,
      );
    });
    try {
      await Promise.race([connected, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A command on `cmd`; rejects before `open`. */
  send(args: ReadonlyArray<string | Buffer>): Promise<unknown> {
    const cmd = this.cmd;
    if (cmd === undefined) return Promise.reject(new Error('the adapter is not open'));
    return cmd.sendCommand(args);
  }

  run(script: Script, keys: readonly string[], args: ReadonlyArray<string | Buffer>): Promise<unknown> {
    // No EVAL fallback on NOSCRIPT: a retry would run after commands sent later (and the
    // dedup script would then drop the earlier seq). A failure makes the adapter degraded;
    // recovery loads the scripts again before anything else.
    return this.send(['EVALSHA', script.sha, String(keys.length), ...keys, ...args]);
  }

  /** Loads every script (at start, and after an outage: a restarted Redis has none). */
  async loadScripts(): Promise<void> {
    await Promise.all(SCRIPTS.map((s) => this.cmd!.sendCommand(['SCRIPT', 'LOAD', s.source])));
  }

  /** Closes `cmd` gracefully when it is up (its replies still come), else drops both. */
  async close(): Promise<void> {
    const cmd = this.cmd;
    if (cmd?.isReady) await cmd.close().catch(() => cmd.destroy());
    else if (cmd !== undefined) safely(() => cmd.destroy());
    const reader = this.reader;
    if (reader !== undefined) safely(() => reader.destroy());
  }
}

function safely(f: () => void): void {
  try {
    f();
  } catch {
    // Already closed.
  }
}
