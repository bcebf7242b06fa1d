/** What the guard needs of a connection: the bytes held for its peer. */
export interface Held {
  /**
   * Everything the server holds for the peer: bytes written but not yet handed to the
   * operating system (joined-write buffer included), messages queued for it, and messages
   * sent but not yet acknowledged (see `heldBytes` in memory-budget.ts).
   */
  readonly heldBytes: number;
}

/**
 * The server's bounded-memory policy for one connection (`maxOutboundBytes`, `writeDeadline`
 * in ServerOptions): above `maxBytes` held, volatile frames are dropped; staying above it
 * for `deadline` ms calls `onSlow` once (the server counts a slow consumer and drops the
 * connection).
 *
 * Held counts everything, not only the socket's buffer: a peer that reads but never
 * acknowledges (its replay buffer and queue fill while the socket stays empty) is as slow as
 * one that stops reading.
 *
 * The deadline is a timer armed when the connection goes over the limit, not a check made
 * on the next write: a session that writes nothing more (a peer that stopped reading, a long
 * heartbeat interval, a ping cut off by a heartbeat timeout) is still dropped on time.
 * The socket part counts the bytes of the current tick's joined write as well as the
 * socket's, so what a burst queues in one tick counts at once.
 */
export class OutboundGuard {
  readonly #held: Held;
  readonly #maxBytes: number;
  readonly #deadline: number;
  readonly #onSlow: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dead = false;

  constructor(held: Held, maxBytes: number, deadline: number, onSlow: () => void) {
    this.#held = held;
    this.#maxBytes = maxBytes;
    this.#deadline = deadline;
    this.#onSlow = onSlow;
  }

  /**
   * Before a frame is written: `ok`; `over` the limit (volatile frames are dropped, the
   * deadline runs); `dead` once the connection was found slow (write nothing more).
   */
  admit(): 'ok' | 'over' | 'dead' {
    if (this.#dead) return 'dead';
    if (this.#held.heldBytes > this.#maxBytes) {
      this.#arm();
      return 'over';
    }
    this.#disarm();
    return 'ok';
  }

  /** After a frame was written: the deadline starts if that write took the connection over. */
  written(): void {
    if (this.#timer === undefined && !this.#dead && this.#held.heldBytes > this.#maxBytes) this.#arm();
  }

  /** The connection is gone: the deadline no longer matters. */
  dispose(): void {
    this.#dead = true;
    this.#disarm();
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(this.#expire, this.#deadline);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #expire = (): void => {
    this.#timer = undefined;
    if (this.#dead || this.#held.heldBytes <= this.#maxBytes) return;
    this.#dead = true;
    this.#onSlow();
  };
}
