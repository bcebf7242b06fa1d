import * as net from 'node:net';
import * as tls from 'node:tls';
import { BaseTransport, transportError } from '../core/transport-base.js';
import type { BaseTransportOptions, TransportHandlers } from '../core/transport.js';
import type { SocklineError } from '../core/errors.js';
import type { TlsOptions } from '../core/connect-options.js';
import { nodeTlsOptions } from './tls-options.js';
import { plainBytes } from './plain-bytes.js';

export interface TcpTransportOptions extends BaseTransportOptions {
  /** Use TLS (`tls://`). */
  readonly tls: TlsOptions | false;
  /** TCP keepalive initial delay in ms, or false. */
  readonly keepAlive: number | false;
  /** The local address to connect from. */
  readonly localAddress?: string | undefined;
}

const noop = (): void => {};

/** TCP or TLS byte stream over `node:net` / `node:tls`. */
export class TcpTransport extends BaseTransport {
  readonly kind = 'stream' as const;
  readonly #socket: net.Socket;
  readonly #highWaterMark: number;
  #needDrain = false;

  constructor(url: URL, handlers: TransportHandlers, options: TcpTransportOptions) {
    super(handlers);
    this.#highWaterMark = options.highWaterMark;
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port);
    const local = options.localAddress === undefined ? {} : { localAddress: options.localAddress };
    if (options.tls) {
      const t = nodeTlsOptions(options.tls);
      this.#socket = tls.connect({
        ...t,
        ...local,
        host,
        port,
        servername: t.servername ?? (net.isIP(host) ? undefined : host),
      });
      this.#socket.once('secureConnect', this.#onConnect);
    } else {
      this.#socket = net.connect({ ...local, host, port });
      this.#socket.once('connect', this.#onConnect);
    }
    this.#socket.setNoDelay(true);
    if (options.keepAlive !== false) this.#socket.setKeepAlive(true, options.keepAlive);
    this.#socket.on('data', this.#onData);
    this.#socket.on('error', this.#onError);
    this.#socket.on('close', this.#onClose);
    this.#socket.on('end', this.#onEnd);
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  send(data: Uint8Array | string): boolean {
    // `writable` is false once close() ended our side: a write then would fail the socket
    // with ERR_STREAM_WRITE_AFTER_END and cut the graceful close short.
    if (this.finished || !this.#socket.writable) return false;
    this.#socket.write(data, this.#afterWrite);
    if (this.#socket.writableLength > this.#highWaterMark) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  close(): void {
    if (this.finished) return;
    // Before the connect there is nothing to close gracefully (and end() would wait for the
    // connect, report onOpen after close(), then close): abort the attempt instead.
    if (!this.opened) {
      this.destroy();
      return;
    }
    // Half-close our side; the peer's FIN (or a reset) ends the socket and fires 'close'.
    this.#socket.end();
  }

  override pause(): void {
    this.#socket.pause();
  }

  override resume(): void {
    this.#socket.resume();
  }

  override ref(): void {
    this.#socket.ref();
  }

  override unref(): void {
    this.#socket.unref();
  }

  protected detach(): void {
    const s = this.#socket;
    s.off('connect', this.#onConnect);
    s.off('secureConnect', this.#onConnect);
    s.off('data', this.#onData);
    s.off('error', this.#onError);
    s.off('close', this.#onClose);
    s.off('end', this.#onEnd);
    s.on('error', noop);
    if (!s.destroyed) s.destroy();
  }

  #onConnect = (): void => {
    this.emitOpen();
  };

  #onData = (chunk: Buffer): void => {
    this.emitData(plainBytes(chunk));
  };

  /**
   * After each write is flushed to the kernel. The socket's own 'drain' cannot serve: it
   * fires only after write() returned false, i.e. above the socket's 16 KiB mark, so with
   * a smaller highWaterMark onDrain would never come.
   */
  #afterWrite = (): void => {
    if (!this.#needDrain || this.#socket.writableLength > this.#highWaterMark / 2) return;
    this.#needDrain = false;
    this.emitDrain();
  };

  #pendingError: SocklineError | undefined;

  #onError = (err: Error): void => {
    this.#pendingError ??= transportError(err, this.opened ? 'socket error' : 'connect failed');
  };

  #onEnd = (): void => {
    // The peer closed its side: finish ours too (allowHalfOpen is off by default).
    if (!this.#socket.writableEnded) this.#socket.end();
  };

  #onClose = (): void => {
    this.finish(this.#pendingError ? { error: this.#pendingError } : {});
  };
}
