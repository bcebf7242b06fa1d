import * as net from 'node:net';
import * as tls from 'node:tls';
import { BaseTransport, transportError } from '../core/transport-base.js';
import type { BaseTransportOptions, TransportHandlers } from '../core/transport.js';
import type { SocklineError } from '../core/errors.js';

/** TLS settings; certificates are verified unless `rejectUnauthorized` is false. */
export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** SNI name and the name checked against the certificate. @default the URL's host */
  servername?: string;
  /** @default true */
  rejectUnauthorized?: boolean;
}

export interface TcpTransportOptions extends BaseTransportOptions {
  /** Use TLS (`tls://`). */
  readonly tls: TlsOptions | false;
  /** TCP keepalive initial delay in ms, or false. */
  readonly keepAlive: number | false;
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
    if (options.tls) {
      const t = options.tls;
      this.#socket = tls.connect({
        host,
        port,
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        servername: t.servername ?? (net.isIP(host) ? undefined : host),
        rejectUnauthorized: t.rejectUnauthorized ?? true,
      });
      this.#socket.once('secureConnect', this.#onConnect);
    } else {
      this.#socket = net.connect({ host, port });
      this.#socket.once('connect', this.#onConnect);
    }
    this.#socket.setNoDelay(true);
    if (options.keepAlive !== false) this.#socket.setKeepAlive(true, options.keepAlive);
    this.#socket.on('data', this.#onData);
    this.#socket.on('drain', this.#onDrain);
    this.#socket.on('error', this.#onError);
    this.#socket.on('close', this.#onClose);
    this.#socket.on('end', this.#onEnd);
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  send(data: Uint8Array | string): boolean {
    if (this.finished || this.#socket.destroyed) return false;
    this.#socket.write(data);
    if (this.#socket.writableLength > this.#highWaterMark) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  close(): void {
    if (this.finished) return;
    // Half-close our side; the peer's FIN (or a reset) ends the socket and fires 'close'.
    this.#socket.end();
  }

  destroy(error?: SocklineError): void {
    if (this.finished) return;
    this.#socket.destroy();
    this.finish(error ? { error } : {});
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
    s.off('drain', this.#onDrain);
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
    this.emitData(chunk);
  };

  #onDrain = (): void => {
    if (!this.#needDrain) return;
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
