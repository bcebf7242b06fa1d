import type { OutgoingMessage, SentFrame } from '../../core/protocol/endpoint/delivery.js';
import type { SessionState } from '../../core/protocol/server-session.js';
import { encodeSent } from './bus-codec.js';
import { END, INBOUND, MAX_FRAMES_PER_CALL, SYNC, type Script } from './scripts.js';

/** What the session records need from the adapter around them. */
export interface RecordsLink {
  /** This process's id: the `owner` of the records it holds. */
  readonly me: string;
  /** Whether Redis is reachable now (writes are skipped, and redone later, while it is not). */
  healthy(): boolean;
  /** The bus position this process has delivered up to. */
  position(): string;
  run(script: Script, keys: readonly string[], args: ReadonlyArray<string | Buffer>): Promise<unknown>;
  /** A command failed: Redis is unreachable. */
  failed(error: unknown): void;
  /** Key prefix: the bus is `prefix:bus`, a session `prefix:s:ID` and `prefix:s:ID:out`. */
  readonly prefix: string;
  readonly maxStreamLength: number;
}

/** The parts of a session record kept in Redis besides the delivery state. */
export interface RecordFields {
  born: string;
  pos: string;
  subs: Map<string, string>;
  rooms: Map<string, string>;
}

/** One local session whose changes are written to its record in Redis. */
interface Tracked extends RecordFields {
  readonly state: SessionState;
  readonly hash: string;
  readonly list: string;
  /** Stream ids of the unacknowledged frames that came from the bus, oldest first. */
  sources: Array<{ seq: number; source: string }>;
  /** Frames (list elements) waiting for the next flush, and the highest seq among them. */
  elements: Buffer[];
  top: number;
  fields: Map<string, string>;
  ack: number | undefined;
  /** Frames up to this seq are in Redis: they may be written to the client. */
  persisted: number;
  /** Frames held back until they are in Redis (write-ahead), in seq order. */
  held: Array<{ seq: number; frame: Uint8Array }>;
  /** Writes were skipped while Redis was unreachable: rewrite the whole record. */
  dirty: boolean;
}

const json = (m: Map<string, string>): string => JSON.stringify(Object.fromEntries(m));

/**
 * The session side of the Redis adapter: every change of a local session goes to its
 * record as it happens (a dead process hands nothing over). Frames to a client are
 * written to it only once they are in its record, so a process that takes the session
 * over knows every frame the client may have. Writes are batched per event-loop turn:
 * one script call per changed session.
 */
export class SessionRecords {
  readonly #link: RecordsLink;
  readonly #resumeWindow: number;
  readonly #liveTtl: number;
  readonly #maxList: number;
  readonly #tracked = new Map<string, Tracked>();
  readonly #due = new Set<Tracked>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #scheduled: ReturnType<typeof setImmediate> | undefined;
  #refresh: ReturnType<typeof setInterval> | undefined;

  constructor(link: RecordsLink, options: { resumeWindow: number; maxFrames: number }) {
    this.#link = link;
    this.#resumeWindow = options.resumeWindow;
    const every = Math.max(50, Math.min(options.resumeWindow / 3, 10_000));
    this.#liveTtl = options.resumeWindow + 3 * every;
    this.#maxList = options.maxFrames;
    // A connected session's record must outlive its TTL: refresh it while the client stays.
    this.#refresh = setInterval(() => {
      for (const t of this.#tracked.values()) if (t.state.connection !== null) this.#schedule(t);
    }, every);
    this.#refresh.unref();
  }

  get size(): number {
    return this.#tracked.size;
  }

  has(id: string): boolean {
    return this.#tracked.has(id);
  }

  /** A new session: its record is created with the next flush. */
  created(state: SessionState): void {
    const t = this.#track(state, {
      born: this.#link.position(),
      pos: '',
      subs: new Map(),
      rooms: new Map(),
    });
    t.fields.set('owner', this.#link.me).set('born', t.born).set('subs', '{}').set('rooms', '{}');
    // Made while Redis is away: the whole record is written once it is back.
    if (!this.#link.healthy()) t.dirty = true;
    this.#schedule(t);
  }

  /** Something changed that could not be written (Redis away): rewrite the record later. */
  markDirty(state: SessionState): void {
    const t = this.#get(state);
    if (t !== undefined) t.dirty = true;
  }

  /** A session taken over from another process, its record already claimed. */
  adopted(state: SessionState, fields: RecordFields, frames: readonly SentFrame[]): void {
    const t = this.#track(state, fields);
    for (const f of frames)
      if (f.message.source !== undefined) t.sources.push({ seq: f.seq, source: f.message.source });
    t.persisted = state.delivery.nextSeq - 1;
  }

  /** Forgets a session here without touching its record (another process has it now). */
  forget(id: string): void {
    const t = this.#tracked.get(id);
    if (t === undefined) return;
    this.#tracked.delete(id);
    this.#due.delete(t);
    if (t.state.gate !== null) t.state.gate = null;
  }

  /** The session ended for good: its record is deleted (unless another process owns it). */
  ended(state: SessionState): void {
    const t = this.#tracked.get(state.id);
    if (t === undefined || t.state !== state) return;
    this.forget(state.id);
    if (this.#link.healthy())
      this.#track$(this.#link.run(END, [t.hash, t.list], [this.#link.me])).catch((err: unknown) =>
        this.#link.failed(err),
      );
  }

  attached(state: SessionState): void {
    const t = this.#get(state);
    if (t !== undefined) this.#schedule(t);
  }

  detached(state: SessionState): void {
    const t = this.#get(state);
    if (t !== undefined) this.#schedule(t);
  }

  subscribed(state: SessionState, pattern: string): void {
    const t = this.#get(state);
    if (t === undefined || t.subs.has(pattern)) return;
    t.subs.set(pattern, this.#link.position());
    t.fields.set('subs', json(t.subs));
    this.#schedule(t);
  }

  unsubscribed(state: SessionState, pattern: string): void {
    const t = this.#get(state);
    if (t === undefined || !t.subs.delete(pattern)) return;
    t.fields.set('subs', json(t.subs));
    this.#schedule(t);
  }

  joined(state: SessionState, room: string): void {
    const t = this.#get(state);
    if (t === undefined || t.rooms.has(room)) return;
    t.rooms.set(room, this.#link.position());
    t.fields.set('rooms', json(t.rooms));
    this.#schedule(t);
  }

  left(state: SessionState, room: string): void {
    const t = this.#get(state);
    if (t === undefined || !t.rooms.delete(room)) return;
    t.fields.set('rooms', json(t.rooms));
    this.#schedule(t);
  }

  sent(state: SessionState, seq: number, frame: Uint8Array, message: OutgoingMessage): void {
    const t = this.#get(state);
    if (t === undefined) return;
    if (message.source !== undefined) t.sources.push({ seq, source: message.source });
    if (!this.#link.healthy() || t.dirty) {
      t.dirty = true;
      return;
    }
    t.elements.push(encodeSent(seq, message.source, frame));
    t.top = seq;
    this.#schedule(t);
  }

  acknowledged(state: SessionState, seq: number): void {
    const t = this.#get(state);
    if (t === undefined) return;
    let n = 0;
    while (n < t.sources.length && t.sources[n]!.seq <= seq) n++;
    if (n > 0) {
      t.pos = t.sources[n - 1]!.source;
      t.sources = t.sources.slice(n);
      t.fields.set('pos', t.pos);
    }
    t.ack = seq;
    t.fields.set('ack', String(seq));
    this.#schedule(t);
  }

  /**
   * Records an inbound seq (with the publish it caused, if any) atomically. Resolves with the
   * publish's bus id once it is in Redis, true when nothing was added to the bus (a DATA
   * message, or a retransmission Redis already had), false if Redis failed (the outcome is
   * then unknown).
   */
  inbound(
    state: SessionState,
    seq: number,
    header?: string,
    payload?: Uint8Array,
  ): Promise<string | boolean> {
    const t = this.#get(state);
    const hash = t?.hash ?? this.hashKey(state.id);
    const mode = header === undefined ? 'd' : 'p';
    const args = [
      String(seq),
      mode,
      String(this.#link.maxStreamLength),
      String(this.#liveTtl),
      header ?? '',
      payload === undefined ? '' : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
    ];
    return this.#track$(this.#link.run(INBOUND, [hash, `${this.#link.prefix}:bus`], args)).then(
      (reply) => (typeof reply === 'number' ? true : String(reply)),
      (err: unknown) => {
        this.#link.failed(err);
        return false;
      },
    );
  }

  /** The write-ahead gate of a tracked session (see `WriteGate`). */
  #admit(t: Tracked, seq: number, frame: Uint8Array): boolean {
    if (!this.#link.healthy() || t.dirty || seq <= t.persisted) return true;
    const last = t.held.length > 0 ? t.held[t.held.length - 1]!.seq : t.persisted;
    if (seq > last) t.held.push({ seq, frame });
    return false;
  }

  /** Redis is back: every record written while it was away is rewritten in full. */
  resync(): void {
    for (const t of this.#tracked.values()) {
      if (!t.dirty) continue;
      this.#schedule(t);
    }
    this.flush();
  }

  /** Redis is gone: nothing is held back any more (and nothing in flight will land). */
  releaseAll(): void {
    for (const t of this.#tracked.values()) {
      t.dirty = true;
      t.elements = [];
      this.#release(t, Infinity);
    }
  }

  hashKey(id: string): string {
    return `${this.#link.prefix}:s:${id}`;
  }

  listKey(id: string): string {
    return `${this.hashKey(id)}:out`;
  }

  /** Writes what is due now. */
  flush(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    if (!this.#link.healthy()) return;
    const due = [...this.#due];
    this.#due.clear();
    for (const t of due) {
      if (this.#tracked.get(t.state.id) !== t) continue;
      if (t.dirty) this.#rewrite(t);
      else this.#sync(t);
    }
  }

  /** Flushes, waits for every write in flight, stops the refresh timer. */
  async close(): Promise<void> {
    clearInterval(this.#refresh);
    this.#refresh = undefined;
    this.flush();
    await Promise.allSettled([...this.#inFlight]);
    for (const t of this.#tracked.values()) this.#release(t, Infinity);
  }

  #track(state: SessionState, fields: RecordFields): Tracked {
    const t: Tracked = {
      state,
      hash: this.hashKey(state.id),
      list: this.listKey(state.id),
      ...fields,
      sources: [],
      elements: [],
      top: 0,
      fields: new Map(),
      ack: undefined,
      persisted: state.delivery.nextSeq - 1,
      held: [],
      dirty: false,
    };
    this.#tracked.set(state.id, t);
    state.gate = { admit: (seq, frame) => this.#admit(t, seq, frame) };
    return t;
  }

  #get(state: SessionState): Tracked | undefined {
    const t = this.#tracked.get(state.id);
    return t !== undefined && t.state === state ? t : undefined;
  }

  #schedule(t: Tracked): void {
    this.#due.add(t);
    this.#scheduled ??= setImmediate(() => this.flush());
  }

  #ttl(t: Tracked): string {
    return String(t.state.connection !== null ? this.#liveTtl : this.#resumeWindow);
  }

  #sync(t: Tracked): void {
    const fields: string[] = [];
    for (const [k, v] of t.fields) fields.push(k, v);
    t.fields.clear();
    const ack = t.ack === undefined ? '' : String(t.ack);
    t.ack = undefined;
    const elements = t.elements;
    t.elements = [];
    const top = t.top;
    this.#calls(t, ack, fields, elements, top);
  }

  /** The whole record again: after an outage, or when Redis lost it (a restart). */
  #rewrite(t: Tracked): void {
    const d = t.state.delivery;
    const unacked = d.unacknowledged();
    t.dirty = false;
    t.fields.clear();
    t.ack = undefined;
    t.elements = [];
    t.sources = [];
    for (const f of unacked)
      if (f.message.source !== undefined) t.sources.push({ seq: f.seq, source: f.message.source });
    const first = unacked[0]?.seq ?? d.nextSeq;
    const fields = [
      'owner',
      this.#link.me,
      'in',
      String(d.received),
      'ack',
      String(first - 1),
      'pos',
      t.pos,
      'born',
      t.born,
      'subs',
      json(t.subs),
      'rooms',
      json(t.rooms),
    ];
    const elements = unacked.map((f) => encodeSent(f.seq, f.message.source, f.frame));
    this.#calls(t, 'r', fields, elements, d.nextSeq - 1);
  }

  #calls(t: Tracked, ack: string, fields: string[], elements: Buffer[], top: number): void {
    const keys = [t.hash, t.list];
    const ttl = this.#ttl(t);
    const max = String(this.#maxList);
    let i = 0;
    let first = true;
    do {
      const chunk = elements.slice(i, i + MAX_FRAMES_PER_CALL);
      i += chunk.length;
      const args = [this.#link.me, ttl, first ? ack : '', max, String(first ? fields.length / 2 : 0)];
      const call = this.#link.run(SYNC, keys, [...args, ...(first ? fields : []), ...chunk]);
      first = false;
      const last = i >= elements.length;
      this.#track$(call).then(
        (result) => {
          if (!last) return;
          if (result === 0) {
            // Another process owns the record now: this copy is stale.
            this.forget(t.state.id);
            this.#release(t, Infinity);
            return;
          }
          if (top > t.persisted) t.persisted = top;
          this.#release(t, t.persisted);
        },
        (err: unknown) => {
          this.#link.failed(err);
          t.dirty = true;
          this.#release(t, Infinity);
        },
      );
    } while (i < elements.length);
  }

  /** Writes held frames up to `seq` to the session's connection, in order. */
  #release(t: Tracked, seq: number): void {
    let n = 0;
    while (n < t.held.length && t.held[n]!.seq <= seq) {
      t.state.connection?.send(t.held[n]!.frame);
      n++;
    }
    if (n > 0) t.held = n === t.held.length ? [] : t.held.slice(n);
  }

  #track$<T>(p: Promise<T>): Promise<T> {
    this.#inFlight.add(p);
    const done = (): void => void this.#inFlight.delete(p);
    p.then(done, done);
    return p;
  }
}
