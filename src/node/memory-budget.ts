import type { SessionState } from '../core/protocol/server-session.js';

/**
 * What one message held for a peer costs besides its bytes: the message record, the queue
 * or replay entry, and the frame's ArrayBuffer, view and backing store. Measured at about
 * 350 bytes in V8 (1,000 silent subscribers of 1 KB publishes: memory retained against bytes
 * counted, bench/cases/memory-budget.mjs); counted so that many small messages weigh what
 * they cost, not only their payloads.
 */
export const MESSAGE_OVERHEAD = 384;

/**
 * The bytes a server holds for one session: its connection's unsent bytes, the messages
 * queued for it, those sent but not acknowledged (plus {@link MESSAGE_OVERHEAD} each), and
 * what its incoming large messages and streams may hold (reserved when they open).
 * An upper bound: a frame both in the replay buffer and in the socket's buffer counts twice,
 * and a payload queued for many sessions (a publish) counts once per session. Not counted: the
 * unused parts of the slabs the session's frames are cut from (at most 8 KiB, see ByteSlab).
 */
export function heldBytes(state: SessionState): number {
  const d = state.delivery;
  return (
    d.bufferedBytes +
    MESSAGE_OVERHEAD * d.outstanding +
    (state.connection?.bufferedAmount ?? 0) +
    state.endpoint.incoming
  );
}

/** What a {@link MemoryBudget} needs of its server. */
export interface BudgetHost {
  /** Every session held: connected, and detached ones waiting for a resume. */
  sessions(): Iterable<SessionState>;
  /** Ends `state` for good to free the `bytes` it holds. */
  shed(state: SessionState, bytes: number): void;
}

/** A sweep at least this often, whatever the traffic (ms). */
const SWEEP_INTERVAL = 250;

/**
 * One memory budget for a whole server (`maxBufferedBytes`): the bytes held for all
 * sessions together, detached ones included, kept under `maxBytes` by shedding the
 * sessions that hold the most, largest first, until the total is back under.
 *
 * Measuring costs a pass over the sessions, so it is not done on every write. A sweep runs
 * every 250 ms, and sooner once `grew` has been told of more than a slack of new bytes
 * (1/64 of the budget, between 64 KiB and 16 MiB): however fast the server queues, the
 * total never passes the budget by more than that slack plus what one event-loop turn queues.
 * The sweep runs from a timer or `setImmediate`, never inside a fan-out, so sessions are not
 * shed in the middle of a delivery loop.
 */
export class MemoryBudget {
  readonly #max: number;
  readonly #slack: number;
  readonly #host: BudgetHost;
  #grown = 0;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(maxBytes: number, host: BudgetHost) {
    this.#max = maxBytes;
    this.#slack = Math.max(64 << 10, Math.min(16 << 20, maxBytes / 64));
    this.#host = host;
  }

  /** Starts the periodic sweep (a timer that does not keep the process alive). */
  start(): void {
    if (this.#max === Infinity || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.sweep(), SWEEP_INTERVAL);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
  }

  /** About `bytes` were just queued for sessions: sweep soon if that adds up to the slack. */
  grew(bytes: number): void {
    if (this.#timer === undefined) return;
    this.#grown += bytes;
    if (this.#grown < this.#slack || this.#immediate !== undefined) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      this.sweep();
    });
  }

  /** The bytes held for every session now. */
  measure(): number {
    let total = 0;
    for (const state of this.#host.sessions()) total += heldBytes(state);
    return total;
  }

  /** Measures, and sheds the largest holders while the total is over the budget. Returns the total. */
  sweep(): number {
    this.#grown = 0;
    let total = this.measure();
    if (total <= this.#max) return total;
    const holders: Array<{ state: SessionState; bytes: number }> = [];
    for (const state of this.#host.sessions()) {
      const bytes = heldBytes(state);
      if (bytes > 0) holders.push({ state, bytes });
    }
    holders.sort((a, b) => b.bytes - a.bytes);
    for (const { state, bytes } of holders) {
      if (total <= this.#max) break;
      total -= bytes;
      this.#host.shed(state, bytes);
    }
    return total;
  }
}
