import type { PayloadKind } from '../core/protocol/frames.js';
import type { SessionObserver, SessionState } from '../core/protocol/server-session.js';

/**
 * What one server process hands to every process of a cluster (itself included): a publish
 * to a topic, or a broadcast to every peer or to the members of a room. Payloads are
 * already encoded (`kind` + bytes), so no process decodes what it only forwards.
 */
export type BusEntry =
  | {
      readonly type: 'publish';
      readonly topic: string;
      readonly kind: PayloadKind;
      readonly payload: Uint8Array;
    }
  | {
      readonly type: 'broadcast';
      /** Members of this room only; every peer when undefined. */
      readonly room: string | undefined;
      /** Never queued or replayed (see `server.broadcast`). */
      readonly volatile: boolean;
      readonly kind: PayloadKind;
      readonly payload: Uint8Array;
    };

/** `ok`: entries reach every process. `degraded`: the shared medium is unreachable; local only. */
export type AdapterState = 'ok' | 'degraded';

/** Counters of an adapter, in `server.metrics().adapter`. */
export interface AdapterMetrics {
  readonly name: string;
  readonly state: AdapterState;
  /** Entries this process put on the bus. */
  published: number;
  /** Entries this process read from the bus (every process's, its own included). */
  received: number;
  /** Entries published while degraded, waiting to be forwarded now. */
  queued: number;
  /** Entries published while degraded and forwarded once the bus was back. */
  forwarded: number;
  /** Entries that could not be forwarded: the forward queue was full, or the server closed first. */
  dropped: number;
  /** Sessions another process had, resumed here. */
  adopted: number;
  /** Resumes turned away because too many lookups were in flight (the client retries). */
  lookupsRefused: number;
  /** Resumes whose catch-up found the bus already trimmed past the session's position. */
  gaps: number;
  /** Times the adapter went from `ok` to `degraded`. */
  outages: number;
  /**
   * Times the shared medium was found to have lost what it had acknowledged (Redis restarted
   * without persistence, flushed, failed over): each time the sessions of this process were
   * reset and the `adapter` event carried an `ERR_SESSION_LOST` error.
   */
  losses: number;
}

/** What a server gives its adapter. @internal for adapter authors */
export interface AdapterHost {
  /** This process, unique in the cluster. */
  readonly id: string;
  /** How long a detached session stays resumable, in ms. */
  readonly resumeWindow: number;
  /** An entry for this process's peers; `source` is its position on the bus, if any. */
  deliver(entry: BusEntry, source: string | undefined): void;
  /** Queues an entry for one session that is not live yet (a catch-up), whatever it matches. */
  enqueue(state: SessionState, entry: BusEntry, source: string): void;
  /** A session object shaped by this server's options, for a session another process had. */
  createState(id: string): SessionState;
  /** Takes a rebuilt session into the local store (it waits for its handshake to finish). */
  adopt(state: SessionState, rooms: readonly string[]): void;
  /** Sessions held by this process. */
  sessions(): Iterable<SessionState>;
  /** Rooms the session's peer is in. */
  roomsOf(state: SessionState): Iterable<string>;
  /** Another process resumed this session: forget it here (without touching the shared record). */
  moved(id: string): void;
  /** The adapter's state changed. */
  health(state: AdapterState, error?: Error): void;
  /** Something went wrong that did not stop the adapter (emitted as the server's `error`). */
  error(error: Error): void;
}

/**
 * Sessions shared between processes, so a client can resume on any of them: the adapter
 * persists each change as it happens (a process that dies cannot hand anything over).
 */
export interface SessionSharing extends SessionObserver {
  /**
   * Loads a session this process does not hold and takes it over. `null`: too many
   * lookups in flight (the client is asked to come back). Resolves undefined when unknown.
   */
  lookup(id: string, lastSeq: number): Promise<SessionState | undefined> | null;
  joined(state: SessionState, room: string): void;
  left(state: SessionState, room: string): void;
  /** The session ended for good: forget its shared record. */
  ended(state: SessionState): void;
}

/**
 * How server processes share topics, rooms, broadcasts and resumable sessions. The default
 * keeps everything in one process; `sockline/redis` provides `redisAdapter()` for several.
 *
 * @example
 * import { redisAdapter } from 'sockline/redis';
 * const server = createServer({ tcp: {}, adapter: redisAdapter({ url: 'redis://10.0.0.5:6379' }) });
 */
export interface Adapter {
  readonly name: string;
  /** Called once by `listen()`; resolves when the adapter is usable (possibly degraded). */
  open(host: AdapterHost): Promise<void>;
  /**
   * Hands an entry to every process. `origin` is the client PUBLISH that caused it: an
   * adapter with shared sessions persists its seq with the entry, atomically, and then
   * confirms it (`origin.state.delivery.confirm(seq)`) so the client's retransmission after a
   * crash is recognised as a duplicate.
   */
  publish(entry: BusEntry, origin?: { readonly state: SessionState; readonly seq: number }): void;
  /** Present when sessions are shared for resume across processes. */
  readonly sessions?: SessionSharing | undefined;
  metrics(): AdapterMetrics;
  /** Flushes what is owed to the shared medium and lets go of it. Idempotent. */
  close(): Promise<void>;
}

/** Fresh counters for an adapter's `metrics()`. */
export function adapterCounters(): Omit<AdapterMetrics, 'name' | 'state'> {
  return {
    published: 0,
    received: 0,
    queued: 0,
    forwarded: 0,
    dropped: 0,
    adopted: 0,
    lookupsRefused: 0,
    gaps: 0,
    outages: 0,
    losses: 0,
  };
}

/**
 * One process, nothing shared: entries are delivered here at once, sessions live in the
 * server's own store. The default adapter.
 */
export function memoryAdapter(): Adapter {
  let host: AdapterHost | undefined;
  const counters = adapterCounters();
  return {
    name: 'memory',
    open(h) {
      host = h;
      return Promise.resolve();
    },
    publish(entry) {
      counters.published++;
      counters.received++;
      host?.deliver(entry, undefined);
    },
    metrics: () => ({ name: 'memory', state: 'ok', ...counters }),
    close: () => Promise.resolve(),
  };
}

/** Checks an `adapter` option at the public boundary. */
export function validateAdapter(adapter: unknown): asserts adapter is Adapter {
  const a = adapter as Partial<Adapter> | null;
  if (
    typeof a !== 'object' ||
    a === null ||
    typeof a.open !== 'function' ||
    typeof a.publish !== 'function' ||
    typeof a.metrics !== 'function' ||
    typeof a.close !== 'function'
  )
    throw new TypeError(`Invalid option adapter: ${String(adapter)} (needs open, publish, metrics, close)`);
}
