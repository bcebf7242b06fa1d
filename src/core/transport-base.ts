import { ErrorCodes, SocklineError } from './errors.js';
import type { Transport, TransportCloseInfo, TransportHandlers, TransportKind } from './transport.js';

/**
 * The part of the transport contract that is the same everywhere: callbacks stop after
 * the close, `onClose` fires once, `wasOpen` is tracked. Subclasses move bytes and call
 * `finish()` from every path that ends the socket.
 */
export abstract class BaseTransport implements Transport {
  abstract readonly kind: TransportKind;
  abstract readonly bufferedAmount: number;
  readonly maxMessageSize: number = Infinity;

  #handlers: TransportHandlers | null;
  #opened = false;

  protected constructor(handlers: TransportHandlers) {
    this.#handlers = handlers;
  }

  /** True once `onClose` has been delivered (or is being delivered). */
  protected get finished(): boolean {
    return this.#handlers === null;
  }

  protected get opened(): boolean {
    return this.#opened;
  }

  protected emitOpen(): void {
    if (this.#handlers === null || this.#opened) return;
    this.#opened = true;
    this.#handlers.onOpen();
  }

  protected emitData(data: Uint8Array | string): void {
    this.#handlers?.onData(data);
  }

  protected emitDrain(): void {
    this.#handlers?.onDrain();
  }

  protected emitSoftError(error: SocklineError): void {
    this.#handlers?.onSoftError(error);
  }

  /**
   * Ends the transport: detaches the socket (its late events are swallowed) and reports
   * `onClose` exactly once.
   */
  protected finish(info: Omit<TransportCloseInfo, 'wasOpen'>): void {
    const handlers = this.#handlers;
    if (handlers === null) return;
    this.#handlers = null;
    try {
      this.detach();
    } finally {
      // Even if tearing the socket down throws, the close is reported: exactly once.
      handlers.onClose({ ...info, wasOpen: this.#opened });
    }
  }

  /** Removes listeners from the socket and installs a no-op error listener. */
  protected abstract detach(): void;

  abstract send(data: Uint8Array | string): boolean;
  abstract close(code?: number, reason?: string): void;
  /** Immediate: `detach()` tears the socket down and `onClose` reports `error`. Idempotent. */
  destroy(error?: SocklineError): void {
    this.finish(error ? { error } : {});
  }
  pause(): void {}
  resume(): void {}
  ref(): void {}
  unref(): void {}
}

/** Wraps a runtime error as an `ERR_TRANSPORT` sockline error, keeping the original as `cause`. */
export function transportError(cause: unknown, what = 'transport error'): SocklineError {
  if (cause instanceof SocklineError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new SocklineError(ErrorCodes.TRANSPORT, `${what}: ${message}`, { cause });
}
