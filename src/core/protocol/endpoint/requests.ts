import { ErrorCodes, SocklineError } from '../../errors.js';
import { decodePayload, type Codec } from '../codec.js';
import type { PayloadKind, ResponseFrame } from '../frames.js';
import { encodeFrame } from '../frames-encode.js';
import { responseError } from '../rpc.js';
import { compacted } from './compact.js';
import type { EndpointHost } from './host.js';

/** One request of this side: waiting to be written, or written and waiting for its RESPONSE. */
interface Request {
  readonly id: number;
  readonly method: string;
  /** The REQUEST frame, encoded once when the request was made. */
  readonly frame: Uint8Array;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** Its timeout in ms, and when it runs out (Infinity: never). */
  readonly timeout: number;
  readonly deadline: number;
  /** Written on the current connection (it takes a slot of the peer's `maxInFlight`). */
  written: boolean;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The request table (docs/protocol.md §9), the same for both roles: ids that never collide
 * with one still outstanding, a cap on outstanding requests, a deadline each, abort signals,
 * and every request settled exactly once, whatever happens.
 *
 * At most `window` requests are written at once (the peer's `maxInFlight` from WELCOME); the
 * others wait in order and are written as answers come back. The table has no timers: its
 * owner asks for the earliest `deadline` and calls `expire(now)`.
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
   * Registers a request and returns its promise; `next()` hands its frame out in turn. Throws
   * `ERR_TOO_MANY_REQUESTS` at the cap and `ERR_ABORTED` for a signal that already fired; a
   * frame over `frameLimit` rejects with `ERR_FRAME_TOO_LARGE` and is never written.
   */
  open(
    method: string,
    kind: PayloadKind,
    payload: Uint8Array,
    frameLimit: number,
    now: number,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    if (signal?.aborted) throw abortError(method, signal);
    if (this.#pending.size >= this.#max) {
      throw new SocklineError(ErrorCodes.TOO_MANY_REQUESTS, `${this.#max} requests are already outstanding`);
    }
    const id = this.#allocateId();
    const frame = encodeFrame({ type: 'request', id, method, kind, payload });
    if (frame.byteLength > frameLimit) {
      throw new SocklineError(
        ErrorCodes.FRAME_TOO_LARGE,
        `request "${method}" of ${frame.byteLength} bytes is over maxFrameSize (${frameLimit} bytes)`,
      );
    }
    const deadline = now + timeout;
    let request!: Request;
    const promise = new Promise<unknown>((resolve, reject) => {
      request = {
        id,
        method,
        frame,
        resolve,
        reject,
        timeout,
        deadline,
        written: false,
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

  /** The next frame to write, if one waits and the window has room; it counts as written. */
  next(): Uint8Array | undefined {
    if (this.#written >= this.window) return undefined;
    const waiting = this.#waiting;
    while (this.#head < waiting.length) {
      const request = waiting[this.#head];
      waiting[this.#head++] = undefined;
      if (request === undefined || this.#pending.get(request.id) !== request) continue;
      request.written = true;
      this.#written++;
      this.#compact();
      return request.frame;
    }
    this.#compact();
    return undefined;
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
    if (frame.error !== undefined) return this.reject(id, responseError(frame, codec));
    try {
      return this.resolve(id, decodePayload(frame.kind, frame.payload, codec));
    } catch (err) {
      return this.reject(id, err);
    }
  }

  /** Settles request `id` with a result; false if it is not outstanding (late or unknown). */
  resolve(id: number, value: unknown): boolean {
    const request = this.#take(id);
    request?.resolve(value);
    return request !== undefined;
  }

  reject(id: number, error: unknown): boolean {
    const request = this.#take(id);
    request?.reject(error);
    return request !== undefined;
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
   * The connection ended: written requests may or may not have been handled, so they are
   * rejected with `error`; waiting ones stay for the next connection (`keepWaiting`) or are
   * rejected too.
   */
  detached(error: SocklineError, keepWaiting: boolean): void {
    for (const request of [...this.#pending.values()]) {
      if (request.written || !keepWaiting) this.reject(request.id, error);
    }
    this.#written = 0;
  }

  /** Rejects everything outstanding (the endpoint closed). */
  rejectAll(error: SocklineError): void {
    for (const id of [...this.#pending.keys()]) this.reject(id, error);
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
