import { WebSocket, type ClientOptions, type RawData } from 'ws';
import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { BaseTransport, transportError } from '../core/transport-base.js';
import type { BaseTransportOptions, TransportHandlers } from '../core/transport.js';
import type { SocklineError } from '../core/errors.js';
import type { TlsOptions } from '../core/connect-options.js';
import { abnormalClosure } from '../core/websocket-transport.js';
import { nodeTlsOptions } from './tls-options.js';
import { plainBytes } from './plain-bytes.js';
import { upgradeRefusal } from './upgrade-refusal.js';

/**
 * Options of {@link NodeWsTransport}: the client options of `ws` that server-to-server users
 * need, and no others (sockline's own types stay free of `ws`'s).
 */
export interface NodeWsTransportOptions extends BaseTransportOptions {
  /** WebSocket subprotocols offered in the handshake. */
  readonly protocols?: string | string[] | undefined;
  /** TLS settings for `wss://`. */
  readonly tls?: TlsOptions | undefined;
  /** Headers added to the upgrade request (`Authorization`, `Cookie`, `Origin`…). */
  readonly headers?: Record<string, string> | undefined;
  /** The `http.Agent` / `https.Agent` of the upgrade request (an HTTP proxy agent…). */
  readonly agent?: object | undefined;
  /** The local address to connect from. */
  readonly localAddress?: string | undefined;
  /** Follow up to 10 redirects of the upgrade. @default false */
  readonly followRedirects?: boolean | undefined;
  /** TCP keepalive probe delay of the connection in ms, or false. @default false */
  readonly keepAlive?: number | false | undefined;
  /**
   * The peer is expected to speak the sockline protocol: an HTTP page answering the upgrade
   * is reported as `ERR_NOT_SOCKLINE` rather than `ERR_UPGRADE_REFUSED`. @default false
   */
  readonly sockline?: boolean | undefined;
}

const noop = (): void => {};

/**
 * WebSocket client over the `ws` package, with its Node-side backpressure and pause. Only
 * `ws`'s public API is used: its socket is the one the HTTP request of the handshake gets
 * (seen through the `finishRequest` option), then the one the `'upgrade'` response carries.
 */
export class NodeWsTransport extends BaseTransport {
  readonly kind = 'message' as const;
  readonly #ws: WebSocket;
  readonly #highWaterMark: number;
  #needDrain = false;
  #unref = false;
  #error: SocklineError | undefined;
  /** The HTTP request of the handshake (a new one per redirect), until the upgrade. */
  #request: ClientRequest | null = null;
  /** The connection once upgraded. */
  #socket: Socket | null = null;

  readonly #url: URL;
  readonly #sockline: boolean;
  readonly #keepAlive: number | false;

  constructor(url: URL, handlers: TransportHandlers, options: NodeWsTransportOptions) {
    super(handlers);
    this.#url = url;
    this.#sockline = options.sockline === true;
    this.#keepAlive = options.keepAlive ?? false;
    this.#highWaterMark = options.highWaterMark;
    this.#ws = new WebSocket(url.href, options.protocols, wsClientOptions(options, this.#finishRequest));
    this.#ws.on('unexpected-response', this.#onUnexpectedResponse);
    this.#ws.on('upgrade', this.#onUpgrade);
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
    // Closing a CONNECTING socket makes `ws` abort the handshake and report it as an error;
    // the caller asked for the end, so abort the attempt quietly instead.
    if (!this.opened) {
      this.destroy();
      return;
    }
    this.#ws.close(code, reason);
  }

  override pause(): void {
    this.#ws.pause();
  }

  override resume(): void {
    this.#ws.resume();
  }

  // During the handshake the socket is the HTTP request's (which may not have one yet), then
  // the upgraded one. Remember the wish and apply it as they appear, so an unref() right
  // after creation also covers a handshake that hangs.
  override ref(): void {
    this.#unref = false;
    this.#netSocket()?.ref();
  }

  override unref(): void {
    this.#unref = true;
    this.#netSocket()?.unref();
  }

  #netSocket(): Socket | null {
    return this.#socket ?? this.#request?.socket ?? null;
  }

  /**
   * `ws` hands over each HTTP request of the handshake before sending it (its public
   * `finishRequest` option; called during `new WebSocket()`, and again for each redirect).
   */
  #finishRequest = (request: ClientRequest): void => {
    this.#request = request;
    request.once('socket', this.#onRequestSocket);
    request.end();
  };

  #onRequestSocket = (socket: Socket): void => {
    if (this.#unref) socket.unref();
  };

  /** The server accepted the upgrade: from now on the connection is the response's socket. */
  #onUpgrade = (response: IncomingMessage): void => {
    this.#request = null;
    const socket = response.socket;
    this.#socket = socket;
    if (this.#unref) socket.unref();
    if (this.#keepAlive !== false) socket.setKeepAlive(true, this.#keepAlive);
  };

  protected detach(): void {
    const ws = this.#ws;
    ws.off('unexpected-response', this.#onUnexpectedResponse);
    ws.off('upgrade', this.#onUpgrade);
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

  /** The server answered the upgrade with a status other than 101: a typed refusal. */
  #onUnexpectedResponse = (_request: ClientRequest, response: IncomingMessage): void => {
    const { error, final, retryAfter } = upgradeRefusal(this.#url, response, this.#sockline);
    // detach() terminates the socket, which aborts the request and discards the response.
    this.finish(retryAfter === undefined ? { error, final } : { error, final, retryAfter });
  };

  #onOpen = (): void => {
    this.emitOpen();
  };

  #onMessage = (data: RawData, isBinary: boolean): void => {
    // binaryType is 'nodebuffer' (the default), so every message is one Buffer.
    const bytes = data as Buffer;
    this.emitData(isBinary ? plainBytes(bytes) : bytes.toString('utf8'));
  };

  #onError = (err: Error): void => {
    this.#error ??= transportError(err, this.opened ? 'WebSocket error' : 'WebSocket connection failed');
  };

  #onClose = (code: number, reason: Buffer): void => {
    const info = { code, reason: reason.toString('utf8') };
    const error = this.#error ?? abnormalClosure(code);
    this.finish(error ? { ...info, error } : info);
  };
}

/** `ws`'s client options from ours: only what was given, and never compression. */
function wsClientOptions(
  options: NodeWsTransportOptions,
  finishRequest: (request: ClientRequest) => void,
): ClientOptions {
  const out: ClientOptions = { perMessageDeflate: false, finishRequest };
  if (options.tls !== undefined) Object.assign(out, nodeTlsOptions(options.tls));
  if (options.headers !== undefined) out.headers = options.headers;
  if (options.agent !== undefined) out.agent = options.agent as Agent;
  if (options.localAddress !== undefined) out.localAddress = options.localAddress;
  if (options.followRedirects === true) out.followRedirects = true;
  return out;
}
