import WebSocket from 'isomorphic-ws';
import type { ClientOptions, RawData } from 'ws';
import { BaseTransport, transportError } from '../core/transport-base.js';
import type { BaseTransportOptions, TransportHandlers } from '../core/transport.js';
import type { SocklineError } from '../core/errors.js';

export interface NodeWsTransportOptions extends BaseTransportOptions {
  /** WebSocket subprotocols offered in the handshake. */
  readonly protocols?: string | string[] | undefined;
  /** Passed to `ws` as is (headers, TLS settings, `maxPayload`, ...). */
  readonly ws?: ClientOptions | undefined;
}

const noop = (): void => {};

/** WebSocket client over the `ws` package, with its Node-side backpressure and pause. */
export class NodeWsTransport extends BaseTransport {
  readonly kind = 'message' as const;
  readonly #ws: WebSocket;
  readonly #highWaterMark: number;
  #needDrain = false;
  #error: SocklineError | undefined;

  constructor(url: URL, handlers: TransportHandlers, options: NodeWsTransportOptions) {
    super(handlers);
    this.#highWaterMark = options.highWaterMark;
    this.#ws = new WebSocket(url.href, options.protocols, { perMessageDeflate: false, ...options.ws });
    this.#ws.on('open', this.#onOpen);
    this.#ws.on('message', this.#onMessage);
    this.#ws.on('error', this.#onError);
    this.#ws.on('close', this.#onClose);
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(data: Uint8Array | string): boolean {
    if (this.finished || this.#ws.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(data, this.#afterWrite);
    if (this.#ws.bufferedAmount > this.#highWaterMark) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  close(code = 1000, reason = ''): void {
    if (this.finished) return;
    this.#ws.close(code, reason);
  }

  destroy(error?: SocklineError): void {
    if (this.finished) return;
    this.finish(error ? { error } : {});
  }

  override pause(): void {
    this.#ws.pause();
  }

  override resume(): void {
    this.#ws.resume();
  }

  override ref(): void {
    (this.#ws as unknown as { _socket?: { ref(): void } })._socket?.ref();
  }

  override unref(): void {
    (this.#ws as unknown as { _socket?: { unref(): void } })._socket?.unref();
  }

  protected detach(): void {
    const ws = this.#ws;
    ws.off('open', this.#onOpen);
    ws.off('message', this.#onMessage);
    ws.off('error', this.#onError);
    ws.off('close', this.#onClose);
    ws.on('error', noop);
    if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
  }

  #afterWrite = (): void => {
    if (!this.#needDrain || this.#ws.bufferedAmount > this.#highWaterMark / 2) return;
    this.#needDrain = false;
    this.emitDrain();
  };

  #onOpen = (): void => {
    this.emitOpen();
  };

  #onMessage = (data: RawData, isBinary: boolean): void => {
    // binaryType is 'nodebuffer' (the default), so every message is one Buffer.
    const bytes = data as Buffer;
    this.emitData(isBinary ? bytes : bytes.toString('utf8'));
  };

  #onError = (err: Error): void => {
    this.#error ??= transportError(err, this.opened ? 'WebSocket error' : 'WebSocket connection failed');
  };

  #onClose = (code: number, reason: Buffer): void => {
    const info = { code, reason: reason.toString('utf8') };
    this.finish(this.#error ? { ...info, error: this.#error } : info);
  };
}
