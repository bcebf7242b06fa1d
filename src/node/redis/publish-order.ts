import { compareIds, maxId, ZERO_ID } from './bus-codec.js';

/** One publish on its way to the bus (or to the forward queue). */
export interface Queued<Origin> {
  readonly header: string;
  readonly payload: Uint8Array;
  /** The client PUBLISH that caused it: forwarded through the dedup script. */
  readonly origin: Origin | undefined;
}

/** A publish of one publisher, in its order: sent to Redis (`pending` until answered) or held. */
interface Item<Origin> {
  readonly queued: Queued<Origin>;
  state: 'pending' | 'stored' | 'failed' | 'held';
}

/** One publisher's publishes that are not known to have reached this process's subscribers yet. */
interface Track<Origin> {
  readonly items: Array<Item<Origin>>;
  /** The newest bus id Redis gave one of its publishes. */
  last: string;
  /** One of its publishes went to the forward queue in this outage: so do all later ones. */
  doubt: boolean;
}

/**
 * Keeps each publisher's order (one client session, or the server itself) across a Redis
 * outage. A publish reaches this process's subscribers through the bus: written to Redis,
 * then read back. While Redis is away a publish is delivered here at once and forwarded later
 * — safe only when nothing the same publisher sent before is still on its way: a publish
 * whose answer never came (Redis may or may not have it), or one Redis stored that the reader
 * has not read back yet. Behind such a one, later publishes of that publisher are not
 * delivered here early: they wait in order (after the unanswered ones, which go to the
 * forward queue when they fail) and reach every process, this one included, through the bus
 * once it is back. (A report saw `…40, 41, 20, 42…` without this: 20 was in flight at the crash.)
 *
 * @example
 * const item = order.sent(session, queued);       // Redis is up
 * call().then((id) => order.settle(session, item, id), () => order.settle(session, item, undefined));
 * if (order.inDoubt(session)) order.hold(session, queued); // Redis is away
 */
export class PublishOrder<Origin> {
  readonly #tracks = new Map<unknown, Track<Origin>>();
  /** Where an item goes once everything before it is settled (the adapter's forward queue). */
  readonly #forward: (queued: Queued<Origin>) => void;
  /** The reader's position on the bus. */
  readonly #position: () => string;

  constructor(forward: (queued: Queued<Origin>) => void, position: () => string) {
    this.#forward = forward;
    this.#position = position;
  }

  /** Publishers with publishes on their way (for tests and metrics). */
  get size(): number {
    return this.#tracks.size;
  }

  /** A publish sent to Redis; settle it with {@link settle}. */
  sent(publisher: unknown, queued: Queued<Origin>): Item<Origin> {
    const item: Item<Origin> = { queued, state: 'pending' };
    this.#track(publisher).items.push(item);
    return item;
  }

  /** Redis answered (`id`: where the publish is on the bus) or failed (undefined: unknown). */
  settle(publisher: unknown, item: Item<Origin>, id: string | undefined): void {
    item.state = id === undefined ? 'failed' : 'stored';
    const track = this.#tracks.get(publisher);
    if (track === undefined) return;
    if (id !== undefined) track.last = maxId(track.last, id);
    this.#drain(publisher, track);
  }

  /** Redis is away: whether `publisher` has a publish that may not have reached this process. */
  inDoubt(publisher: unknown): boolean {
    const track = this.#tracks.get(publisher);
    return (
      track !== undefined &&
      (track.doubt || track.items.length > 0 || compareIds(track.last, this.#position()) > 0)
    );
  }

  /** A publish made while `publisher` is in doubt: forwarded in order, not delivered here early. */
  hold(publisher: unknown, queued: Queued<Origin>): void {
    const track = this.#track(publisher);
    track.items.push({ queued, state: 'held' });
    this.#drain(publisher, track);
  }

  /** The reader moved on: publishers whose publishes all came back are clear. */
  read(): void {
    for (const [publisher, track] of this.#tracks) this.#forget(publisher, track);
  }

  /** Redis is back and the forward queue went out: a new outage starts with no doubts. */
  recovered(): void {
    for (const [publisher, track] of this.#tracks) {
      track.doubt = false;
      this.#forget(publisher, track);
    }
  }

  /** Redis lost what it had: no stored publish will be read back. */
  reset(): void {
    for (const track of this.#tracks.values()) track.last = ZERO_ID;
    this.recovered();
  }

  #track(publisher: unknown): Track<Origin> {
    let track = this.#tracks.get(publisher);
    if (track === undefined)
      this.#tracks.set(publisher, (track = { items: [], last: ZERO_ID, doubt: false }));
    return track;
  }

  /** Moves the settled head of a publisher's items on: failed and held ones to the forward queue. */
  #drain(publisher: unknown, track: Track<Origin>): void {
    const items = track.items;
    let n = 0;
    while (n < items.length && items[n]!.state !== 'pending') {
      const item = items[n++]!;
      if (item.state === 'stored') continue;
      track.doubt = true;
      this.#forward(item.queued);
    }
    if (n > 0) items.splice(0, n);
    this.#forget(publisher, track);
  }

  #forget(publisher: unknown, track: Track<Origin>): void {
    if (track.items.length === 0 && !track.doubt && compareIds(track.last, this.#position()) <= 0)
      this.#tracks.delete(publisher);
  }
}
