import type { Framing, FramingName } from './framing/types.js';
import type { LinkOptions } from './link/options.js';
import type { ProtocolOptions } from './protocol/options.js';

/** A URL, or something that yields one per attempt (fresh tokens, rotating hosts). */
export type UrlInput = string | URL;
/** Called before every attempt with the attempt number (0 for the first after a success). */
export type UrlProvider = (attempt: number) => UrlInput | Promise<UrlInput>;
/** One URL, a list tried in rotation (one per attempt), or a provider. */
export type ConnectTarget = UrlInput | readonly UrlInput[] | UrlProvider;

/** TLS settings for `tls://` and `wss://` in Node. Certificates are verified by default. */
export interface TlsOptions {
  /** Trusted CA certificates (PEM) instead of the system's. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** Client certificate (PEM). */
  cert?: string | Uint8Array;
  /** Client private key (PEM). */
  key?: string | Uint8Array;
  /** Name sent in SNI and checked against the certificate. @default the URL's host name */
  servername?: string;
  /** Refuse a certificate that does not verify. @default true */
  rejectUnauthorized?: boolean;
}

/** The WHATWG `WebSocket` constructor shape (the browser's own, or `ws` under Node). */
export type WebSocketConstructorLike = new (url: string, protocols?: string | string[]) => unknown;

/**
 * The options both modes of `connect()` share: the link's, and the transports'. Options that
 * only one runtime can honour say so; the other runtime ignores them.
 */
export interface TransportOptions extends LinkOptions {
  /** Largest frame accepted or sent on a stream, in bytes. @default 1048576 */
  maxFrameSize?: number;
  /** Node: TLS settings for `tls://` and `wss://`. */
  tls?: TlsOptions;
  /** Node (`tcp://`, `tls://`, `ws://`, `wss://`): TCP keepalive probe delay in ms, or false. @default false */
  keepAlive?: number | false;
  /**
   * Node: the largest UDP datagram sent, in bytes; larger messages are refused in raw mode and
   * fragmented in protocol mode (docs/udp.md §5.2). @default 1200
   */
  maxDatagramSize?: number;
  /** WebSocket subprotocols to offer. */
  protocols?: string | string[];
  /** The `WebSocket` constructor (browser build). @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructorLike;
  /**
   * Node, `ws://` and `wss://`: headers added to the upgrade request (`Authorization`,
   * `Cookie`, `Origin`…). Browsers cannot set headers: put credentials in `token` or the URL.
   */
  headers?: Record<string, string>;
  /**
   * Node, `ws://` and `wss://`: the `http.Agent` or `https.Agent` of the upgrade request (an
   * HTTP proxy agent, connection limits).
   */
  agent?: object;
  /** Node: the local address to connect from (`tcp://`, `tls://`, `ws://`, `wss://`). */
  localAddress?: string;
  /**
   * Node, `ws://` and `wss://`: follow HTTP redirects of the upgrade (up to 10). Without it a
   * redirect is a refusal: `ERR_UPGRADE_REFUSED` with its status, and no retry. @default false
   */
  followRedirects?: boolean;
}

/**
 * Raw mode: framing and the reconnecting link only, to talk to any TCP, UDP or WebSocket peer
 * that is not sockline. `connect()` returns a `Link`.
 */
export interface RawConnectOptions extends TransportOptions {
  protocol: 'raw';
  /**
   * How a byte stream (`tcp://`, `tls://`) is cut into messages; message transports
   * (WebSocket, UDP) keep boundaries and ignore it. `lines` sends `'\n'` after each message
   * and accepts `'\n'` or `'\r\n'`; `{ type: 'lines', delimiter: '\r\n' }` sends CRLF.
   * @default 'length'
   */
  framing?:
    FramingName | { type: FramingName; maxFrameSize?: number; delimiter?: string | Uint8Array } | Framing;
  /**
   * Messages as UTF-8 text (`string`, invalid UTF-8 refused with `ERR_BAD_PAYLOAD`) or as
   * bytes (`Uint8Array`, never decoded), the same on every transport. Unset: streams give
   * text under `lines` framing and bytes otherwise; datagrams give bytes; WebSocket gives
   * what the frame is (text frames as strings, binary frames as bytes).
   * @default true for `lines`, false otherwise
   */
  text?: boolean;
}

/**
 * Protocol mode (the default): the sockline session protocol with a sockline server.
 * `connect()` returns a `SocklineClient`.
 */
export interface ProtocolConnectOptions extends TransportOptions, ProtocolOptions {
  protocol?: 'sockline';
  /** The protocol frames its own messages: only `'length'` is accepted. @default 'length' */
  framing?: 'length';
  /**
   * Node, `udp://`: carry `volatile` messages reliably too. Every other message (the
   * handshake, sequenced messages and publishes, subscriptions, requests) always is —
   * acknowledged, retransmitted with a timeout from the measured RTT, ordered, fragmented
   * when larger than a datagram — so it arrives exactly once, in order. Without this option a
   * volatile message travels in one unreliable datagram: it may be lost, is never resent and
   * never holds other messages up (docs/udp.md §5).
   * @default false
   */
  reliable?: boolean;
}

/**
 * Options of `connect()`, the same type in every build: one of the two modes. A value of
 * this type gives `connect()` the type `Link | SocklineClient`; narrow it (`protocol: 'raw'`)
 * to get one of them.
 */
export type ConnectOptions = RawConnectOptions | ProtocolConnectOptions;
