import type { SocklineError } from '../../errors.js';

/** What `due` finds at a time: nothing, a PING to write (its nonce), or a connection silent too long. */
export const DEAD = -1;

/**
 * The periods of a {@link Heartbeat}: the same for every connection of a server, so one object
 * its connections share rather than fields in each.
 */
export interface HeartbeatTiming {
  /** A PING every `interval` ms (0: none but the first). */
  readonly interval: number;
  /** Silence after which the peer is dead, in ms; 0: a lower layer watches it (the client's link). */
  readonly silence: number;
}

/**
 * The heartbeat of one connection (docs/protocol.md §8): a PING every `interval` ms whose
 * PONG measures the round trip, `ping()` on demand, and, where this side watches the peer,
 * the end of a connection silent for `silence` ms. Made when a connection opens, dropped
 * when it ends: a session waiting for a resume holds none. No timers: its owner asks for the
 * `deadline` and calls `due(now)`.
 */
export class Heartbeat {
  readonly #timing: HeartbeatTiming;
  /** When the last frame came (while `watching`): any frame is a sign of life. */
  lastHeard: number;
  #pingDue: number;
  #nonce = 0;
  /** The nonce of the last heartbeat PING while its PONG is awaited (0: none), and when it left. */
  #beat = 0;
  #beatSent = 0;
  /** `ping()` calls waiting for their PONG; made on the first. */
  #pings: Map<number, { sent: number; resolve: (rtt: number) => void; reject: (e: unknown) => void }> | null =
    null;

  /** `firstPing`: when the first PING is due (a client pings at once, a server after an interval). */
  constructor(now: number, timing: HeartbeatTiming, firstPing: number) {
    this.#timing = timing;
    this.lastHeard = now;
    this.#pingDue = firstPing;
  }

  /** Whether this side ends a silent connection itself, and so notes when each frame came. */
  get watching(): boolean {
    return this.#timing.silence > 0;
  }

  /** When `due` has something to do: the next PING, or the end of the silence. */
  get deadline(): number {
    const { silence } = this.#timing;
    const silent = silence > 0 ? this.lastHeard + silence : Infinity;
    return silent < this.#pingDue ? silent : this.#pingDue;
  }

  /**
   * What is due at `now`: {@link DEAD} when the peer has been silent `silence` ms, the nonce
   * of a PING to write now (the next one is then due an interval later), or 0 for nothing.
   */
  due(now: number): number {
    const { interval, silence } = this.#timing;
    if (silence > 0 && now - this.lastHeard >= silence) return DEAD;
    if (now < this.#pingDue) return 0;
    this.#pingDue = interval > 0 ? now + interval : Infinity;
    this.#beat = ++this.#nonce;
    this.#beatSent = now;
    return this.#beat;
  }

  /** How long the peer has been silent at `now`, in ms. */
  silentFor(now: number): number {
    return now - this.lastHeard;
  }

  /** A PING of `ping()`: its nonce, and the promise its PONG resolves with the round trip. */
  ping(now: number): { nonce: number; promise: Promise<number> } {
    const nonce = ++this.#nonce;
    const pings = (this.#pings ??= new Map());
    const promise = new Promise<number>((resolve, reject) =>
      pings.set(nonce, { sent: now, resolve, reject }),
    );
    return { nonce, promise };
  }

  /** A PONG: the round trip it measures, or undefined when it answers no PING of ours. */
  pong(nonce: number, now: number): number | undefined {
    if (nonce === this.#beat && nonce !== 0) {
      this.#beat = 0;
      return now - this.#beatSent;
    }
    const ping = this.#pings?.get(nonce);
    if (ping === undefined) return undefined;
    this.#pings!.delete(nonce);
    ping.resolve(now - ping.sent);
    return now - ping.sent;
  }

  /** The connection ended: every `ping()` still waiting rejects with `error`. */
  stop(error: SocklineError): void {
    const pings = this.#pings;
    if (pings === null || pings.size === 0) return;
    const waiting = [...pings.values()];
    pings.clear();
    for (const p of waiting) p.reject(error);
  }
}
