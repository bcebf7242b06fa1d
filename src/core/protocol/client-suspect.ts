import type { Clock, TimerHandle } from '../clock.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import type { Endpoint } from './endpoint/endpoint.js';

/**
 * A client's connection while it is suspect: the runtime said the network went away (the
 * browser's `offline`), so the socket may have died without a sign, and what is written into
 * it could be lost with it — every request then failing together when the network returns.
 * Until the connection is checked, nothing that matters is written:
 *
 * - sequenced frames (messages, requests, responses, the frames of streams) are numbered and
 *   kept for replay as usual, but held here instead of written: the session resends them
 *   itself if the connection turns out dead, so exactly once holds either way;
 * - volatile messages are dropped (now or never: now, there is no network);
 * - acks, pings and pongs still go: losing them costs nothing.
 *
 * `probe()` checks the connection when the network is back: a PING, answered within
 * `timeout` (the connection lives: what was held is written, in order, and requests go out)
 * or not (it is dead: the client ends it and reconnects, and the session's resume carries
 * the held messages and waiting requests over to the new connection).
 */
export class SuspectConnection {
  readonly #endpoint: Endpoint;
  readonly #clock: Clock;
  readonly #timeout: number;
  /** Sequenced frames held, in the order they were written. */
  #held: Uint8Array[] = [];
  #probe: TimerHandle | undefined;
  /** The connection ended or was released: this object does nothing more. */
  #over = false;

  constructor(endpoint: Endpoint, clock: Clock, timeout: number) {
    this.#endpoint = endpoint;
    this.#clock = clock;
    this.#timeout = timeout;
  }

  /**
   * What must not go into the connection: a volatile frame (dropped: false) or a sequenced
   * one (held: true). Undefined for any other frame, which is written as usual.
   */
  take(frame: Uint8Array, seq: number | undefined, volatile: boolean | undefined): boolean | undefined {
    if (volatile === true) return false;
    if (seq === undefined) return undefined;
    this.#held.push(frame);
    return true;
  }

  /**
   * Checks the connection: `verdict(true)` when the PING is answered within the timeout,
   * `verdict(false)` when it is not; nothing if the connection ends first. One probe at a time.
   */
  probe(verdict: (alive: boolean) => void): void {
    if (this.#over || this.#probe !== undefined) return;
    const settle = (alive: boolean): void => {
      if (this.#over || this.#probe === undefined) return;
      this.#clock.clearTimeout(this.#probe);
      this.#probe = undefined;
      verdict(alive);
    };
    this.#probe = this.#clock.setTimeout(() => settle(false), this.#timeout);
    // A PING that fails has failed because the connection ended: the disconnect says so.
    this.#endpoint.ping().then(
      () => settle(true),
      () => {},
    );
  }

  /** The connection answered: what was held goes out, in order. */
  release(write: (frame: Uint8Array) => void): void {
    const held = this.#held;
    this.#over = true;
    this.#held = [];
    for (const frame of held) write(frame);
  }

  /**
   * The connection ended, after its endpoint detached: what was held is forgotten (the
   * session replays it on the next connection), and the probe is dropped.
   */
  end(): void {
    this.#over = true;
    this.#held = [];
    if (this.#probe !== undefined) this.#clock.clearTimeout(this.#probe);
    this.#probe = undefined;
  }

  /** The error of a connection that did not answer its probe. */
  get failure(): SocklineError {
    return new SocklineError(
      ErrorCodes.HEARTBEAT_TIMEOUT,
      `no answer to a PING within ${this.#timeout} ms after the network came back`,
    );
  }
}
