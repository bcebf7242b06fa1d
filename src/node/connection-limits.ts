import { addressKey } from './addresses.js';

/** The limits a {@link ConnectionLimits} enforces (see `ServerOptions` for each). */
export interface ConnectionLimitOptions {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxPendingHandshakes: number;
  readonly maxPendingHandshakesPerIp: number;
}

/** The limit that turned a connection away, as its refusal names it. */
export type RefusalLimit =
  'maxConnections' | 'maxPendingHandshakes' | 'maxConnectionsPerIp' | 'maxPendingHandshakesPerIp' | 'closing';

/**
 * Why a connection was turned away, and when to come back: what a WebSocket upgrade answers
 * with HTTP 429 (`perAddress`) or 503 and `Retry-After`, and a TCP/TLS/UDP connection with
 * CLOSE 1013 and `reconnectAfter` (team contract: refusals on connect).
 */
export interface Refusal {
  readonly refused: RefusalLimit;
  /** The client's own address is over its share (HTTP 429); otherwise the server is full (503). */
  readonly perAddress: boolean;
  /** When to try again, in ms (jittered, so refused clients do not return together). */
  readonly retryAfter: number;
  /** One line for the CLOSE reason / HTTP body. */
  readonly reason: string;
}

/**
 * The base of `retryAfter` by limit, in ms; the value given is drawn from [base, 2 × base].
 * A handshake slot frees within milliseconds in normal operation (and within
 * `handshakeTimeout` at worst); a connection slot only when a client leaves.
 */
const RETRY_BASE: Readonly<Record<RefusalLimit, number>> = {
  maxPendingHandshakes: 1_000,
  maxPendingHandshakesPerIp: 1_000,
  maxConnections: 5_000,
  maxConnectionsPerIp: 5_000,
  closing: 1_000,
};

const REASONS: Readonly<Record<RefusalLimit, string>> = {
  maxConnections: 'server full (maxConnections)',
  maxPendingHandshakes: 'too many handshakes in progress (maxPendingHandshakes)',
  maxConnectionsPerIp: 'too many connections from this address (maxConnectionsPerIp)',
  maxPendingHandshakesPerIp: 'too many handshakes in progress from this address (maxPendingHandshakesPerIp)',
  closing: 'server closing',
};

/** Connections and handshakes counted for one address key. */
interface PerAddress {
  connections: number;
  pending: number;
}

/** Whether `x` is a refusal rather than a ticket. */
export const isRefusal = (x: Ticket | Refusal): x is Refusal => 'refused' in x;

/**
 * Every connection the server holds, from its first byte (an HTTP request not yet an
 * upgrade, a PROXY header not yet read, a TLS handshake) to its end, counted against the
 * global limits and, once its client's address is known, that address's share. Two
 * per-address limits, apart on purpose: a small one on handshakes in progress (silent
 * sockets from one address cannot fill the server's handshake slots, so clients from other
 * addresses still get in) and a large one on connections (one backend or load-test host
 * may hold thousands of established sessions).
 *
 * @example
 * const limits = new ConnectionLimits({ maxConnections: 10_000, maxConnectionsPerIp: 5_000,
 *   maxPendingHandshakes: 1_000, maxPendingHandshakesPerIp: 100 });
 * const t = limits.reserve('192.0.2.1');
 * if (isRefusal(t)) refuse(t); else { ...; t.opened(); ...; t.release(); }
 */
export class ConnectionLimits {
  readonly #o: ConnectionLimitOptions;
  readonly #random: () => number;
  readonly #perAddress = new Map<string, PerAddress>();
  #connections = 0;
  #pending = 0;

  constructor(options: ConnectionLimitOptions, random: () => number = Math.random) {
    this.#o = options;
    this.#random = random;
  }

  /** Connections held (handshaking ones included). */
  get connections(): number {
    return this.#connections;
  }

  /** Connections whose handshake is not complete (HTTP request, PROXY header, TLS, HELLO). */
  get pending(): number {
    return this.#pending;
  }

  /** Address keys with at least one connection (for tests and metrics). */
  get addresses(): number {
    return this.#perAddress.size;
  }

  /**
   * Counts a new connection from `address`, or refuses it. `null`: the address is not known
   * yet (a trusted proxy speaks first); only the global limits apply until `locate`.
   */
  reserve(address: string | null): Ticket | Refusal {
    const o = this.#o;
    if (this.#connections >= o.maxConnections) return this.refusal('maxConnections');
    if (this.#pending >= o.maxPendingHandshakes) return this.refusal('maxPendingHandshakes');
    const ticket = new Ticket(this);
    this.#connections++;
    this.#pending++;
    if (address === null) return ticket;
    const refusal = this.locate(ticket, address);
    if (refusal !== undefined) {
      ticket.release();
      return refusal;
    }
    return ticket;
  }

  /** A refusal for `limit`, with a jittered `retryAfter`. */
  refusal(limit: RefusalLimit): Refusal {
    const base = RETRY_BASE[limit];
    return {
      refused: limit,
      perAddress: limit === 'maxConnectionsPerIp' || limit === 'maxPendingHandshakesPerIp',
      retryAfter: Math.ceil(base * (1 + this.#random())),
      reason: REASONS[limit],
    };
  }

  /** @internal See {@link Ticket.locate}. */
  locate(ticket: Ticket, address: string): Refusal | undefined {
    if (ticket.key !== null) throw new Error('the ticket has an address already');
    const key = addressKey(address);
    const o = this.#o;
    const entry = this.#perAddress.get(key);
    if (entry !== undefined) {
      if (entry.connections >= o.maxConnectionsPerIp) return this.refusal('maxConnectionsPerIp');
      const pendingCap = Math.min(o.maxPendingHandshakesPerIp, o.maxPendingHandshakes);
      if (ticket.pending && entry.pending >= pendingCap) return this.refusal('maxPendingHandshakesPerIp');
    }
    const counted = entry ?? { connections: 0, pending: 0 };
    if (entry === undefined) this.#perAddress.set(key, counted);
    counted.connections++;
    if (ticket.pending) counted.pending++;
    ticket.key = key;
    return undefined;
  }

  /** @internal See {@link Ticket.opened}. */
  opened(ticket: Ticket): void {
    this.#pending--;
    const entry = ticket.key === null ? undefined : this.#perAddress.get(ticket.key);
    if (entry !== undefined) entry.pending--;
  }

  /** @internal See {@link Ticket.release}. */
  released(ticket: Ticket): void {
    this.#connections--;
    if (ticket.pending) this.#pending--;
    if (ticket.key === null) return;
    const entry = this.#perAddress.get(ticket.key);
    if (entry === undefined) return;
    entry.connections--;
    if (ticket.pending) entry.pending--;
    if (entry.connections === 0) this.#perAddress.delete(ticket.key);
  }
}

/** One connection's place in the {@link ConnectionLimits}, from reservation to release. */
export class Ticket {
  /** The address key it counts under; null until known. */
  key: string | null = null;
  /** True until the handshake completes (or the ticket is released). */
  pending = true;
  #limits: ConnectionLimits | null;

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  /**
   * The client's address became known (a proxy named it): counts the connection under it,
   * or refuses it (the caller then ends the connection and releases the ticket).
   */
  locate(address: string): Refusal | undefined {
    return this.#limits?.locate(this, address);
  }

  /** The handshake completed: the connection no longer counts as pending. */
  opened(): void {
    if (!this.pending || this.#limits === null) return;
    this.#limits.opened(this);
    this.pending = false;
  }

  /** The connection is gone (idempotent). */
  release(): void {
    const limits = this.#limits;
    if (limits === null) return;
    this.#limits = null;
    limits.released(this);
    this.pending = false;
  }
}
