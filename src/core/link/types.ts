/** The link's public types: messages, events, options of `send()`, the handshake hooks, its configuration. */
import type { SocklineError } from '../errors.js';
import type { Framing } from '../framing/types.js';
import type { Transport, TransportHandlers } from '../transport.js';
import type { DisconnectInfo, ResolvedLinkOptions } from './options.js';
import type { LinkState } from './state.js';
import type { Wire, WireFactory, WireSink } from './wire.js';

/** A message as the link carries it: bytes, or text (WebSocket text frames, `lines` framing). */
export type LinkMessage = Uint8Array | string;

/** What `send()` did with the message. */
export type SendResult = 'sent' | 'queued' | 'dropped';

/** Why a message was dropped without being sent. */
export type DropReason = 'overflow' | 'volatile' | 'closed' | 'invalid';

export interface SendOptions {
  /** Never queue: if the link is not open, drop the message (and emit `drop`). @default false */
  volatile?: boolean;
  /** How long the message may wait in the outbox, in ms. @default the outbox's `ttl` */
  ttl?: number;
}

export interface LinkEvents {
  /** A transport opened (after the outbox was flushed into it). */
  open: () => void;
  message: (data: LinkMessage) => void;
  /** Fired only on a real change. */
  state: (change: { from: LinkState; to: LinkState }) => void;
  /** A transport ended or an attempt failed. */
  disconnect: (info: DisconnectInfo) => void;
  /** A retry is scheduled: `attempt` counts from 1, `delay` in ms. */
  reconnecting: (info: ReconnectingInfo) => void;
  /**
   * The peer asked to be left alone for `delay` ms (a server's admission control, a draining
   * server): the next attempt waits that long. Normal operation, not an error: counted in
   * `deferrals`, and neither grows the backoff nor counts toward `maxRetries`.
   */
  deferred: (info: DeferredInfo) => void;
  /** The link reached `closed`. `error` says why when it was not `close()`. */
  close: (info: { error?: Error | undefined }) => void;
  error: (error: SocklineError) => void;
  drain: () => void;
  /** A message left the outbox unsent (or was refused by it). */
  drop: (message: LinkMessage, reason: DropReason) => void;
  /** A queued message outlived its `ttl`. */
  expire: (message: LinkMessage) => void;
}

/** What the `reconnecting` event tells. */
export interface ReconnectingInfo {
  /** Counts from 1; a deferral keeps the number the next failure would get. */
  readonly attempt: number;
  /** Until the next attempt, in ms. */
  readonly delay: number;
  /** Why the last attempt or connection ended; undefined for a deferral or a clean close. */
  readonly error?: Error | undefined;
}

/** What the `deferred` event tells. */
export interface DeferredInfo {
  /** Until the next attempt, in ms, as the peer asked. */
  readonly delay: number;
  /** The peer's reason (`'server busy: come back later'`). */
  readonly reason: string;
}

/** Opens one transport for one attempt; may be async so URLs and tokens are fresh per attempt. */
export type Connector = (handlers: TransportHandlers, attempt: number) => Transport | Promise<Transport>;

/** What a handshake can do with a freshly opened transport, before the link counts as open. */
export interface HandshakeContext {
  /** Writes a message straight to the transport, ahead of the outbox. */
  send(message: LinkMessage): void;
  /** The peer accepted: the link opens and flushes its outbox. */
  complete(): void;
  /**
   * The peer takes several messages joined into one (a message transport): from now on,
   * messages are written through the wire `wire` makes (`batchWire(join)`: the messages
   * written in one tick go as one). Stream transports always join what is written in one
   * tick (the bytes are the same); datagrams never do.
   */
  batch(wire: (sink: WireSink) => Wire): void;
  /** The peer refused or misbehaved: ends this attempt; `retry: false` closes the link for good. */
  fail(error: SocklineError, retry: boolean): void;
  /**
   * The peer asked to come back in `ms` (admission control): ends this attempt without an
   * error, and the next one starts after `ms` — a deferral, not a failure.
   */
  defer(ms: number, reason: string): void;
}

/** Where the link hands what arrives while a handshake runs. */
export interface HandshakeReceiver {
  /** A message from the peer. */
  message(message: LinkMessage): void;
  /**
   * The peer's bytes broke the framing before the handshake completed (a first "message" of
   * 1,162,037,327 bytes is a text banner read as a length): most likely not the expected
   * protocol. The attempt ends after this call with `error` unless the receiver failed it.
   */
  unreadable(error: SocklineError): void;
}

/**
 * A protocol's opening exchange, run on every transport that opens. Until it calls
 * `complete()`, messages go to the receiver it returns instead of the `message` event, and
 * `connectTimeout` still runs: it bounds the connection and the handshake together.
 */
export type Handshake = (context: HandshakeContext) => HandshakeReceiver;

export interface LinkConfig extends ResolvedLinkOptions {
  readonly connector: Connector;
  /**
   * Framing used over `stream` transports; message and datagram transports keep boundaries.
   * `null` where no stream transport can appear (the browser build).
   */
  readonly framing: Framing | null;
  /**
   * Makes the wire of each transport that opens: `byteWires` where byte streams and datagrams
   * can appear (Node), none where every transport takes whole messages (a browser's WebSocket:
   * then the link writes to the transport directly, and a bundle carries no framing code).
   */
  readonly wire?: WireFactory | null;
  /**
   * `true`: every message is delivered as a string (UTF-8, invalid text refused with
   * `ERR_BAD_PAYLOAD`); `false`: every message as bytes; `undefined`: stream frames as text
   * under `lines` framing and as bytes otherwise, other transports as they come.
   */
  readonly text: boolean | undefined;
  /**
   * Checks a message before it is queued while the link is down, so what a transport could
   * never carry is refused at `send()` in every state; null where the transport is not known
   * before an attempt (a URL provider). Throws the error `send()` throws.
   */
  readonly check?: ((message: LinkMessage) => void) | null;
  /** Run on every transport that opens, before the link is `open`; `null` for none (raw mode). */
  readonly handshake?: Handshake | null;
}
