import { isVolatileFrame } from '../core/datagram/volatile.js';
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
import { heldBytes } from './memory-budget.js';

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

  constructor(wire: Wire, host: ConnectionHost) {
    this.wire = wire;
    this.#host = host;
    this.session = new ServerSession(this, host.sessionOptions, this);
  }

  // --- ServerConnection: what the session writes -------------------------------------------

  send(frame: Uint8Array): boolean {
    const counters = this.#host.counters;
    // Until a guard exists, what is held is measured once per write, before it: the write
    // adds at most its frame and a framing header, so the check after it is made only when
    // that could take the connection over the limit.
    let guard = this.guard;
    let held = 0;
    if (guard === undefined) {
      held = this.heldBytes;
      guard = this.#guardOver(held);
    }
    if (guard !== undefined) {
      const verdict = guard.admit();
      if (verdict === 'dead') return false;
      if (verdict === 'over' && isVolatileFrame(frame)) {
        counters.drops++;
        return false;
      }
    }
    counters.messagesOut++;
    counters.bytesOut += frame.byteLength;
    const ok = this.wire.send(frame);
    if (guard !== undefined) guard.written();
    else if (held + frame.byteLength + WRITE_OVERHEAD > this.#host.limits.maxOutboundBytes)
      this.#guardOver(this.heldBytes)?.written();
    return ok;
  }

  close(): void {
    this.wire.close();
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

  batch(): boolean {
    return this.wire.batch?.() === true;
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
