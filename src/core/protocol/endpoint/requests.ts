import { unrefTimer, type Clock, type TimerHandle } from '../clock.js';
import { ErrorCodes, SocklineError } from '../errors.js';

interface Pending {
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Requests in flight: ids that never collide with one still pending, a cap, a timeout
 * each, abort signals — and every request settles exactly once, whatever happens.
 */
export class PendingRequests {
  readonly #clock: Clock;
  readonly #max: number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #unref = false;

  constructor(clock: Clock, maxInFlight: number) {
    this.#clock = clock;
    this.#max = maxInFlight;
  }

  get size(): number {
    return this.#pending.size;
  }

  unref(): void {
    this.#unref = true;
  }

  /**
   * Registers a request and returns its id and promise. Throws `ERR_TOO_MANY_REQUESTS` at
   * the cap and `ERR_ABORTED` for a signal that already fired.
   */
  open(
    method: string,
    timeout: number,
    signal: AbortSignal | undefined,
  ): { id: number; promise: Promise<unknown> } {
    if (signal?.aborted) throw abortError(method, signal);
    if (this.#pending.size >= this.#max) {
      throw new SocklineError(ErrorCodes.TOO_MANY_REQUESTS, `${this.#max} requests are already in flight`);
    }
    const id = this.#allocateId();
    let entry!: Pending;
    const promise = new Promise<unknown>((resolve, reject) => {
      entry = { method, resolve, reject, timer: undefined, signal, onAbort: undefined };
    });
    this.#pending.set(id, entry);
    if (timeout !== Infinity) {
      entry.timer = this.#clock.setTimeout(() => {
        entry.timer = undefined;
        this.reject(
          id,
          new SocklineError(ErrorCodes.REQUEST_TIMEOUT, `request "${method}" timed out after ${timeout} ms`),
        );
      }, timeout);
      if (this.#unref) unrefTimer(entry.timer);
    }
    if (signal) {
      entry.onAbort = () => this.reject(id, abortError(method, signal));
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    return { id, promise };
  }

  /** Settles request `id` with a result; false if no such request is pending (late or unknown). */
  resolve(id: number, value: unknown): boolean {
    const entry = this.#take(id);
    entry?.resolve(value);
    return entry !== undefined;
  }

  reject(id: number, error: unknown): boolean {
    const entry = this.#take(id);
    entry?.reject(error);
    return entry !== undefined;
  }

  /** Rejects every request except those in `keep` (not yet written, so not lost). */
  rejectExcept(keep: ReadonlyMap<number, unknown>, error: SocklineError): void {
    for (const id of [...this.#pending.keys()]) if (!keep.has(id)) this.reject(id, error);
  }

  /** Rejects everything in flight (the connection or the client closed). */
  rejectAll(error: SocklineError): void {
    for (const id of [...this.#pending.keys()]) this.reject(id, error);
  }

  #take(id: number): Pending | undefined {
    const entry = this.#pending.get(id);
    if (entry === undefined) return undefined;
    this.#pending.delete(id);
    if (entry.timer !== undefined) this.#clock.clearTimeout(entry.timer);
    if (entry.signal && entry.onAbort) entry.signal.removeEventListener('abort', entry.onAbort);
    return entry;
  }

  /** Ids grow and wrap before 2^31; an id still in flight is skipped, never reused. */
  #allocateId(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id >= 0x7fffffff ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
  }
}

function abortError(method: string, signal: AbortSignal): SocklineError {
  return new SocklineError(ErrorCodes.ABORTED, `request "${method}" was aborted`, { cause: signal.reason });
}
