import type { AdapterHost, BusEntry } from '../adapter.js';
import { compareIds, entryOf, parseHeader, ZERO_ID } from './bus-codec.js';
import { asBuffer, text, type RedisConnections } from './connections.js';

/** A bus entry with its stream id. */
export interface Seen {
  readonly id: string;
  readonly entry: BusEntry;
}

/** Live entries read while a resume reads the bus history (bounded). */
export interface CatchUp {
  readonly seen: Seen[];
  overflow: boolean;
}

/** What the bus needs from the adapter around it. */
export interface BusLink {
  /** The server, once the adapter is open. */
  host(): AdapterHost;
  /** Whether the adapter is closed: the reader stops. */
  closed(): boolean;
  /** A command failed: Redis is unreachable. */
  failed(error: unknown): void;
  /** Another process took session `id` over (a move marker on the bus). */
  moved(id: string): void;
  /** The reader handled entries up to `id` (a page of them, in order). */
  read(id: string | undefined, entries: number): void;
  readonly counters: { received: number };
}

export const EMPTY = new Uint8Array(0);
/** Entries per XREAD / XRANGE. */
const PAGE = 1_000;
/** How long one XREAD blocks, in ms. */
const BLOCK = 1_000;

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => {
    setTimeout(r, ms).unref();
  });

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

/**
 * The bus: one Redis stream (`prefix:bus`) that every process appends its publishes to and
 * reads back, so all of them deliver in one order. One reader loop per process (XREAD,
 * blocking, from the last entry it handled) hands each entry to the server; resumes read
 * the history behind it (XRANGE) and wait until the reader has caught up with what they
 * read, so a session gets every entry once, from the history or live.
 *
 * @example
 * const bus = new StreamBus(redis, options, link);
 * await bus.sync();     // start at the current end
 * void bus.run();       // the reader loop, until the adapter closes
 */
export class StreamBus {
  readonly #redis: RedisConnections;
  readonly #link: BusLink;
  readonly #maxStreamLength: number;
  readonly #maxCatchUp: number;
  /** The stream's key. */
  readonly stream: string;
  /** The last bus entry handled here; undefined until known. */
  position: string | undefined;
  /** Resumes reading the history: live entries are copied to them meanwhile. */
  readonly catchups = new Set<CatchUp>();
  /** Resumes waiting for the reader to reach a bus position. */
  readonly #waiters = new Set<{ readonly id: string; readonly done: (reached: boolean) => void }>();

  constructor(
    redis: RedisConnections,
    options: { readonly prefix: string; readonly maxStreamLength: number; readonly maxCatchUp: number },
    link: BusLink,
  ) {
    this.#redis = redis;
    this.#link = link;
    this.stream = `${options.prefix}:bus`;
    this.#maxStreamLength = options.maxStreamLength;
    this.#maxCatchUp = options.maxCatchUp;
  }

  /** Appends an entry (trimmed to about `maxStreamLength`); resolves with its id. */
  xadd(header: string, payload: Uint8Array): Promise<unknown> {
    return this.#redis.send([
      'XADD',
      this.stream,
      'MAXLEN',
      '~',
      String(this.#maxStreamLength),
      '*',
      'h',
      header,
      'd',
      asBuffer(payload),
    ]);
  }

  /** Starts reading at the bus's current end (history is for resumes, not for a new process). */
  async sync(): Promise<void> {
    const last = (await this.#redis.cmd!.sendCommand([
      'XREVRANGE',
      this.stream,
      '+',
      '-',
      'COUNT',
      '1',
    ])) as Array<[unknown, unknown]> | null;
    this.position = last?.[0] !== undefined ? text(last[0][0]) : ZERO_ID;
  }

  /** The bus position for new sessions and subscriptions (an estimate until it is known). */
  where(): string {
    return this.position ?? `${Date.now()}-0`;
  }

  /** The reader loop: runs until the adapter closes, waiting out outages. */
  async run(): Promise<void> {
    const reader = this.#redis.reader!;
    const link = this.#link;
    while (!link.closed()) {
      if (!reader.isReady || this.position === undefined) {
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
          this.stream,
          this.position,
        ]);
      } catch (err) {
        if (link.closed()) return;
        link.failed(err);
        await sleep(50);
        continue;
      }
      if (link.closed()) return;
      this.#dispatch(entriesOf(reply));
    }
  }

  /**
   * Resolves once the reader has handled the bus up to `id` (false after `timeout` ms or on
   * close): from then on, live delivery carries on exactly where a catch-up read ends.
   */
  reach(id: string, timeout: number): Promise<boolean> {
    if (compareIds(this.position ?? ZERO_ID, id) >= 0) return Promise.resolve(true);
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

  /** The adapter closes: no waiting resume will see the reader reach its position. */
  close(): void {
    for (const w of this.#waiters) w.done(false);
  }

  /** The bus after `start`, at most `maxCatchUp` entries; `gap` if some may be missing. */
  async history(start: string): Promise<{ seen: Seen[]; last: string; gap: boolean }> {
    const cmd = this.#redis.cmd!;
    const seen: Seen[] = [];
    let last = start;
    const first = (await cmd.sendCommand(['XRANGE', this.stream, '-', '+', 'COUNT', '1'])) as Array<
      [unknown, unknown[]]
    >;
    let gap = start !== ZERO_ID && first.length > 0 && compareIds(text(first[0]![0]), start) > 0;
    for (;;) {
      const page = (await cmd.sendCommand([
        'XRANGE',
        this.stream,
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
      if (seen.length >= this.#maxCatchUp) {
        gap = true;
        break;
      }
    }
    return { seen, last, gap };
  }

  #dispatch(entries: Array<[unknown, unknown[]]>): void {
    const link = this.#link;
    for (const [rawId, fields] of entries) {
      const id = text(rawId);
      link.counters.received++;
      try {
        this.#handle(id, fields);
      } catch (err) {
        // One bad delivery must not stop the reader (nor be read again): report it, go on.
        link.host().error(err instanceof Error ? err : new Error(String(err)));
      }
      this.position = id;
    }
    link.read(this.position, entries.length);
    for (const w of this.#waiters) if (compareIds(this.position ?? ZERO_ID, w.id) >= 0) w.done(true);
  }

  #handle(id: string, fields: unknown[]): void {
    const host = this.#link.host();
    const h = parseHeader(text(field(fields, 'h') ?? ''));
    if (h === undefined) return;
    if (h.t === 'm') {
      if (h.o !== host.id) this.#link.moved(h.s!);
      return;
    }
    const raw = field(fields, 'd');
    // A copy: the reply buffer is a view of a socket chunk, and payloads are kept.
    const payload = raw instanceof Uint8Array ? new Uint8Array(raw) : EMPTY;
    const entry = entryOf(h, payload)!;
    for (const c of this.catchups) {
      if (c.seen.length < this.#maxCatchUp) c.seen.push({ id, entry });
      else c.overflow = true;
    }
    // Published here while Redis was away: delivered here then.
    if (!(h.l === 1 && h.o === host.id)) host.deliver(entry, id);
  }
}
