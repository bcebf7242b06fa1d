import type { SentFrame } from '../../core/protocol/endpoint/delivery.js';
import type { SessionState } from '../../core/protocol/server-session.js';
import { topicMatches } from '../../core/protocol/topics.js';
import type { AdapterHost, SessionSharing } from '../adapter.js';
import { compareIds, decodeSent, maxId, ZERO_ID, type BusHeader } from './bus-codec.js';
import { text, type RedisConnections } from './connections.js';
import { CLAIM } from './scripts.js';
import type { RecordFields, SessionRecords } from './session-records.js';
import { EMPTY, type CatchUp, type Seen, type StreamBus } from './stream-bus.js';

/** What session sharing needs from the adapter around it. */
export interface SharingLink {
  /** The server, once the adapter is open. */
  host(): AdapterHost;
  /** The session records, once the adapter is open (with `sessions: true`). */
  records(): SessionRecords | undefined;
  /** Whether Redis answers now (the adapter is `ok`). */
  ok(): boolean;
  /** Whether the adapter is closed. */
  closed(): boolean;
  readonly counters: { lookupsRefused: number; adopted: number; gaps: number };
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
 * Sessions shared through Redis: the hooks the server calls on every change of a session
 * (written to its record, see {@link SessionRecords}), and the lookup that lets any process
 * resume a session another one held: it claims the record, rebuilds the delivery state and
 * queues what the bus carried for the session since (its history, then the live entries that
 * came meanwhile). Lookups in flight are bounded (`maxLookups`): beyond, the client retries.
 *
 * @example
 * const sharing = new SharedSessions(redis, bus, options, link).hooks();
 * createServer({ adapter }); // the server calls sharing.created(state), sharing.lookup(id, seq)…
 */
export class SharedSessions {
  readonly #redis: RedisConnections;
  readonly #bus: StreamBus;
  readonly #link: SharingLink;
  readonly #maxLookups: number;
  /** How long a resume waits for the reader to catch up with the history it read, in ms. */
  readonly #reachTimeout: number;
  #lookups = 0;

  constructor(
    redis: RedisConnections,
    bus: StreamBus,
    options: { readonly maxLookups: number; readonly connectTimeout: number },
    link: SharingLink,
  ) {
    this.#redis = redis;
    this.#bus = bus;
    this.#link = link;
    this.#maxLookups = options.maxLookups;
    this.#reachTimeout = options.connectTimeout;
  }

  /** The hooks the server calls (`adapter.sessions`). */
  hooks(): SessionSharing {
    const records = (): SessionRecords | undefined => this.#link.records();
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
    const records = this.#link.records();
    if (records === undefined || !this.#link.ok()) {
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
    const link = this.#link;
    if (link.records() === undefined || !link.ok() || link.closed()) return Promise.resolve(undefined);
    if (this.#lookups >= this.#maxLookups) {
      this.#link.counters.lookupsRefused++;
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
    const host = this.#link.host();
    const records = this.#link.records()!;
    const bus = this.#bus;
    const catchUp: CatchUp = { seen: [], overflow: false };
    bus.catchups.add(catchUp);
    try {
      const reply = (await this.#redis.run(CLAIM, [records.hashKey(id), records.listKey(id)], [host.id])) as
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
      bus.xadd(JSON.stringify({ t: 'm', o: host.id, s: id } satisfies BusHeader), EMPTY).catch(() => {});
      const fields: RecordFields = {
        born: record.get('born') ?? ZERO_ID,
        pos: record.get('pos') ?? '',
        subs: parseMap(record.get('subs')),
        rooms: parseMap(record.get('rooms')),
      };
      let start = maxId(fields.born, fields.pos === '' ? ZERO_ID : fields.pos);
      for (const f of frames) if (f.message.source !== undefined) start = maxId(start, f.message.source);
      const history = await bus.history(start);
      // The reader may lag behind what the history read: entries up to its end must not
      // also reach the session live. Wait until the reader is past it (entries it handles
      // meanwhile land in catchUp.seen).
      if (!(await bus.reach(history.last, this.#reachTimeout))) return undefined;

      const state = host.createState(id);
      const last = frames.length > 0 ? frames[frames.length - 1]!.seq : 0;
      state.delivery.restore({
        nextSeq: Math.max(Number(record.get('ack') ?? 0), last, lastSeq) + 1,
        received: Number(record.get('in') ?? 0),
        replay: frames,
      });
      for (const pattern of fields.subs.keys()) state.subscribe(pattern);
      for (const s of history.seen) if (wanted(fields, s)) host.enqueue(state, s.entry, s.id);
      for (const s of catchUp.seen)
        if (compareIds(s.id, history.last) > 0 && wanted(fields, s)) host.enqueue(state, s.entry, s.id);
      if (history.gap || catchUp.overflow) this.#link.counters.gaps++;
      records.adopted(state, fields, frames);
      host.adopt(state, [...fields.rooms.keys()]);
      this.#link.counters.adopted++;
      return state;
    } finally {
      bus.catchups.delete(catchUp);
    }
  }
}

/** Whether a bus entry was meant for a session, judged by its record. */
function wanted(fields: RecordFields, s: Seen): boolean {
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
