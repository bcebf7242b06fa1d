import { createClient, RESP_TYPES, type RedisClientOptions } from 'redis';
import { ErrorCodes, SocklineError } from '../../core/errors.js';
import type { SentFrame } from '../../core/protocol/endpoint/delivery.js';
import type { SessionState } from '../../core/protocol/server-session.js';
import { topicMatches } from '../../core/protocol/topics.js';
import {
  adapterCounters,
  type Adapter,
  type AdapterHost,
  type AdapterMetrics,
  type AdapterState,
  type BusEntry,
  type SessionSharing,
} from '../adapter.js';
import {
  compareIds,
  decodeSent,
  entryOf,
  headerOf,
  maxId,
  parseHeader,
  ZERO_ID,
  type BusHeader,
} from './bus-codec.js';
import { CLAIM, END, INBOUND, SCRIPTS, type Script } from './scripts.js';
import { SessionRecords, type RecordFields, type RecordsLink } from './session-records.js';
import { LossCheck, type LossReport } from './loss-check.js';
import { PublishOrder, type Queued } from './publish-order.js';
import { resolveRedisOptions, type RedisAdapterOptions, type ResolvedRedisOptions } from './redis-options.js';

export { redisAdapterDefaults } from './redis-options.js';
export type { RedisAdapterOptions } from './redis-options.js';

/** The slice of a node-redis client this adapter uses (replies with bulk strings as Buffers). */
interface Connection {
  readonly isReady: boolean;
  sendCommand(args: ReadonlyArray<string | Buffer>): Promise<unknown>;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** The client PUBLISH a bus entry came from. */
interface Origin {
  readonly state: SessionState;
  readonly seq: number;
}

interface Seen {
  readonly id: string;
  readonly entry: BusEntry;
}

/** Live entries read while a resume reads the bus history (bounded). */
interface CatchUp {
  readonly seen: Seen[];
  overflow: boolean;
}

const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;
const EMPTY = new Uint8Array(0);
/** Entries per XREAD / XRANGE. */
const PAGE = 1_000;
/** How long one XREAD blocks, in ms. */
const BLOCK = 1_000;
/**
 * How long the record of the server's own last publish outlives that publish, in ms: a retry
 * after an outage up to this long is recognised (longer: it may land twice).
 */
const OWN_TTL = 86_400_000;

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => {
    setTimeout(r, ms).unref();
  });

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString() : String(value);
}

/** XREAD's reply: a map (RESP3) or an array (RESP2) of one stream's entries. */
function entriesOf(reply: unknown): Array<[unknown, unknown[]]> {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply))
    return ((reply[0] as unknown[] | undefined)?.[1] ?? []) as Array<[unknown, unknown[]]>;
  if (reply instanceof Map) return ([...reply.values()][0] ?? []) as Array<[unknown, unknown[]]>;
  return (Object.values(reply as object)[0] ?? []) as Array<[unknown, unknown[]]>;
}

function field(fields: unknown[], name: string): unknown {
  for (let i = 0; i + 1 < fields.length; i += 2) if (text(fields[i]) === name) return fields[i + 1];
  return undefined;
}

function parseMap(json: string | undefined): Map<string, string> {
  if (json === undefined) return new Map();
  try {
    const o = JSON.parse(json) as Record<string, unknown>;
    return new Map(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return new Map();
  }
}

/**
 * Several server processes as one, through Redis: one stream is the bus every process
 * reads (one order for all publishes, and a history to catch up from), and each session
 * has a record (hash + list of unacknowledged frames, with a TTL) any process can resume
 * it from. See docs/scaling.md.
 */
class RedisAdapter implements Adapter {
  readonly name = 'redis';
  readonly #o: ResolvedRedisOptions;
  readonly #clientOptions: RedisClientOptions | undefined;
  readonly #counters = adapterCounters();
  readonly #forward: Array<Queued<Origin>> = [];
  readonly #catchups = new Set<CatchUp>();
  readonly #stream: string;
  #forwardBytes = 0;
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
  #cmd: Connection | undefined;
  #reader: Connection | undefined;
  #records: SessionRecords | undefined;
  #state: AdapterState = 'ok';
  /** The last bus entry handled here; undefined until known. */
  #position: string | undefined;
  #lookups = 0;
  /** Resumes waiting for the reader to reach a bus position. */
  readonly #waiters = new Set<{ readonly id: string; readonly done: (reached: boolean) => void }>();
  #recovering = false;
  #probe: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly sessions: SessionSharing | undefined;

  constructor(options: RedisAdapterOptions) {
    this.#o = resolveRedisOptions(options);
    this.#clientOptions = options.client;
    this.#stream = `${this.#o.prefix}:bus`;
    this.#order = new PublishOrder(
      (q) => this.#queue(q),
      () => this.#position ?? ZERO_ID,
    );
    this.#loss = new LossCheck(`${this.#o.prefix}:epoch`, this.#stream);
    this.sessions = this.#o.sessions ? this.#sharing() : undefined;
  }

  async open(host: AdapterHost): Promise<void> {
    if (this.#host !== undefined) throw new Error('this adapter is already in use by a server');
    this.#host = host;
    const o = this.#o;
    this.#ownKey = `${o.prefix}:o:${host.id}`;
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
    this.#cmd = cmd;
    this.#reader = reader;
    // Without an 'error' listener node-redis would throw from its emitter.
    cmd.on('error', (err) => this.#failed(err));
    reader.on('error', (err) => this.#failed(err));
    if (this.sessions !== undefined)
      this.#records = new SessionRecords(this.#link(), {
        resumeWindow: host.resumeWindow,
        maxFrames: o.maxSessionFrames,
      });
    const connected = Promise.all([cmd.connect(), reader.connect()]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis not reachable within ${o.connectTimeout} ms`)),
        o.connectTimeout,
      );
    });
    try {
      await Promise.race([connected, timeout]);
      await this.#loadScripts();
      await this.#loss.check((args) => this.#cmd!.sendCommand(args));
      await this.#syncPosition();
    } catch (err) {
      // Keep serving: node-redis goes on trying, and the probe brings the adapter back.
      connected.catch(() => {});
      this.#failed(err);
    } finally {
      clearTimeout(timer);
    }
    void this.#read();
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
        this.#xadd(header, payload).catch((err: unknown) => this.#failed(err));
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
        this.#queue({ header: JSON.stringify(headerOf(entry, host.id, true)), payload, origin, seq });
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
      await this.#cmd?.sendCommand(['DEL', this.#ownKey]).catch(() => {});
    for (const w of this.#waiters) w.done(false);
    this.#counters.dropped += this.#forward.length;
    this.#forward.length = 0;
    this.#forwardBytes = 0;
    const cmd = this.#cmd;
    if (cmd?.isReady) await cmd.close().catch(() => cmd.destroy());
    else if (cmd !== undefined) safely(() => cmd.destroy());
    const reader = this.#reader;
    if (reader !== undefined) safely(() => reader.destroy());
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
    const cmd = this.#cmd;
    if (this.#recovering || this.#closed || this.#state === 'ok' || cmd === undefined || !cmd.isReady) return;
    this.#recovering = true;
    try {
      await this.#loadScripts();
      const report = await this.#loss.check((args) => cmd.sendCommand(args));
      if (report.lost !== undefined) this.#lossError = await this.#lost(report);
      if (this.#position === undefined) await this.#syncPosition();
      while (this.#forward.length > 0) {
        const batch = this.#forward.slice(0, 256);
        await Promise.all(batch.map((q) => this.#send(q)));
        // Publishes went on meanwhile, and the bound may have dropped the oldest: those of this
        // batch, which went out all the same. What is left of it is the head of the queue.
        const left = this.#forward.indexOf(batch[batch.length - 1]!) + 1;
        this.#counters.dropped -= batch.length - left;
        for (const q of this.#forward.splice(0, left))
          this.#forwardBytes -= q.payload.byteLength + q.header.length;
        this.#counters.forwarded += batch.length;
        this.#counters.published += batch.length;
      }
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
    if (this.#position !== undefined && compareIds(report.end, this.#position) < 0)
      this.#position = report.end;
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
          this.#run(END, [records.hashKey(s.id), records.listKey(s.id)], [host.id]).catch(() => {}),
        ),
      );
  }

  #queue(q: Queued<Origin>): void {
    this.#forward.push(q);
    this.#forwardBytes += q.payload.byteLength + q.header.length;
    while (
      this.#forward.length > this.#o.maxForwardMessages ||
      (this.#forwardBytes > this.#o.maxForwardBytes && this.#forward.length > 0)
    ) {
      const dropped = this.#forward.shift()!;
      this.#forwardBytes -= dropped.payload.byteLength + dropped.header.length;
      this.#counters.dropped++;
    }
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
        ? await this.#xadd(q.header, q.payload)
        : await this.#run(
            INBOUND,
            [this.#ownKey, this.#stream],
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

  // --- the bus ----------------------------------------------------------------------------

  #xadd(header: string, payload: Uint8Array): Promise<unknown> {
    const cmd = this.#cmd;
    if (cmd === undefined) return Promise.reject(new Error('the adapter is not open'));
    return cmd.sendCommand([
      'XADD',
      this.#stream,
      'MAXLEN',
      '~',
      String(this.#o.maxStreamLength),
      '*',
      'h',
      header,
      'd',
      asBuffer(payload),
    ]);
  }

  /** Starts reading at the bus's current end (history is for resumes, not for a new process). */
  async #syncPosition(): Promise<void> {
    const last = (await this.#cmd!.sendCommand(['XREVRANGE', this.#stream, '+', '-', 'COUNT', '1'])) as Array<
      [unknown, unknown]
    > | null;
    this.#position = last?.[0] !== undefined ? text(last[0][0]) : ZERO_ID;
  }

  /** The bus position for new sessions and subscriptions (an estimate until it is known). */
  #where(): string {
    return this.#position ?? `${Date.now()}-0`;
  }

  async #read(): Promise<void> {
    const reader = this.#reader!;
    while (!this.#closed) {
      if (!reader.isReady || this.#position === undefined) {
        await sleep(50);
        continue;
      }
      let reply: unknown;
      try {
        reply = await reader.sendCommand([
          'XREAD',
          'COUNT',
          String(PAGE),
          'BLOCK',
          String(BLOCK),
          'STREAMS',
          this.#stream,
          this.#position,
        ]);
      } catch (err) {
        if (this.#closed) return;
        this.#failed(err);
        await sleep(50);
        continue;
      }
      if (this.#closed) return;
      this.#dispatch(entriesOf(reply));
    }
  }

  #dispatch(entries: Array<[unknown, unknown[]]>): void {
    for (const [rawId, fields] of entries) {
      const id = text(rawId);
      this.#counters.received++;
      try {
        this.#handle(id, fields);
      } catch (err) {
        // One bad delivery must not stop the reader (nor be read again): report it, go on.
        this.#host!.error(err instanceof Error ? err : new Error(String(err)));
      }
      this.#position = id;
    }
    if (this.#position !== undefined) this.#loss.saw(this.#position);
    if (entries.length > 0) this.#order.read();
    for (const w of this.#waiters) if (compareIds(this.#position ?? ZERO_ID, w.id) >= 0) w.done(true);
  }

  #handle(id: string, fields: unknown[]): void {
    const host = this.#host!;
    const h = parseHeader(text(field(fields, 'h') ?? ''));
    if (h === undefined) return;
    if (h.t === 'm') {
      if (h.o !== host.id) this.#moved(h.s!);
      return;
    }
    const raw = field(fields, 'd');
    // A copy: the reply buffer is a view of a socket chunk, and payloads are kept.
    const payload = raw instanceof Uint8Array ? new Uint8Array(raw) : EMPTY;
    const entry = entryOf(h, payload)!;
    for (const c of this.#catchups) {
      if (c.seen.length < this.#o.maxCatchUp) c.seen.push({ id, entry });
      else c.overflow = true;
    }
    // Published here while Redis was away: delivered here then.
    if (!(h.l === 1 && h.o === host.id)) host.deliver(entry, id);
  }

  /**
   * Resolves once the reader has handled the bus up to `id` (false after `timeout` ms or on
   * close): from then on, live delivery carries on exactly where a catch-up read ends.
   */
  #reach(id: string, timeout: number): Promise<boolean> {
    if (compareIds(this.#position ?? ZERO_ID, id) >= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = {
        id,
        done: (reached: boolean) => {
          clearTimeout(timer);
          this.#waiters.delete(w);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => w.done(false), timeout);
      this.#waiters.add(w);
    });
  }

  #moved(id: string): void {
    this.#records?.forget(id);
    this.#host?.moved(id);
  }

  // --- sessions ---------------------------------------------------------------------------

  #link(): RecordsLink {
    return {
      me: this.#host!.id,
      healthy: () => this.#state === 'ok' && !this.#closed,
      prefix: this.#o.prefix,
      maxStreamLength: this.#o.maxStreamLength,
      position: () => this.#where(),
      run: (script, keys, args) => this.#run(script, keys, args),
      failed: (err) => this.#failed(err),
    };
  }

  #run(script: Script, keys: readonly string[], args: ReadonlyArray<string | Buffer>): Promise<unknown> {
    const cmd = this.#cmd;
    if (cmd === undefined) return Promise.reject(new Error('the adapter is not open'));
    // No EVAL fallback on NOSCRIPT: a retry would run after commands sent later (and the
    // dedup script would then drop the earlier seq). A failure makes the adapter degraded;
    // recovery loads the scripts again before anything else.
    return cmd.sendCommand(['EVALSHA', script.sha, String(keys.length), ...keys, ...args]);
  }

  /** Loads every script (at start, and after an outage: a restarted Redis has none). */
  async #loadScripts(): Promise<void> {
    await Promise.all(SCRIPTS.map((s) => this.#cmd!.sendCommand(['SCRIPT', 'LOAD', s.source])));
  }

  #sharing(): SessionSharing {
    const records = (): SessionRecords | undefined => this.#records;
    return {
      durable: true,
      created: (s) => records()?.created(s),
      attached: (s) => records()?.attached(s),
      detached: (s) => records()?.detached(s),
      subscribed: (s, p) => records()?.subscribed(s, p),
      unsubscribed: (s, p) => records()?.unsubscribed(s, p),
      sent: (s, seq, frame, message) => records()?.sent(s, seq, frame, message),
      acknowledged: (s, seq) => records()?.acknowledged(s, seq),
      received: (s, seq) => this.#received(s, seq),
      joined: (s, room) => records()?.joined(s, room),
      left: (s, room) => records()?.left(s, room),
      ended: (s) => records()?.ended(s),
      lookup: (id, lastSeq) => this.#lookup(id, lastSeq),
    };
  }

  /** A sequenced DATA message was handled: acknowledged once its seq is in the record. */
  #received(state: SessionState, seq: number): void {
    const records = this.#records;
    if (records === undefined || this.#state !== 'ok') {
      records?.markDirty(state);
      state.delivery.confirm(seq);
      return;
    }
    void records.inbound(state, seq).then((stored) => {
      if (stored === false) records.markDirty(state);
      state.delivery.confirm(seq);
    });
  }

  #lookup(id: string, lastSeq: number): Promise<SessionState | undefined> | null {
    // While Redis is away no record can be read: the client gets a new session (sessionlost).
    if (this.#records === undefined || this.#state !== 'ok' || this.#closed)
      return Promise.resolve(undefined);
    if (this.#lookups >= this.#o.maxLookups) {
      this.#counters.lookupsRefused++;
      return null;
    }
    this.#lookups++;
    return this.#adopt(id, lastSeq).finally(() => void this.#lookups--);
  }

  /**
   * Takes a session over: claims its record, rebuilds its delivery state (the frames the
   * client may not have, numbered as before), then queues what the bus carried for it
   * since — read from the stream, then the live entries that arrived meanwhile.
   */
  async #adopt(id: string, lastSeq: number): Promise<SessionState | undefined> {
    const host = this.#host!;
    const records = this.#records!;
    const catchUp: CatchUp = { seen: [], overflow: false };
    this.#catchups.add(catchUp);
    try {
      const reply = (await this.#run(CLAIM, [records.hashKey(id), records.listKey(id)], [host.id])) as
        [unknown[], unknown[]] | null;
      if (reply === null || !Array.isArray(reply)) return undefined;
      const [flat, elements] = reply;
      const record = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) record.set(text(flat[i]), text(flat[i + 1]));
      const frames: SentFrame[] = [];
      for (const e of elements) {
        const f = e instanceof Uint8Array ? decodeSent(e) : undefined;
        if (f === undefined) continue;
        frames.push({
          seq: f.seq,
          frame: f.frame,
          message: {
            topic: undefined,
            kind: 'binary',
            payload: EMPTY,
            original: undefined,
            source: f.source,
          },
        });
      }
      // The process that had it lets go of it.
      this.#xadd(JSON.stringify({ t: 'm', o: host.id, s: id } satisfies BusHeader), EMPTY).catch(() => {});
      const fields: RecordFields = {
        born: record.get('born') ?? ZERO_ID,
        pos: record.get('pos') ?? '',
        subs: parseMap(record.get('subs')),
        rooms: parseMap(record.get('rooms')),
      };
      let start = maxId(fields.born, fields.pos === '' ? ZERO_ID : fields.pos);
      for (const f of frames) if (f.message.source !== undefined) start = maxId(start, f.message.source);
      const history = await this.#history(start);
      // The reader may lag behind what the history read: entries up to its end must not
      // also reach the session live. Wait until the reader is past it (entries it handles
      // meanwhile land in catchUp.seen).
      if (!(await this.#reach(history.last, this.#o.connectTimeout))) return undefined;

      const state = host.createState(id);
      const last = frames.length > 0 ? frames[frames.length - 1]!.seq : 0;
      state.delivery.restore({
        nextSeq: Math.max(Number(record.get('ack') ?? 0), last, lastSeq) + 1,
        received: Number(record.get('in') ?? 0),
        replay: frames,
      });
      for (const pattern of fields.subs.keys()) state.subscribe(pattern);
      for (const s of history.seen) if (this.#wanted(fields, s)) host.enqueue(state, s.entry, s.id);
      for (const s of catchUp.seen)
        if (compareIds(s.id, history.last) > 0 && this.#wanted(fields, s)) host.enqueue(state, s.entry, s.id);
      if (history.gap || catchUp.overflow) this.#counters.gaps++;
      records.adopted(state, fields, frames);
      host.adopt(state, [...fields.rooms.keys()]);
      this.#counters.adopted++;
      return state;
    } finally {
      this.#catchups.delete(catchUp);
    }
  }

  /** The bus after `start`, at most `maxCatchUp` entries; `gap` if some may be missing. */
  async #history(start: string): Promise<{ seen: Seen[]; last: string; gap: boolean }> {
    const seen: Seen[] = [];
    let last = start;
    const first = (await this.#cmd!.sendCommand(['XRANGE', this.#stream, '-', '+', 'COUNT', '1'])) as Array<
      [unknown, unknown[]]
    >;
    let gap = start !== ZERO_ID && first.length > 0 && compareIds(text(first[0]![0]), start) > 0;
    for (;;) {
      const page = (await this.#cmd!.sendCommand([
        'XRANGE',
        this.#stream,
        `(${last}`,
        '+',
        'COUNT',
        String(PAGE),
      ])) as Array<[unknown, unknown[]]>;
      for (const [rawId, f] of page) {
        const id = text(rawId);
        last = id;
        const h = parseHeader(text(field(f, 'h') ?? ''));
        if (h === undefined || h.t === 'm') continue;
        const raw = field(f, 'd');
        seen.push({ id, entry: entryOf(h, raw instanceof Uint8Array ? new Uint8Array(raw) : EMPTY)! });
      }
      if (page.length < PAGE) break;
      if (seen.length >= this.#o.maxCatchUp) {
        gap = true;
        break;
      }
    }
    return { seen, last, gap };
  }

  /** Whether a bus entry was meant for a session, judged by its record. */
  #wanted(fields: RecordFields, s: Seen): boolean {
    const e = s.entry;
    if (e.type === 'publish') {
      for (const [pattern, since] of fields.subs)
        if (compareIds(s.id, since) > 0 && topicMatches(pattern, e.topic)) return true;
      return false;
    }
    if (e.volatile) return false;
    if (e.room === undefined) return compareIds(s.id, fields.born) > 0;
    const since = fields.rooms.get(e.room);
    return since !== undefined && compareIds(s.id, since) > 0;
  }
}

function safely(f: () => void): void {
  try {
    f();
  } catch {
    // Already closed.
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
