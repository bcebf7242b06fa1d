import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { ErrorCodes, SocklineError } from '../core/errors.js';
import { BaseTransport, transportError } from '../core/transport-base.js';
import type { BaseTransportOptions, TransportHandlers } from '../core/transport.js';

export interface UdpTransportOptions extends BaseTransportOptions {
  /**
   * The largest datagram `send()` accepts, in bytes. The default stays under the path MTU of
   * common links (1280 for IPv6 minus headers), so datagrams are not fragmented on the way.
   * @default 1200
   */
  readonly maxMessageSize: number;
}

/** Defaults for {@link UdpTransportOptions}. */
export const udpTransportDefaults = Object.freeze({ maxMessageSize: 1200 });

/** The largest UDP payload over IPv4: 65535 minus the IP (20) and UDP (8) headers. */
export const MAX_UDP_PAYLOAD = 65507;

const noop = (): void => {};

/**
 * A connected UDP socket over `node:dgram`: one datagram is one message, and the kernel
 * only delivers datagrams from the connected peer. There is no handshake, so the transport
 * opens as soon as the socket is connected, whether or not anything listens there; a peer
 * that is not there shows up later as a soft `ECONNREFUSED` (from ICMP port unreachable)
 * through `onSoftError`, and the transport stays open.
 *
 * `send()` before the socket is connected returns false and sends nothing (there is no
 * address to send to yet). `pause()` and `resume()` do nothing: `node:dgram` cannot stop
 * reading, and a datagram socket drops what it cannot hold anyway.
 *
 * @example
 * const t = new UdpTransport(new URL('udp://127.0.0.1:7001'), handlers, {
 *   highWaterMark: 65536,
 *   maxMessageSize: 1200,
 * });
 */
export class UdpTransport extends BaseTransport {
  readonly kind = 'datagram' as const;
  override readonly maxMessageSize: number;
  readonly #socket: dgram.Socket;
  readonly #highWaterMark: number;
  /** Sizes of the datagrams whose send callback has not fired yet, oldest first. */
  readonly #pending: number[] = [];
  #buffered = 0;
  #needDrain = false;
  #closing = false;

  constructor(url: URL, handlers: TransportHandlers, options: UdpTransportOptions) {
    super(handlers);
    const max = options.maxMessageSize ?? udpTransportDefaults.maxMessageSize;
    if (!Number.isInteger(max) || max < 1 || max > MAX_UDP_PAYLOAD) {
      throw new RangeError(`maxMessageSize must be an integer from 1 to ${MAX_UDP_PAYLOAD}, got ${max}`);
    }
    this.maxMessageSize = max;
    this.#highWaterMark = options.highWaterMark;
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.#socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    this.#socket.on('connect', this.#onConnect);
    this.#socket.on('message', this.#onMessage);
    this.#socket.on('error', this.#onError);
    this.#socket.on('close', this.#onClose);
    this.#socket.connect(Number(url.port), host);
  }

  get bufferedAmount(): number {
    return this.#buffered;
  }

  /**
   * Sends one datagram. Returns false (and sends nothing) before the socket is connected
   * and after `close()`; returns false after sending when more than `highWaterMark` bytes
   * wait for the operating system, and `onDrain` follows.
   *
   * @throws {SocklineError} `ERR_DATAGRAM_TOO_LARGE`, synchronously, when `data` is larger
   *   than `maxMessageSize` (strings are measured in UTF-8 bytes). Nothing is sent. This is
   *   the one error `send()` throws: it is the caller's mistake, not an I/O failure, and a
   *   false return would read as "wait for drain and try again", which can never succeed.
   */
  send(data: Uint8Array | string): boolean {
    if (this.finished || this.#closing) return false;
    const size = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
    if (size > this.maxMessageSize) {
      throw new SocklineError(
        ErrorCodes.DATAGRAM_TOO_LARGE,
        `datagram of ${size} bytes is larger than maxMessageSize (${this.maxMessageSize})`,
      );
    }
    if (!this.opened) return false;
    // Errors (ECONNREFUSED after an ICMP port unreachable, ENOBUFS, ...) come back through
    // the callback, never as a throw: the datagram is lost, which UDP allows. The callback
    // runs on a later tick at the earliest, so counting after the call is safe.
    this.#socket.send(data, this.#afterSend);
    this.#pending.push(size);
    this.#buffered += size;
    if (this.#buffered > this.#highWaterMark) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  /** Closes the socket once the datagrams already handed to it are sent. */
  close(): void {
    if (this.finished || this.#closing) return;
    if (!this.opened) {
      this.destroy();
      return;
    }
    this.#closing = true;
    if (this.#buffered === 0) this.#socket.close();
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
    s.off('message', this.#onMessage);
    s.off('error', this.#onError);
    s.off('close', this.#onClose);
    s.on('error', noop);
    try {
      s.close();
    } catch {
      // ERR_SOCKET_DGRAM_NOT_RUNNING: already closed.
    }
  }

  #afterSend = (err: Error | null): void => {
    this.#buffered -= this.#pending.shift() ?? 0;
    if (this.finished) return;
    if (err) this.emitSoftError(transportError(err, 'send failed'));
    if (this.#closing) {
      if (this.#buffered === 0) this.#socket.close();
      return;
    }
    if (this.#needDrain && this.#buffered <= this.#highWaterMark / 2) {
      this.#needDrain = false;
      this.emitDrain();
    }
  };

  #onConnect = (): void => {
    this.emitOpen();
  };

  #onMessage = (msg: Buffer): void => {
    this.emitData(msg);
  };

  #onError = (err: Error): void => {
    // Before the connect completes an error (a failed DNS lookup) ends the attempt; after
    // it, errors are per datagram (ECONNREFUSED from ICMP on a connected socket) and the
    // socket keeps working.
    if (this.opened) this.emitSoftError(transportError(err, 'socket error'));
    else this.finish({ error: transportError(err, 'connect failed') });
  };

  #onClose = (): void => {
    this.finish({});
  };
}
