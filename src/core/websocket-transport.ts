import { BaseTransport, transportError } from './transport-base.js';
import type { BaseTransportOptions, TransportHandlers } from './transport.js';
import { ErrorCodes, SocklineError } from './errors.js';

/** The part of the WHATWG `WebSocket` API this transport uses (browsers, `ws`, undici). */
export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

/** A `WebSocket` constructor: the global one by default, or injected (e.g. `ws` under Node). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface BrowserWsTransportOptions extends BaseTransportOptions {
  /** @default globalThis.WebSocket */
  readonly WebSocket?: WebSocketConstructor | undefined;
  /** WebSocket subprotocols offered in the handshake. */
  readonly protocols?: string | string[] | undefined;
  /** How often `bufferedAmount` is polled while above the high-water mark, in ms. @default 20 */
  readonly drainPollInterval?: number;
}

const OPEN = 1;

/**
 * Any implementation of the WHATWG `WebSocket` API as a transport: the browser's own, or a
 * class passed as `options.WebSocket` (the `ws` package's or undici's under Node). Written
 * against that API alone, so it runs wherever one exists. The API has no drain event, so
 * backpressure is read from `bufferedAmount` and polled while it is above the high-water mark.
 *
 * @example
 * ```ts
 * const transport = new BrowserWsTransport(new URL('wss://example.com/ws'), handlers, {
 *   highWaterMark: 1 << 20,
 *   WebSocket: WsWebSocket, // under Node: the `ws` package's class; in a browser, leave it out
 * });
 * ```
 */
export class BrowserWsTransport extends BaseTransport {
  readonly kind = 'message' as const;
  /** Null when the constructor threw (a blocked port, mixed content): the attempt failed. */
  readonly #ws: WebSocketLike | null = null;
  readonly #highWaterMark: number;
  readonly #pollInterval: number;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  /** The first error event; browsers hide its reason on purpose, and the close follows. */
  #error: SocklineError | undefined;

  constructor(url: URL, handlers: TransportHandlers, options: BrowserWsTransportOptions) {
    super(handlers);
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.#highWaterMark = options.highWaterMark;
    this.#pollInterval = options.drainPollInterval ?? 20;
    if (Ctor === undefined) {
      throw new SocklineError(
        ErrorCodes.UNSUPPORTED_SCHEME,
        'No WebSocket in this runtime: pass options.WebSocket',
      );
    }
    let ws: WebSocketLike;
    try {
      ws = new Ctor(url.href, options.protocols);
    } catch (err) {
      // A browser throws a SecurityError for a blocked port or for ws:// from an https page:
      // that is a failed attempt, reported like any other (and never inside the factory).
      queueMicrotask(() => this.finish({ error: transportError(err, 'WebSocket connection failed') }));
      return;
    }
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.emitOpen();
    ws.onmessage = ({ data }) => {
      if (typeof data === 'string') this.emitData(data);
      else if (data instanceof ArrayBuffer) this.emitData(new Uint8Array(data));
      else if (ArrayBuffer.isView(data))
        this.emitData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    };
    ws.onerror = (ev) => {
      // Browsers hide why on purpose; an injected `ws` says it (`Unexpected server response: 403`).
      const why = (ev as { message?: unknown } | null)?.message;
      const what = this.opened ? 'WebSocket error' : 'WebSocket connection failed';
      this.#error ??= transportError(typeof why === 'string' && why !== '' ? `${what}: ${why}` : what);
    };
    ws.onclose = ({ code, reason }) => {
      const error = this.#error ?? abnormalClosure(code);
      this.finish(error ? { code, reason, error } : { code, reason });
    };
  }

  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  send(data: Uint8Array | string): boolean {
    const ws = this.#ws;
    if (this.finished || ws === null || ws.readyState !== OPEN) return false;
    try {
      ws.send(data);
    } catch (err) {
      this.destroy(transportError(err, 'send failed'));
      return false;
    }
    if (ws.bufferedAmount > this.#highWaterMark) {
      this.#drainTimer ??= setTimeout(this.#pollDrain, this.#pollInterval);
      return false;
    }
    return true;
  }

  close(code = 1000, reason = ''): void {
    const ws = this.#ws;
    if (this.finished) return;
    // Closing a CONNECTING socket fails the connection and reports an error; the caller
    // asked for the end, so abort the attempt quietly instead.
    if (!this.opened || ws === null) return this.destroy();
    try {
      ws.close(code, reason);
    } catch {
      ws.close();
    }
  }

  protected detach(): void {
    clearTimeout(this.#drainTimer);
    const ws = this.#ws;
    if (ws === null) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
    // 1000 is the only code a script may always send; a CONNECTING socket is closed too.
    if (ws.readyState <= OPEN) ws.close();
  }

  #pollDrain = (): void => {
    this.#drainTimer = undefined;
    if (this.finished) return;
    if (this.bufferedAmount > this.#highWaterMark) {
      this.#drainTimer = setTimeout(this.#pollDrain, this.#pollInterval);
    } else {
      this.emitDrain();
    }
  };
}

/**
 * 1006: the connection ended without a closing handshake (RFC 6455 §7.1.5): the peer
 * crashed, a proxy cut it, or a reset. Browsers and `ws` may fire no 'error' for that, yet it
 * is a failure rather than a close, so both WebSocket transports report it as one.
 */
export function abnormalClosure(code: number): SocklineError | undefined {
  if (code === 1006) return new SocklineError(ErrorCodes.TRANSPORT, 'WebSocket closed abnormally (1006)');
  return undefined;
}
