import type { Framing, FramingName } from './framing/types.js';
import type { LinkOptions } from './link/options.js';

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
 * Options of `connect()`: the same type in every build. Options that only one runtime can
 * honour say so; the other runtime ignores them.
 */
export interface ConnectOptions extends LinkOptions {
  /**
   * `sockline`: the session protocol (handshake, exactly-once delivery, requests, pub/sub)
   * with a sockline server. `raw`: framing and the reconnecting link only, to talk to any
   * peer that is not sockline. @default 'sockline'
   */
  protocol?: 'sockline' | 'raw';
  /**
   * How a byte stream (`tcp://`, `tls://`) is cut into messages; message transports
   * (WebSocket, UDP) keep boundaries and ignore it. @default 'length'
   */
  framing?:
    FramingName | { type: FramingName; maxFrameSize?: number; delimiter?: string | Uint8Array } | Framing;
  /** Largest frame accepted or sent on a stream, in bytes. @default 1048576 */
  maxFrameSize?: number;
  /** Deliver stream frames as UTF-8 strings. @default true for `lines`, false otherwise */
  text?: boolean;
  /** Node: TLS settings for `tls://` and `wss://`. */
  tls?: TlsOptions;
  /** Node: TCP keepalive probe delay in ms, or false. @default false */
  keepAlive?: number | false;
  /**
   * Node: the largest UDP datagram sent, in bytes; larger messages are refused in raw mode and
   * fragmented in protocol mode (docs/udp.md §5.2). @default 1200
   */
  maxDatagramSize?: number;
  /**
   * Node, `udp://` in protocol mode: carry `volatile` messages reliably too. Every other
   * message (the handshake, sequenced messages and publishes, subscriptions, requests) always
   * is — acknowledged, retransmitted with a timeout from the measured RTT, ordered, fragmented
   * when larger than a datagram — so it arrives exactly once, in order. Without this option a
   * volatile message travels in one unreliable datagram: it may be lost, is never resent and
   * never holds other messages up (docs/udp.md §5).
   * @default false
   */
  reliable?: boolean;
  /** WebSocket subprotocols to offer. */
  protocols?: string | string[];
  /** The `WebSocket` constructor (browser build). @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructorLike;
}
