import { CloseCodes } from '../core/protocol/frames.js';
import {
  ServerSession,
  type HelloInfo,
  type ServerConnection,
  type ServerSessionHooks,
  type ServerSessionOptions,
  type SessionState,
} from '../core/protocol/server-session.js';
import type { AuthenticateInfo, ResolvedLimits, ServerMetrics } from './server-options.js';
import type { FrameSink, Wire } from './server-listeners.js';
import { OutboundGuard, type Held } from './slow-consumer.js';
import { heldBytes, MESSAGE_OVERHEAD } from './memory-budget.js';

/**
 * A shed connection with at most this many bytes unsent still gets its CLOSE (the client is
 * reading); one with more is cut at once, so what it holds is freed now, not after a close
 * handshake that a client that does not read would never finish.
 */
const SHED_LINGER_BYTES = 64 << 10;

/**
 * What one write adds to the bytes held besides its frame, at most: a length prefix (4 B on
 * TCP/TLS), a WebSocket header (up to 14 B) or a BATCH body length.
 */
const WRITE_OVERHEAD = 64;

/**
 * Write costs (see `send`) that may add up before what is held is measured again, at most: a
 * queue that grows without writes (the replay buffer full) is seen within this much writing.
 */
const HEADROOM_MAX = 64 << 10;

/** The counters of {@link ServerMetrics} a connection moves. */
export type ConnectionCounters = Pick<
  ServerMetrics,
  'messagesIn' | 'messagesOut' | 'bytesIn' | 'bytesOut' | 'drops' | 'slowConsumers'
>;

/** What a {@link Connection} needs of its server: one object per server, shared by its connections. */
export interface ConnectionHost {
  readonly counters: ConnectionCounters;
  readonly limits: ResolvedLimits;
  readonly sessionOptions: ServerSessionOptions;
  readonly authenticate: ((hello: HelloInfo, info: AuthenticateInfo) => unknown) | undefined;
  /** The handshake completed (after WELCOME). */
  opened(conn: Connection, state: SessionState, resumed: boolean): void;
  /** The HELLO was told to come back later: the connection ends, and that is no failure. */
  deferred(conn: Connection, cause: 'admission' | 'lookup'): void;
  /** The wire is gone. */
  dropped(conn: Connection): void;
}

/**
 * @internal One accepted connection: the {@link ServerConnection} its session writes to
 * (counters and the slow-consumer policy in front of the wire), the per-connection hooks of
 * that session, and the {@link FrameSink} its listener reads into. One object with methods
 * on its prototype, not closures per connection: idle connections are many.
 */
export class Connection implements ServerConnection, ServerSessionHooks, FrameSink, Held {
  readonly wire: Wire;
  readonly session: ServerSession;
  /** True until the handshake completes (or the wire is gone). */
  pending = true;
  /** The HELLO was told to come back later (the handshake ends, but not as a failure). */
  deferred = false;
  /**
   * The slow-consumer deadline: made the first time the connection is over
   * `maxOutboundBytes` (until then it has nothing to do), kept from then on.
   */
  guard: OutboundGuard | undefined = undefined;
  readonly #host: ConnectionHost;
  /**
   * What may still be written before the connection could be over `maxOutboundBytes`: the
   * room found when what is held was last measured, less an upper bound of what each write
   * since then added. Measuring costs a walk through the session; this makes it one per many
   * writes while the peer keeps up, and one per write only near the limit.
   */
  #headroom = 0;

  constructor(wire: Wire, host: ConnectionHost) {
    this.wire = wire;
    this.#host = host;
    this.session = new ServerSession(this, host.sessionOptions, this);
  }

  // --- ServerConnection: what the session writes -------------------------------------------

  send(frame: Uint8Array, volatile = false): boolean {
    const guard = this.guard;
    if (guard !== undefined) return this.#sendGuarded(frame, guard, volatile);
    // A write adds at most its frame twice (the replay buffer, the socket's), one message's
    // overhead and a framing header to what is held: while that fits in the headroom, the
    // connection cannot be over the limit and nothing needs measuring.
    const cost = 2 * frame.byteLength + MESSAGE_OVERHEAD + WRITE_OVERHEAD;
    if ((this.#headroom -= cost) < 0) return this.#sendMeasured(frame, cost, volatile);
    const counters = this.#host.counters;
    counters.messagesOut++;
    counters.bytesOut += frame.byteLength;
    return this.wire.send(frame, volatile);
  }

  /** Out of headroom: what is held is measured before the write, and after it if it may be over. */
  #sendMeasured(frame: Uint8Array, cost: number, volatile: boolean): boolean {
    const max = this.#host.limits.maxOutboundBytes;
    const held = this.heldBytes;
    const guard = this.#guardOver(held);
    if (guard !== undefined) return this.#sendGuarded(frame, guard, volatile);
    const counters = this.#host.counters;
    counters.messagesOut++;
    counters.bytesOut += frame.byteLength;
    const ok = this.wire.send(frame, volatile);
    if (held + cost <= max) this.#headroom = Math.min(max - held - cost, HEADROOM_MAX);
    else this.#guardOver(this.heldBytes)?.written();
    return ok;
  }

  /**
   * Once the connection has been over the limit, every write asks the guard: volatile frames
   * are dropped while over, nothing is written once it was found slow.
   */
  #sendGuarded(frame: Uint8Array, guard: OutboundGuard, volatile: boolean): boolean {
    const counters = this.#host.counters;
    const verdict = guard.admit();
    if (verdict === 'dead') return false;
    if (verdict === 'over' && volatile) {
      counters.drops++;
      return false;
    }
    counters.messagesOut++;
    counters.bytesOut += frame.byteLength;
    const ok = this.wire.send(frame, volatile);
    guard.written();
    return ok;
  }

  close(code?: number, reason?: string): void {
    this.wire.close(code, reason);
  }

  get bufferedAmount(): number {
    return this.wire.bufferedAmount;
  }

  /** Everything held for this connection's peer (see `heldBytes`): what the slow-consumer policy counts. */
  get heldBytes(): number {
    const state = this.session.session;
    return state !== null && state.connection === this ? heldBytes(state) : this.wire.bufferedAmount;
  }

  /**
   * Ends the connection of a session shed by the memory budget: with CLOSE 4008 when the
   * client is still reading (little is unsent), at once otherwise.
   */
  shed(reason: string): void {
    if (this.wire.bufferedAmount <= SHED_LINGER_BYTES) {
      this.session.close(CloseCodes.SLOW_CONSUMER, reason);
      return;
    }
    this.wire.destroy();
    this.#host.dropped(this);
  }

  batch(join: (frames: readonly Uint8Array[], bytes: number) => Uint8Array): boolean {
    return this.wire.batch?.(join) === true;
  }

  // --- ServerSessionHooks -------------------------------------------------------------------

  authenticate(hello: HelloInfo): unknown {
    const { wire } = this;
    return this.#host.authenticate?.(hello, {
      transport: wire.transport,
      remoteAddress: wire.remoteAddress,
      headers: wire.headers,
    });
  }

  onSession(state: SessionState, resumed: boolean): void {
    this.#host.opened(this, state, resumed);
  }

  turnedAway(cause: 'admission' | 'lookup'): void {
    this.#host.deferred(this, cause);
  }

  // --- FrameSink: what the wire reads -------------------------------------------------------

  receive(frame: Uint8Array): void {
    const counters = this.#host.counters;
    counters.messagesIn++;
    counters.bytesIn += frame.byteLength;
    this.session.receive(frame);
  }

  /** A frame read in place from a byte stream's chunk (see `FrameReceiver.receiveRange`). */
  receiveRange(chunk: Uint8Array, start: number, end: number): void {
    const counters = this.#host.counters;
    counters.messagesIn++;
    counters.bytesIn += end - start;
    this.session.receiveRange(chunk, start, end);
  }

  closed(): void {
    this.#host.dropped(this);
  }

  drained(): void {
    this.session.drained();
  }

  get handshaking(): boolean {
    return this.pending;
  }

  /**
   * Makes the guard once `held` is over maxOutboundBytes (undefined while it is not).
   * Slow-consumer policy: above maxOutboundBytes held (unsent, queued, unacknowledged),
   * volatile frames are dropped; staying above it for writeDeadline ends the connection (a
   * timer, so it fires even if nothing more is written). A CLOSE 4008 could not get through a
   * full buffer: the connection is dropped and the session stays resumable for when the
   * client reads again (the server's memory budget bounds what it holds meanwhile).
   */
  #guardOver(held: number): OutboundGuard | undefined {
    const { wire } = this;
    const { limits, counters } = this.#host;
    if (held <= limits.maxOutboundBytes) return undefined;
    this.guard = new OutboundGuard(this, limits.maxOutboundBytes, limits.writeDeadline, () => {
      counters.slowConsumers++;
      wire.destroy();
    });
    return this.guard;
  }
}
