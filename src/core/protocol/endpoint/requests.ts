import { ErrorCodes, SocklineError } from '../../errors.js';
import { decodePayload, type Codec } from '../codec.js';
import type { PayloadKind, ResponseFrame } from '../frames.js';
import { responseError } from '../rpc.js';
import { compacted } from './compact.js';
import type { EndpointHost } from './host.js';

/** One request of this side: waiting to be written, or written and waiting for its RESPONSE. */
export interface Request {
  readonly id: number;
  readonly method: string;
  readonly kind: PayloadKind;
  readonly payload: Uint8Array;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** Its timeout in ms, and when it runs out (Infinity: never). */
  readonly timeout: number;
  readonly deadline: number;
  /** Handed out by `next()`: it takes a slot of the peer's `maxInFlight` until it settles. */
  written: boolean;
  /**
   * Its REQUEST got a sequence number: it left this side, and the peer runs it exactly once
   * unless the session is lost. Until then it can still be withdrawn (never run).
   */
  sent: boolean;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The request table (docs/protocol.md §9), the same for both roles: ids that never collide
 * with one still outstanding, a cap on outstanding requests, a deadline each, abort signals,
 * and every request settled exactly once, whatever happens.
 *
 * Requests ride the session: a REQUEST is sequenced, so it survives a reconnect, and only a
 * lost session (`lost`) or the end of the endpoint fails one that left. Each error without an
 * answer says, in `sent`, whether the request left this side (then the peer may have run it,
 * or may still run it) or not (then it never runs).
 *
 * At most `window` requests are written at once (the peer's `maxInFlight` from WELCOME); the
 * others wait in order and are handed out (`next`) as answers come back. The table has no
 * timers: its owner asks for the earliest `deadline` and calls `expire(now)`.
 */
export class RequestTable {
  readonly #max: number;
  /** Called when a written request settled without a response (abort): a slot is free. */
  readonly #freed: () => void;
  /** Asked why a request that times out waited, when the reason is not the peer's. */
  readonly #host: Pick<EndpointHost, 'stalled'>;
  readonly #pending = new Map<number, Request>();
  /** Not yet written, oldest first; entries settled meanwhile are skipped. */
  #waiting: Array<Request | undefined> = [];
  #head = 0;
  #written = 0;
  /**
   * No later than the earliest deadline of an outstanding request: lowered as requests come,
   * recomputed when `expire` runs. A request that settles early leaves it early, which costs
   * one wake-up that finds nothing due, never a late timeout.
   */
  #earliest = Infinity;
  #nextId = 1;
  /** How many requests may be written at once: the peer's `maxInFlight`. */
  window = Infinity;

  constructor(maxOutstanding: number, freed: () => void, host: Pick<EndpointHost, 'stalled'>) {
    this.#max = maxOutstanding;
    this.#freed = freed;
    this.#host = host;
  }

  /** Requests outstanding: written or waiting. */
  get size(): number {
    return this.#pending.size;
  }

  /** When `expire` has something to do, at the earliest; Infinity when no request has a deadline. */
  get deadline(): number {
    return this.#earliest;
  }

  /**
   * Registers a request and returns its promise; `next()` hands it out in turn. Throws
   * `ERR_TOO_MANY_REQUESTS` at the cap and `ERR_ABORTED` for a signal that already fired.
   */
  open(
    method: string,
    kind: PayloadKind,
    payload: Uint8Array,
    now: number,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    if (signal?.aborted) throw unsent(abortError(method, signal));
    if (this.#pending.size >= this.#max) {
      throw unsent(
        new SocklineError(ErrorCodes.TOO_MANY_REQUESTS, `${this.#max} requests are already outstanding`),
      );
    }
    const id = this.#allocateId();
    const deadline = now + timeout;
    let request!: Request;
    const promise = new Promise<unknown>((resolve, reject) => {
      request = {
        id,
        method,
        kind,
        payload,
        resolve,
        reject,
        timeout,
        deadline,
        written: false,
        sent: false,
        signal,
        onAbort: undefined,
      };
    });
    this.#pending.set(id, request);
    this.#waiting.push(request);
    if (deadline < this.#earliest) this.#earliest = deadline;
    if (signal) {
      request.onAbort = () => {
        const written = request.written;
        if (this.reject(id, abortError(method, signal)) && written) this.#freed();
      };
      signal.addEventListener('abort', request.onAbort, { once: true });
    }
    return promise;
  }

  /**
   * The next request to write, if one waits and the window has room: it counts as written.
   * The caller numbers it at once (`sent`), or hands it to what sends large messages.
   */
  next(): Request | undefined {
    if (this.#written >= this.window) return undefined;
    const waiting = this.#waiting;
    while (this.#head < waiting.length) {
      const request = waiting[this.#head];
      waiting[this.#head++] = undefined;
      if (request === undefined || this.#pending.get(request.id) !== request) continue;
      request.written = true;
      this.#written++;
      this.#compact();
      return request;
    }
    this.#compact();
    return undefined;
  }

  /** Whether `request` is still outstanding (not settled, timed out or aborted). */
  live(request: Request): boolean {
    return this.#pending.get(request.id) === request;
  }

  /**
   * Settles the request a RESPONSE answers: its decoded result, or its error by the RPC error
   * contract (`responseError`: sockline's own code as a SocklineError of that code, the
   * application's as a RemoteError with its data); a result that cannot be decoded fails that
   * request only. False when it is not outstanding (late or unknown): the RESPONSE is ignored.
   */
  settle(frame: ResponseFrame, codec: Codec): boolean {
    const id = frame.id;
    if (!this.#pending.has(id)) return false;
    if (frame.error !== undefined) return this.reject(id, responseError(frame, codec), true);
    try {
      return this.resolve(id, decodePayload(frame.kind, frame.payload, codec));
    } catch (err) {
      return this.reject(id, err, true);
    }
  }

  /** Settles request `id` with a result; false if it is not outstanding (late or unknown). */
  resolve(id: number, value: unknown): boolean {
    const request = this.#take(id);
    request?.resolve(value);
    return request !== undefined;
  }

  /**
   * Rejects request `id`. An error that is not an answer of the peer is marked with `sent`:
   * whether the REQUEST had left this side.
   */
  reject(id: number, error: unknown, answered = false): boolean {
    const request = this.#take(id);
    if (request === undefined) return false;
    if (!answered && error instanceof SocklineError && error.sent === undefined) error.sent = request.sent;
    request.reject(error);
    return true;
  }

  /**
   * Rejects every request whose deadline is at or before `now` with `ERR_REQUEST_TIMEOUT`.
   * Returns whether a written one was among them (a slot of the window is free).
   */
  expire(now: number): boolean {
    if (now < this.#earliest) return false;
    let freed = false;
    let earliest = Infinity;
    for (const request of [...this.#pending.values()]) {
      const { method, timeout, deadline } = request;
      if (deadline > now) {
        if (deadline < earliest) earliest = deadline;
        continue;
      }
      freed ||= request.written;
      const stall = this.#host.stalled?.();
      this.reject(
        request.id,
        new SocklineError(
          ErrorCodes.REQUEST_TIMEOUT,
          `request "${method}" timed out after ${timeout} ms${stall === undefined ? '' : `: ${stall.note}`}`,
          stall?.cause === undefined ? undefined : { cause: stall.cause },
        ),
      );
    }
    this.#earliest = earliest;
    return freed;
  }

  /**
   * The peer lost the session: requests that left this side reject with `error` (they may have
   * run there, and will not run again); those that had not are sent in the new session.
   */
  lost(error: (request: Request) => SocklineError): void {
    for (const request of [...this.#pending.values()]) {
      if (request.sent) this.reject(request.id, error(request));
    }
  }

  /** Rejects everything outstanding (the endpoint closed). */
  rejectAll(error: (request: Request) => SocklineError): void {
    for (const request of [...this.#pending.values()]) this.reject(request.id, error(request));
    this.#written = 0;
  }

  #take(id: number): Request | undefined {
    const request = this.#pending.get(id);
    if (request === undefined) return undefined;
    this.#pending.delete(id);
    if (request.written) this.#written--;
    if (this.#pending.size === 0) this.#earliest = Infinity;
    if (request.signal && request.onAbort) request.signal.removeEventListener('abort', request.onAbort);
    return request;
  }

  /** Ids grow and wrap before 2^31; an id still outstanding is skipped, never reused. */
  #allocateId(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id >= 0x7fffffff ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
  }

  #compact(): void {
    const waiting = compacted(this.#waiting, this.#head);
    if (waiting !== this.#waiting) {
      this.#waiting = waiting;
      this.#head = 0;
    }
  }
}

function abortError(method: string, signal: AbortSignal): SocklineError {
  return new SocklineError(ErrorCodes.ABORTED, `request "${method}" was aborted`, { cause: signal.reason });
}

/** An error of a request that never left this side. */
function unsent(error: SocklineError): SocklineError {
  error.sent = false;
  return error;
}
