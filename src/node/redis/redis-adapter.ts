import { ErrorCodes, SocklineError } from '../../core/errors.js';
import type { SessionState } from '../../core/protocol/server-session.js';
import {
  adapterCounters,
  type Adapter,
  type AdapterHost,
  type AdapterMetrics,
  type AdapterState,
  type BusEntry,
  type SessionSharing,
} from '../adapter.js';
import { compareIds, headerOf, ZERO_ID } from './bus-codec.js';
import { asBuffer, RedisConnections, text } from './connections.js';
import { ForwardQueue } from './forward-queue.js';
import { END, INBOUND } from './scripts.js';
import { SessionRecords } from './session-records.js';
import { SharedSessions } from './session-sharing.js';
import { LossCheck, type LossReport } from './loss-check.js';
import { PublishOrder, type Queued } from './publish-order.js';
import { resolveRedisOptions, type RedisAdapterOptions, type ResolvedRedisOptions } from './redis-options.js';
import { StreamBus } from './stream-bus.js';

export { redisAdapterDefaults } from './redis-options.js';
export type { RedisAdapterOptions } from './redis-options.js';

/** The client PUBLISH a bus entry came from. */
interface Origin {
  readonly state: SessionState;
  readonly seq: number;
}

/**
 * How long the record of the server's own last publish outlives that publish, in ms: a retry
 * after an outage up to this long is recognised (longer: it may land twice).
 */
const OWN_TTL = 86_400_000;

/**
 * Several server processes as one, through Redis: one stream is the bus every process
 * reads (one order for all publishes, and a history to catch up from), and each session
 * has a record (hash + list of unacknowledged frames, with a TTL) any process can resume
 * it from. See docs/scaling.md.
 *
 * This class is the coordinator: publishing (in each publisher's order, see
 * {@link PublishOrder}) and the adapter's health (`ok` / `degraded`, the probe, recovery and
 * a loss of data). The parts are objects it owns: the connections ({@link RedisConnections}),
 * the bus and its reader ({@link StreamBus}), the queue of publishes made while Redis was
 * away ({@link ForwardQueue}), the session records ({@link SessionRecords}) and the resume
 * of a session another process held ({@link SharedSessions}).
 */
class RedisAdapter implements Adapter {
  readonly name = 'redis';
  readonly #o: ResolvedRedisOptions;
  readonly #counters = adapterCounters();
  readonly #redis: RedisConnections;
  readonly #bus: StreamBus;
  readonly #forward: ForwardQueue<Origin>;
  /** The number of this process's last own publish (`server.publish`, `server.broadcast`). */
  #ownSeq = 0;
  /** Key of the record of this process's own publishes (`prefix:o:process`), once open. */
  #ownKey = '';
  /** Each publisher's order across an outage (see {@link PublishOrder}). */
  readonly #order: PublishOrder<Origin>;
  /** Whether Redis lost what it had acknowledged (see {@link LossCheck}). */
  readonly #loss: LossCheck;
  /** A loss found while recovering, reported with the `ok` that ends the recovery. */
  #lossError: SocklineError | undefined;
  /** Sessions reset for a loss: whatever they still publish is dropped (see {@link publish}). */
  readonly #reset = new WeakSet<SessionState>();
  /** Sessions reset for a loss whose records and connections end once the forward queue is out. */
  #ending: SessionState[] = [];
  #host: AdapterHost | undefined;
  #records: SessionRecords | undefined;
  #state: AdapterState = 'ok';
  #recovering = false;
  #probe: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly sessions: SessionSharing | undefined;

  constructor(options: RedisAdapterOptions) {
    const o = (this.#o = resolveRedisOptions(options));
    this.#redis = new RedisConnections(o, options.client, (err) => this.#failed(err));
    this.#bus = new StreamBus(this.#redis, o, {
      host: () => this.#host!,
      closed: () => this.#closed,
      failed: (err) => this.#failed(err),
      moved: (id) => this.#moved(id),
      read: (position, entries) => {
        if (position !== undefined) this.#loss.saw(position);
        if (entries > 0) this.#order.read();
      },
      counters: this.#counters,
    });
    this.#forward = new ForwardQueue(o, this.#counters);
    this.#order = new PublishOrder(
      (q) => this.#forward.push(q),
      () => this.#bus.position ?? ZERO_ID,
    );
    this.#loss = new LossCheck(`${o.prefix}:epoch`, this.#bus.stream);
    this.sessions = o.sessions
      ? new SharedSessions(this.#redis, this.#bus, o, {
          host: () => this.#host!,
          records: () => this.#records,
          ok: () => this.#state === 'ok',
          closed: () => this.#closed,
          counters: this.#counters,
        }).hooks()
      : undefined;
  }

  async open(host: AdapterHost): Promise<void> {
    if (this.#host !== undefined) throw new Error('this adapter is already in use by a server');
    this.#host = host;
    const o = this.#o;
    this.#ownKey = `${o.prefix}:o:${host.id}`;
    const redis = this.#redis;
    const opening = redis.open();
    if (this.sessions !== undefined)
      this.#records = new SessionRecords(
        {
          me: host.id,
          healthy: () => this.#state === 'ok' && !this.#closed,
          prefix: o.prefix,
          maxStreamLength: o.maxStreamLength,
          position: () => this.#bus.where(),
          run: (script, keys, args) => redis.run(script, keys, args),
          failed: (err) => this.#failed(err),
        },
        { resumeWindow: host.resumeWindow, maxFrames: o.maxSessionFrames },
      );
    try {
      await opening;
      await redis.loadScripts();
      await this.#loss.check((args) => redis.cmd!.sendCommand(args));
      await this.#bus.sync();
    } catch (err) {
      // Keep serving: node-redis goes on trying, and the probe brings the adapter back.
      this.#failed(err);
    }
    void this.#bus.run();
  }

  publish(entry: BusEntry, origin?: Origin): void {
    const host = this.#host;
    if (host === undefined || this.#closed) return;
    // A session reset because Redis lost data (its connection is gone, a frame may still be
    // on its way in): unconfirmed, so its client sends it again in its new session, after
    // everything this process kept of the old one.
    if (origin !== undefined && this.#reset.has(origin.state)) return;
    const volatile = entry.type === 'broadcast' && entry.volatile;
    const payload = entry.payload;
    // A client session publishes as itself; the server's own publishes are one publisher too,
    // numbered so that one Redis stored but did not answer lands once when it is sent again.
    const publisher = origin?.state ?? this;
    const seq = origin === undefined && !volatile ? ++this.#ownSeq : undefined;
    if (this.#state === 'ok') {
      this.#counters.published++;
      const header = JSON.stringify(headerOf(entry, host.id, false));
      const records = this.#records;
      if (origin !== undefined && records !== undefined) {
        const item = this.#order.sent(publisher, { header, payload, origin });
        void records.inbound(origin.state, origin.seq, header, payload).then((result) => {
          // Unknown outcome (Redis failed mid-call): forwarded later through the same
          // dedup script, so it lands once either way.
          this.#settle(publisher, item, result === false ? undefined : result === true ? ZERO_ID : result);
          origin.state.delivery.confirm(origin.seq);
        });
        return;
      }
      if (volatile) {
        this.#bus.xadd(header, payload).catch((err: unknown) => this.#failed(err));
        return;
      }
      const item = this.#order.sent(publisher, { header, payload, origin: undefined, seq });
      this.#append(item.queued).then(
        (id) => this.#settle(publisher, item, id),
        (err: unknown) => {
          this.#failed(err);
          this.#settle(publisher, item, undefined);
        },
      );
      return;
    }
    if (!volatile && (this.#recovering || this.#order.inDoubt(publisher))) {
      // Something this publisher sent before may still reach this process through the bus:
      // this one follows it there, in order, instead of being delivered here first. Once Redis
      // answers again everything goes that way, behind the kept publishes being forwarded:
      // the new session of a client reset for a loss is not known as the old one's successor.
      this.#order.hold(publisher, {
        header: JSON.stringify(headerOf(entry, host.id, false)),
        payload,
        origin,
        seq,
      });
    } else {
      // Degraded: this process's clients get it now; the others once Redis is back.
      host.deliver(entry, undefined);
      if (!volatile)
        this.#forward.push({ header: JSON.stringify(headerOf(entry, host.id, true)), payload, origin, seq });
    }
    if (origin !== undefined) {
      this.#records?.markDirty(origin.state);
      origin.state.delivery.confirm(origin.seq);
    }
  }

  /** Redis answered a publish (`id`: its place on the bus) or failed (undefined). */
  #settle(publisher: unknown, item: ReturnType<PublishOrder<Origin>['sent']>, id: string | undefined): void {
    if (id !== undefined) this.#loss.saw(id);
    this.#order.settle(publisher, item, id);
  }

  metrics(): AdapterMetrics {
    return { name: this.name, state: this.#state, ...this.#counters, queued: this.#forward.length };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#probe);
    this.#probe = undefined;
    if (this.#state === 'ok') await this.#records?.close();
    else await this.#records?.close().catch(() => {});
    this.#closed = true;
    // Nothing of this process will be sent again: its own publishes need no dedup record.
    if (this.#state === 'ok' && this.#ownSeq > 0)
      await this.#redis.send(['DEL', this.#ownKey]).catch(() => {});
    this.#bus.close();
    this.#forward.clear();
    await this.#redis.close();
  }

  // --- health ---------------------------------------------------------------------------

  #failed(error: unknown): void {
    if (this.#closed || this.#state === 'degraded') return;
    this.#state = 'degraded';
    this.#counters.outages++;
    this.#records?.releaseAll();
    const err = error instanceof Error ? error : new Error(String(error));
    this.#host?.health('degraded', err);
    this.#probe ??= setInterval(() => void this.#recover(), 100);
    this.#probe.unref();
  }

  /** Redis answers again: forward what was published meanwhile, rewrite records, go live. */
  async #recover(): Promise<void> {
    const redis = this.#redis;
    const cmd = redis.cmd;
    if (this.#recovering || this.#closed || this.#state === 'ok' || cmd === undefined || !cmd.isReady) return;
    this.#recovering = true;
    try {
      await redis.loadScripts();
      const report = await this.#loss.check((args) => cmd.sendCommand(args));
      if (report.lost !== undefined) this.#lossError = await this.#lost(report);
      if (this.#bus.position === undefined) await this.#bus.sync();
      await this.#forward.forward((q) => this.#send(q));
      await this.#endReset();
      if (this.#closed) return;
      // Synchronously from here: every rewrite is sent before any later write.
      this.#state = 'ok';
      clearInterval(this.#probe);
      this.#probe = undefined;
      this.#order.recovered();
      this.#records?.resync();
      const lossError = this.#lossError;
      this.#lossError = undefined;
      this.#host?.health('ok', lossError);
    } catch {
      // Still away; the probe tries again.
    } finally {
      this.#recovering = false;
    }
  }

  /**
   * Redis lost what it had acknowledged: bus entries may be missing for any session of this
   * process, and its session records may be gone or stale. Counted, and every session here is
   * reset (its record deleted, its Peer ended, its connection dropped): its client resumes into
   * a new session and gets `sessionlost`, the signal that its stream is not whole. The error
   * is reported with the `adapter` event that ends the recovery.
   */
  async #lost(report: LossReport): Promise<SocklineError> {
    const host = this.#host!;
    this.#counters.losses++;
    // The reader must not wait for ids the bus will now give again.
    if (this.#bus.position !== undefined && compareIds(report.end, this.#bus.position) < 0)
      this.#bus.position = report.end;
    this.#order.reset();
    // Reset before anything is awaited: no publish of these sessions may be delivered here or
    // forwarded ahead of what was kept for them (seen: `…64, 134, 135, 66…` otherwise). Their
    // connections end only once what was kept is on the bus (#endReset): a client that
    // reconnected at once, through a balancer to another process, would otherwise send its
    // later messages there ahead of them (seen behind nginx: `…113, 141, 142, 114…`).
    const states = [...host.sessions()];
    for (const s of states) this.#reset.add(s);
    this.#ending.push(...states);
    return new SocklineError(
      ErrorCodes.SESSION_LOST,
      `Redis lost data it had acknowledged: ${report.lost}. Bus entries may be missing; the ` +
        `${states.length} sessions of this process were reset (their clients get sessionlost). ` +
        'Run Redis with appendonly yes and appendfsync always (docs/scaling.md).',
    );
  }

  /** Ends the sessions reset for a loss: records deleted, Peers ended, connections dropped. */
  async #endReset(): Promise<void> {
    const states = this.#ending;
    if (states.length === 0) return;
    this.#ending = [];
    for (const s of states) this.#moved(s.id);
    const host = this.#host!;
    const records = this.#records;
    if (records !== undefined)
      await Promise.all(
        states.map((s) =>
          this.#redis.run(END, [records.hashKey(s.id), records.listKey(s.id)], [host.id]).catch(() => {}),
        ),
      );
  }

  #send(q: Queued<Origin>): Promise<unknown> {
    if (q.origin !== undefined && this.#records !== undefined)
      return this.#records.inbound(q.origin.state, q.origin.seq, q.header, q.payload).then((stored) => {
        if (stored === false) throw new Error('Redis failed while forwarding');
      });
    return this.#append(q);
  }

  /**
   * Appends a publish without a session record to the bus: the server's own through the
   * dedup script (by its seq), a client's of `sessions: false` as it is. Resolves with its
   * bus id (ZERO_ID when Redis already had it).
   */
  async #append(q: Queued<Origin>): Promise<string> {
    const reply =
      q.seq === undefined
        ? await this.#bus.xadd(q.header, q.payload)
        : await this.#redis.run(
            INBOUND,
            [this.#ownKey, this.#bus.stream],
            [
              String(q.seq),
              's',
              String(this.#o.maxStreamLength),
              String(OWN_TTL),
              q.header,
              asBuffer(q.payload),
            ],
          );
    return typeof reply === 'number' ? ZERO_ID : text(reply);
  }

  #moved(id: string): void {
    this.#records?.forget(id);
    this.#host?.moved(id);
  }
}

/**
 * An adapter that makes several server processes act as one through Redis: publishes,
 * room broadcasts and `server.broadcast` reach every process, and a client can resume its
 * session on any process (docs/scaling.md). Needs the `redis` package (node-redis v6).
 *
 * @example
 * import { createServer } from 'sockline/node';
 * import { redisAdapter } from 'sockline/redis';
 * const server = createServer({ ws: { port: 8080 }, adapter: redisAdapter({ url: 'redis://10.0.0.5:6379' }) });
 * await server.listen();
 */
export function redisAdapter(options: RedisAdapterOptions = {}): Adapter {
  return new RedisAdapter(options);
}
