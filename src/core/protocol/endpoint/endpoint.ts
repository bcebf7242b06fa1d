import { ErrorCodes, SocklineError } from '../../errors.js';
import { argumentTypeError } from '../../options/messages.js';
import { BATCH_TYPE, splitBatch } from '../batch.js';
import { decodePayload, encodePayload } from '../codec.js';
import {
  Capabilities,
  CloseCodes,
  SUPPORTED_VERSIONS,
  type Frame,
  type PayloadKind,
  type PublishFrame,
  type ReceiveLimits,
  type WelcomeFrame,
} from '../frames.js';
import { isStreamFrame, readDataHeader, readFrame, type DataHeader } from '../frames-decode.js';
import { encodeFrame, encodeMessage, messageFits, tooLarge } from '../frames-encode.js';
import { subscriptionError, validateMethod, validatePattern, validateTopic } from '../topics.js';
import { Delivery, type OutgoingMessage, type SequencedSource } from './delivery.js';
import { DEAD, Heartbeat, type HeartbeatTiming } from './heartbeat.js';
import type { EndpointHost, Welcomed } from './host.js';
import type { Announced, EndpointConfig } from './options.js';
import { Calls } from './calls.js';
import { Subscriptions, type SubscriptionHandler } from './subscriptions.js';
import type { LargeMessage, TransferHost, Transfers, WholeMessage } from './transfer.js';

export type { EndpointHost, Welcomed } from './host.js';

/** Where the endpoint is: no connection carries the session, one does, or the session is over. */
type Phase = 'detached' | 'open' | 'closed';

const CLIENT_CAPABILITIES =
  Capabilities.RELIABLE |
  Capabilities.PUBSUB |
  Capabilities.RPC |
  Capabilities.BATCH |
  Capabilities.SUBREFUSE;

/** What `#value` returns for a payload it could not decode. */
const UNDELIVERABLE: unique symbol = Symbol('undeliverable');

/** A CLOSE reason is for people; the wire allows 1024 bytes, a log line needs fewer. */
const MAX_REASON = 200;

const EMPTY = new Uint8Array(0);

/** Where `#body` reads the header of a DATA frame (its fields are read out before anything else runs). */
const DATA_HEADER: DataHeader = { kind: 'binary', seq: -1, ack: -1, at: 0 };

/** What a peer that announced no limits takes of streams and large messages: nothing. */
const NO_LIMITS: ReceiveLimits = Object.freeze({ maxFrameSize: 0, maxMessageSize: 0, maxStreams: 0 });

/** The heartbeat of each server's connections, by what its WELCOME announces. */
const TIMINGS = new WeakMap<Announced, HeartbeatTiming>();

/** A server's heartbeat: a PING every interval, the end of a connection silent for interval + timeout. */
function serverTiming(announce: Announced): HeartbeatTiming {
  let timing = TIMINGS.get(announce);
  if (timing === undefined) {
    const interval = announce.heartbeatInterval;
    timing = Object.freeze({ interval, silence: interval + announce.heartbeatTimeout });
    TIMINGS.set(announce, timing);
  }
  return timing;
}

/** The limits {@link sharedLimits} returned last. */
let lastLimits: ReceiveLimits = NO_LIMITS;

/**
 * What a peer takes, as a frozen object shared with the sessions whose peers announced the
 * same: the clients of one server mostly announce one set of limits, and an object each
 * would be kept by every idle session.
 */
function sharedLimits(maxFrameSize: number, maxMessageSize: number, maxStreams: number): ReceiveLimits {
  const last = lastLimits;
  if (
    last.maxFrameSize === maxFrameSize &&
    last.maxMessageSize === maxMessageSize &&
    last.maxStreams === maxStreams
  )
    return last;
  return (lastLimits = Object.freeze({ maxFrameSize, maxMessageSize, maxStreams }));
}

/**
 * One side of a sockline session, both roles, as a sans-I/O state machine (docs/protocol.md):
 * frame bodies in (`receive`), the clock in (`tick`), application calls in (`send`,
 * `request`, `subscribe`…); frames and events out through its {@link EndpointHost}, which
 * also learns the next deadline (`wake`). It owns the handshake's meaning for the session,
 * sequence numbers, acks and replay ({@link Delivery}), the request table, subscriptions,
 * the heartbeat and close. It has no sockets and no timers; it outlives connections (a
 * resumed session is the same endpoint on a new connection).
 *
 * ```
 *            hello() … welcomed() (client) / accepted() (server), then open()
 * detached ─────────────────────────────────────────────────────────────────▶ open
 *    ▲                                                                          │
 *    └────────────── detach(): the connection ended (a failure ends it too) ───┘
 * any ── close(): the session ended for good ──▶ closed
 * ```
 *
 * The role is a parameter ({@link EndpointConfig.role}): a client makes the HELLO, applies
 * the WELCOME its role adapter read, delivers publishes to its subscriptions and pings on
 * open; a server runs the heartbeat its WELCOME announced, routes publishes, holds its
 * peer's subscriptions and ends a silent connection. Reading the first frame of a connection
 * (the HELLO, or the answer to it), writing the WELCOME and deciding what a refusal means are
 * each role's own.
 */
export class Endpoint implements SequencedSource {
  readonly delivery: Delivery;
  #config: EndpointConfig;
  readonly #host: EndpointHost;
  #phase: Phase = 'detached';
  /** Requests both ways, made on the first one: most sessions never make one. */
  #calls: Calls | null = null;
  /** The peer's `maxInFlight` (WELCOME), for requests made later. */
  #window: number | undefined;
  /** Streams and large messages, made the first time they are used (`config.transfers`). */
  #transfers: Transfers | null = null;
  /** What the peer takes of streams and large messages (its HELLO or WELCOME); null: not known yet. */
  #peerLimits: ReceiveLimits | null = null;
  /** Client: made on the first subscribe. */
  #subscriptions: Subscriptions | null = null;
  #sessionId: string | undefined;
  /** The peer's `lastSeq` from the handshake: what `open()` replays after. */
  #peerLastSeq = 0;
  /** Server: the capability bits of the client's HELLO on this connection (docs/protocol.md §4.1). */
  #peerCapabilities = 0;
  /**
   * Client: how long the server keeps a dropped session, at most, from the client's view
   * (its `resumeWindow` plus the heartbeat it may take to notice; -1: it keeps none), and so
   * until when a resume is worth asking for.
   */
  #keep: number | undefined;
  #keptUntil: number | undefined;
  /** The heartbeat of the open connection (docs/protocol.md §8); none while detached. */
  #heartbeat: Heartbeat | null = null;
  /** Client: the server's PING period, from its WELCOME. */
  #interval = 0;
  #rtt: number | undefined;

  constructor(config: EndpointConfig, host: EndpointHost) {
    this.#config = config;
    this.#host = host;
    // The endpoint is the delivery's source of other frames once it has requests or transfers.
    this.delivery = new Delivery(config.delivery, config.clock, host);
  }

  /**
   * Takes the configuration of another owner of the same role: a session kept in a shared
   * store and resumed by a restarted server runs that server's codec, limits and heartbeat
   * (the delivery state, and the bounds of its queues, stay as they were).
   */
  configure(config: EndpointConfig): void {
    this.#config = config;
    this.delivery.frameLimit = config.delivery.maxFrameSize ?? Infinity;
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** The session's id (client: from the last WELCOME). */
  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  /** The last measured round trip to the peer, in ms. */
  get rtt(): number | undefined {
    return this.#rtt;
  }

  /** When `tick` has something to do next (ms on the clock); Infinity for nothing. */
  get deadline(): number {
    let next = this.delivery.deadline;
    const calls = this.#calls;
    if (calls !== null && calls.deadline < next) next = calls.deadline;
    const heartbeat = this.#heartbeat;
    if (heartbeat !== null && heartbeat.deadline < next) next = heartbeat.deadline;
    return next;
  }

  // --- the handshake --------------------------------------------------------------------------

  /**
   * Client: the HELLO of a new connection, resuming the session there is one the server may
   * still keep: not after a WELCOME with a `resumeWindow` of 0, nor once the window (plus the
   * heartbeat the server may have taken to notice the disconnect) has surely passed, when
   * asking would only make the server look for a session it has forgotten.
   */
  hello(token: string | undefined): Uint8Array {
    const id = this.#sessionId;
    const resume =
      id !== undefined &&
      this.#config.resume &&
      (this.#keptUntil === undefined || this.#config.clock.now() <= this.#keptUntil)
        ? { sessionId: id, lastSeq: this.delivery.received }
        : undefined;
    const config = this.#config;
    const transfers = config.transfers !== null;
    const { maxFrameSize, maxMessageSize, maxStreams } = config.limits;
    return encodeFrame({
      type: 'hello',
      versions: [...SUPPORTED_VERSIONS],
      capabilities: CLIENT_CAPABILITIES | (transfers ? Capabilities.LARGE | Capabilities.STREAMS : 0),
      codec: config.codec.name,
      ...(token !== undefined ? { token } : {}),
      ...(resume ? { resume } : {}),
      ...(transfers ? { limits: { maxFrameSize, maxMessageSize, maxStreams } } : {}),
    });
  }

  /**
   * Server: a connection carries session `sessionId` now (its WELCOME is written); `peerLastSeq`
   * is the HELLO's resume `lastSeq` when the session continues, 0 otherwise; `capabilities`
   * the HELLO's bits (what this connection's client understands). `open()` follows.
   */
  accepted(
    sessionId: string,
    peerLastSeq: number,
    capabilities: number,
    limits: ReceiveLimits | undefined,
  ): void {
    this.#sessionId = sessionId;
    this.#peerLastSeq = peerLastSeq;
    this.#peerCapabilities = capabilities;
    this.#peerLimits =
      limits === undefined
        ? NO_LIMITS
        : sharedLimits(
            limits.maxFrameSize,
            (capabilities & Capabilities.LARGE) !== 0 ? limits.maxMessageSize : 0,
            (capabilities & Capabilities.STREAMS) !== 0 ? limits.maxStreams : 0,
          );
    // A client that told its own maxFrameSize gets no larger frame (docs/protocol.md §1).
    const own = this.#config.delivery.maxFrameSize ?? Infinity;
    this.delivery.frameLimit = limits === undefined ? own : Math.min(own, limits.maxFrameSize);
  }

  /**
   * The handshake is done and the connection carries the session: subscriptions are restored,
   * what the peer lacks replayed, then what waited (messages, requests, answers, streams); the
   * heartbeat starts.
   */
  open(): void {
    const now = this.#config.clock.now();
    this.#phase = 'open';
    const announce = this.#config.announce;
    // A server pings every interval and ends a silent connection; a client pings at once, so
    // the round trip is known from the start, then at the server's interval, and leaves the
    // silence to its link.
    this.#heartbeat =
      announce !== null
        ? new Heartbeat(now, serverTiming(announce), now + announce.heartbeatInterval)
        : new Heartbeat(now, { interval: this.#interval, silence: 0 }, now);
    this.#beat(now);
    const subscriptions = this.#subscriptions;
    if (subscriptions !== null) {
      for (const pattern of subscriptions.stale()) this.#write({ type: 'unsubscribe', topic: pattern });
      subscriptions.clearStale();
      for (const pattern of subscriptions.patterns()) this.#write({ type: 'subscribe', topic: pattern });
    }
    this.delivery.attach(this.#peerLastSeq);
    this.#transfers?.attached();
    this.#host.wake(this.deadline);
  }

  /**
   * Client: the server accepted (a WELCOME of a version this side speaks); `open()` follows
   * once the connection is complete. Every limit it announces is honoured from here on: its
   * `maxFrameSize` bounds what is written, its `maxInFlight` how many requests are written at
   * once (the rest wait), its `resumeWindow` how long a resume is worth asking for.
   */
  welcomed(frame: WelcomeFrame): Welcomed {
    const previous = this.#sessionId;
    const resumed = frame.resumed && previous === frame.sessionId;
    this.#sessionId = frame.sessionId;
    let resent = 0;
    if (!resumed) {
      resent = this.delivery.restart();
      // The server holds none of our subscriptions: `open()` sends all of them again.
      this.#subscriptions?.clearStale();
      if (previous !== undefined) this.#lost();
    }
    // The server refuses a larger frame (and would close the connection): never send one.
    this.delivery.frameLimit = Math.min(this.#config.delivery.maxFrameSize ?? Infinity, frame.maxFrameSize);
    this.#window = frame.maxInFlight;
    if (this.#calls !== null) this.#calls.window = frame.maxInFlight;
    this.#peerLimits = sharedLimits(frame.maxFrameSize, frame.maxMessageSize, frame.maxStreams);
    this.#interval = frame.heartbeatInterval;
    this.#keep =
      frame.resumeWindow === 0 ? -1 : frame.resumeWindow + frame.heartbeatInterval + frame.heartbeatTimeout;
    this.#keptUntil = undefined;
    this.#peerLastSeq = resumed ? frame.lastSeq : 0;
    return { resumed, previousId: resumed ? undefined : previous, resent };
  }

  // --- frames in -----------------------------------------------------------------------------

  /** One transport message from the peer: a frame body, or a BATCH of them (docs/protocol.md §1.1). */
  receive(message: Uint8Array | string): void {
    if (this.#phase !== 'open') return;
    if (typeof message === 'string') {
      this.#protocolError('a text message where a frame was expected');
      return;
    }
    this.#heard();
    if (message[0] !== BATCH_TYPE) {
      this.#body(message);
      return;
    }
    let bodies: Uint8Array[];
    try {
      bodies = splitBatch(message);
    } catch (err) {
      this.#protocolError((err as Error).message, err);
      return;
    }
    // A body that ends the connection ends the batch: the rest belongs to a dead connection.
    for (let i = 0; i < bodies.length && this.#phase === 'open'; i++) this.#body(bodies[i]!);
  }

  /**
   * {@link receive} of the bytes `start` to `end` of `chunk`, as a byte stream's decoder finds
   * them: the frame of a message is read in place (no view of the frame, only of its payload).
   */
  receiveRange(chunk: Uint8Array, start: number, end: number): void {
    if (this.#phase !== 'open') return;
    if (chunk[start] === BATCH_TYPE) {
      this.receive(chunk.subarray(start, end));
      return;
    }
    this.#heard();
    if (!this.#dataIn(chunk, start, end)) this.#body(chunk.subarray(start, end));
  }

  /** A frame came: the heartbeat knows the peer is alive. */
  #heard(): void {
    const heartbeat = this.#heartbeat!;
    if (heartbeat.watching) heartbeat.lastHeard = this.#config.clock.now();
  }

  /**
   * The frame of every message, DATA with short varints, handled without a frame object
   * (docs/protocol.md §4.4); false for any other frame, left to `readFrame`.
   */
  #dataIn(bytes: Uint8Array, start: number, end: number): boolean {
    const header = DATA_HEADER;
    if (!readDataHeader(bytes, header, start, end)) return false;
    const { kind, seq, ack } = header;
    this.#message(
      kind,
      bytes.subarray(header.at, end),
      seq === -1 ? undefined : seq,
      ack === -1 ? undefined : ack,
    );
    return true;
  }

  #body(bytes: Uint8Array): void {
    if (this.#dataIn(bytes, 0, bytes.length)) return;
    if (isStreamFrame(bytes)) {
      // Streams and large messages (docs/protocol.md §13): only where this side announced them.
      if (this.#config.transfers === null) this.#protocolError('a stream frame, but no stream was announced');
      else this.#transfersOf().receive(bytes);
      return;
    }
    let frame: Frame;
    try {
      frame = readFrame(bytes, this.#config.frames);
    } catch (err) {
      this.#protocolError((err as Error).message, err);
      return;
    }
    switch (frame.type) {
      case 'data':
        this.#message(frame.kind, frame.payload, frame.seq, frame.ack);
        return;
      case 'publish':
        this.#publish(frame);
        return;
      case 'ack':
        this.#ack(frame.seq);
        return;
      case 'request':
        if (this.#sequenced(frame.seq, frame.ack)) this.#callsOf().answer(frame);
        return;
      case 'response':
        if (this.#sequenced(frame.seq, frame.ack)) this.#calls?.settle(frame);
        return;
      case 'ping':
        this.#write({ type: 'pong', nonce: frame.nonce });
        return;
      case 'pong':
        this.#rtt = this.#heartbeat!.pong(frame.nonce, this.#config.clock.now()) ?? this.#rtt;
        return;
      case 'close':
        this.#host.closed(frame);
        return;
      case 'subscribe':
      case 'unsubscribe':
        if (this.#config.role === 'server') {
          this.#subscription(frame.type, frame.topic);
          return;
        }
        break;
      case 'subrefuse':
        if (this.#config.role === 'client') {
          this.#host.error?.(subscriptionError(frame));
          return;
        }
        break;
    }
    this.#protocolError(`unexpected ${frame.type.toUpperCase()} after the handshake`);
  }

  /** A cumulative ack (alone or piggybacked); false after a protocol error. */
  #ack(seq: number): boolean {
    if (this.delivery.acknowledged(seq)) return true;
    this.#protocolError(`ack ${seq} is above the last sequence number sent`);
    return false;
  }

  /**
   * Whether a frame of the sequenced stream is the next one (docs/protocol.md §7.3): a
   * duplicate is dropped silently, a gap is a protocol error. Any frame kind with a `seq`
   * passes here, after its own checks and before it is handled.
   */
  #accept(seq: number | undefined): boolean {
    if (seq === undefined) return true;
    const verdict = this.delivery.accept(seq);
    if (verdict === 'deliver') return true;
    if (verdict === 'gap') this.#protocolError(`sequence gap: got ${seq} after ${this.delivery.received}`);
    return false;
  }

  /**
   * The sequence checks of a frame other than DATA and PUBLISH: its piggybacked ack, then its
   * seq. A store that must make received frames durable hears of it (`host.received`).
   */
  #sequenced(seq: number | undefined, ack: number | undefined): boolean {
    if (ack !== undefined && !this.#ack(ack)) return false;
    if (!this.#accept(seq)) return false;
    if (seq !== undefined) this.#host.received?.(seq);
    return true;
  }

  /**
   * The value of a DATA or PUBLISH payload, or UNDELIVERABLE after a protocol error. Decoded
   * before the frame is accepted: a message that cannot be delivered must not count as received.
   */
  #value(kind: PayloadKind, payload: Uint8Array): unknown {
    if (kind === 'binary') return payload;
    try {
      return decodePayload(kind, payload, this.#config.codec);
    } catch (err) {
      this.#protocolError(`undecodable payload: ${(err as Error).message}`, err);
      return UNDELIVERABLE;
    }
  }

  /** A DATA frame: its ack, its payload decoded, then delivered if it is the next one. */
  #message(kind: PayloadKind, payload: Uint8Array, seq: number | undefined, ack: number | undefined): void {
    if (ack !== undefined && !this.#ack(ack)) return;
    const value = kind === 'binary' ? payload : this.#value(kind, payload);
    if (value !== UNDELIVERABLE && this.#accept(seq)) this.#host.message(value, seq);
  }

  #publish(frame: PublishFrame): void {
    if (frame.ack !== undefined && !this.#ack(frame.ack)) return;
    const host = this.#host;
    if (host.publish !== undefined) {
      // A server forwards the payload as it came; the topic is all it must understand.
      try {
        validateTopic(frame.topic);
      } catch (err) {
        this.#protocolError((err as Error).message, err);
        return;
      }
      if (this.#accept(frame.seq)) host.publish(frame.topic, frame.kind, frame.payload, frame.seq);
      return;
    }
    const value = this.#value(frame.kind, frame.payload);
    if (value !== UNDELIVERABLE && this.#accept(frame.seq))
      this.#subscriptions?.deliver(frame.topic, value, host);
  }

  /**
   * A large message is whole (its last chunk, sequence number `seq`, was accepted): handled
   * as if it had come in one frame. Its payload is decoded only now, so one the codec refuses
   * ends the connection like any other (docs/protocol.md §5.1), but was counted as received.
   */
  #whole(message: WholeMessage, seq: number): void {
    switch (message.type) {
      case 'data':
      case 'publish': {
        const host = this.#host;
        if (message.type === 'publish' && host.publish !== undefined) {
          try {
            validateTopic(message.topic);
          } catch (err) {
            this.#protocolError((err as Error).message, err);
            return;
          }
          host.publish(message.topic, message.kind, message.payload, seq);
          return;
        }
        const value = this.#value(message.kind, message.payload);
        if (value === UNDELIVERABLE) return;
        if (message.type === 'data') host.message(value, seq);
        else this.#subscriptions?.deliver(message.topic, value, host);
        return;
      }
      case 'request':
        this.#callsOf().answer(message);
        return;
      case 'response':
        this.#calls?.settle(message);
        return;
    }
  }

  #subscription(type: 'subscribe' | 'unsubscribe', pattern: string): void {
    if (type === 'unsubscribe') {
      this.#host.unsubscribed?.(pattern);
      return;
    }
    try {
      validatePattern(pattern);
    } catch (err) {
      this.#protocolError((err as Error).message, err);
      return;
    }
    const refused = this.#host.subscribed?.(pattern);
    // The connection stays. A client that announced SUBREFUSE is told (docs/protocol.md §4.12);
    // an older one simply gets nothing for the pattern.
    if (refused !== undefined && (this.#peerCapabilities & Capabilities.SUBREFUSE) !== 0) {
      this.#write({
        type: 'subrefuse',
        topic: pattern,
        code: ErrorCodes.TOO_MANY_SUBSCRIPTIONS,
        message: refused,
      });
    }
  }

  // --- requests --------------------------------------------------------------------------------

  /**
   * Calls `method` on the peer. The REQUEST is sequenced: made while detached it waits for a
   * connection, written before a reconnect it is answered after it, and the peer's handler
   * runs exactly once. Settles exactly once: the result, `ERR_REMOTE` with the peer's code,
   * `ERR_REQUEST_TIMEOUT`, `ERR_ABORTED`, `ERR_FRAME_TOO_LARGE` or `ERR_MESSAGE_TOO_LARGE`,
   * `ERR_TOO_MANY_REQUESTS`, `ERR_SESSION_LOST` when the peer lost the session (client), or
   * the error `close()` is given. An error without an answer says in `sent` whether the
   * request had left this side.
   */
  request(
    method: string,
    params: unknown,
    options: { timeout?: number; signal?: AbortSignal } = {},
  ): Promise<unknown> {
    if (this.#phase === 'closed') {
      const error = new SocklineError(ErrorCodes.CONNECTION_CLOSED, 'the session is over');
      error.sent = false;
      return Promise.reject(error);
    }
    try {
      validateMethod(method);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#callsOf().request(
      method,
      params,
      options.timeout ?? this.#config.requestTimeout,
      options.signal,
    );
  }

  #callsOf(): Calls {
    if (this.#calls !== null) return this.#calls;
    const calls = new Calls({
      config: () => this.#config,
      host: this.#host,
      frameLimit: () => this.delivery.frameLimit,
      closed: () => this.#phase === 'closed',
      ready: () => this.delivery.pump(),
      large: (message) => this.#large(message),
    });
    if (this.#window !== undefined) calls.window = this.#window;
    this.delivery.source = this;
    return (this.#calls = calls);
  }

  // --- messages out ----------------------------------------------------------------------------

  /**
   * Sends a value: sequenced (exactly once, in order, across reconnects: `'sent'` or
   * `'queued'`), or `volatile` (now or never: `'sent'` or `'dropped'`). A value over one frame
   * goes as a message stream (docs/protocol.md §13.4), up to `maxMessageSize`: delivered
   * once it is whole, so after the messages sent while it was on its way. Throws
   * `ERR_FRAME_TOO_LARGE` (a volatile one, or where this side or the peer takes no message
   * over one frame), `ERR_MESSAGE_TOO_LARGE`, and `ERR_QUEUE_FULL` under the `reject`
   * overflow policy.
   */
  send(
    topic: string | undefined,
    value: unknown,
    volatile: boolean,
    ttl: number,
  ): 'sent' | 'queued' | 'dropped' {
    let kind: PayloadKind;
    let payload: Uint8Array;
    // Bytes, the common case of a hot path, without the object encodePayload returns.
    if (value instanceof Uint8Array) {
      kind = 'binary';
      payload = value;
    } else ({ kind, payload } = encodePayload(value, this.#config.codec));
    const delivery = this.delivery;
    if (!messageFits(topic, payload, delivery.frameLimit)) {
      if (volatile) throw tooLarge(topic, payload, delivery.frameLimit);
      return this.post(topic, kind, payload, value);
    }
    if (volatile) return this.sendVolatile(topic, kind, payload) ? 'sent' : 'dropped';
    this.#host.queued?.(payload.byteLength);
    return delivery.enqueue({ topic, kind, payload, original: value }, ttl, true);
  }

  /**
   * Sends an encoded payload exactly once: in one frame when it fits, else as a message stream
   * (see `send`; the same errors). What the server fans out to its subscribers goes here.
   */
  post(
    topic: string | undefined,
    kind: PayloadKind,
    payload: Uint8Array,
    original?: unknown,
  ): 'sent' | 'queued' | 'dropped' {
    const delivery = this.delivery;
    if (messageFits(topic, payload, delivery.frameLimit)) {
      return delivery.enqueue({ topic, kind, payload, original }, Infinity);
    }
    const max = this.#config.limits.maxMessageSize;
    if (payload.byteLength > max) {
      throw new SocklineError(
        ErrorCodes.MESSAGE_TOO_LARGE,
        `message of ${payload.byteLength} bytes is over maxMessageSize (${max} bytes)`,
      );
    }
    this.#host.queued?.(payload.byteLength);
    this.#large({
      header: encodeMessage(topic, undefined, undefined, kind, EMPTY),
      payload,
      refused: (error) => {
        this.#host.dropped({ topic, kind, payload, original }, 'refused');
        this.#host.error?.(error);
      },
      closed: () => this.#host.dropped({ topic, kind, payload, original }, 'closed'),
    });
    return 'queued';
  }

  /** Writes an encoded payload without a sequence number; false if it was not written. */
  sendVolatile(topic: string | undefined, kind: PayloadKind, payload: Uint8Array): boolean {
    if (this.#phase !== 'open') return false;
    return (
      this.#host.write(encodeMessage(topic, undefined, undefined, kind, payload), undefined, true) !== false
    );
  }

  /**
   * Opens a stream to the peer (docs/protocol.md §13): see `OutgoingStream` in
   * `sockline/streams`. Throws `ERR_NOT_SUPPORTED` where this side or the peer takes no
   * stream, `ERR_TOO_MANY_STREAMS` at the peer's `maxStreams`.
   */
  openStream(meta: unknown, options?: unknown): unknown {
    if (this.#phase === 'closed')
      throw new SocklineError(ErrorCodes.CONNECTION_CLOSED, 'the session is over');
    if (this.#config.transfers === null) throw noTransfers('open a stream');
    return this.#transfersOf().open(meta, options);
  }

  /** Bytes held for the peer's incoming large messages and streams (for a memory budget). */
  get incoming(): number {
    return this.#transfers?.held ?? 0;
  }

  /** The connection can take more (its buffer drained): bulk frames may go again. */
  drained(): void {
    this.delivery.pump();
  }

  /** A message over one frame goes to the message streams, where there are any. */
  #large(message: LargeMessage): void {
    if (this.#config.transfers === null) {
      throw tooLarge(undefined, message.payload, this.delivery.frameLimit);
    }
    this.#transfersOf().send(message);
  }

  #transfersOf(): Transfers {
    if (this.#transfers !== null) return this.#transfers;
    const host: TransferHost = {
      codec: () => this.#config.codec,
      limits: () => this.#config.limits,
      peer: () => this.#peerLimits,
      budget: () => this.#config.budget,
      sequence: (seq, ack) => this.#sequenced(seq, ack),
      ready: () => this.delivery.pump(),
      ack: () => this.delivery.flushAck(),
      write: (frame) => {
        if (this.#phase === 'open') this.#host.write(frame);
      },
      deliver: (message, seq) => this.#whole(message, seq),
      fail: (reason) => this.#protocolError(reason),
      stream: (stream) => this.#host.stream?.(stream) === true,
      error: (error) => this.#host.error?.(error),
    };
    this.#transfers = this.#config.transfers!(host);
    this.delivery.source = this;
    return this.#transfers;
  }

  /**
   * The next sequenced frame besides the pending messages (see `SequencedSource`): answers,
   * then requests, then streams and large messages (their chunks only while the connection
   * holds little).
   */
  next(): OutgoingMessage | undefined {
    const calls = this.#calls;
    if (calls !== null) {
      const call = calls.next();
      if (call !== undefined) return call;
    }
    // The connection's room is measured only for a source of bulk frames.
    const transfers = this.#transfers;
    return transfers === null ? undefined : transfers.next(this.delivery.room());
  }

  /**
   * Client: adds a subscription handler (`+` one level, `#` the rest); the returned function
   * removes it. The server hears of a pattern once, and again after a lost session.
   */
  subscribe(pattern: string, handler: SubscriptionHandler): () => void {
    validatePattern(pattern);
    if (typeof handler !== 'function') throw argumentTypeError('handler', 'a function', handler);
    const subscriptions = (this.#subscriptions ??= new Subscriptions());
    if (subscriptions.add(pattern, handler) && this.#phase === 'open')
      this.#write({ type: 'subscribe', topic: pattern });
    return () => {
      if (subscriptions.remove(pattern, handler, this.#phase === 'open'))
        this.#write({ type: 'unsubscribe', topic: pattern });
    };
  }

  /** Measures the round trip now; rejects if the connection ends first. */
  ping(): Promise<number> {
    if (this.#phase !== 'open') {
      return Promise.reject(
        new SocklineError(ErrorCodes.CONNECTION_CLOSED, 'cannot ping: the link is not open'),
      );
    }
    const { nonce, promise } = this.#heartbeat!.ping(this.#config.clock.now());
    this.#write({ type: 'ping', nonce });
    return promise;
  }

  /**
   * Writes CLOSE (when a connection is attached): the last frame of this connection. An owed
   * acknowledgement goes first, so the peer learns that what it sent arrived (a writer whose
   * reader closes at the last byte sees its stream done, not lost with the session).
   */
  writeClose(code: number, reason: string, reconnectAfter?: number): void {
    if (this.#phase !== 'open') return;
    this.delivery.flushAck();
    this.#write({ type: 'close', code, reason, ...(reconnectAfter !== undefined ? { reconnectAfter } : {}) });
  }

  #write(frame: Frame): void {
    this.#host.write(encodeFrame(frame));
  }

  // --- time ------------------------------------------------------------------------------------

  /**
   * The clock reached `now`: a delayed ack goes out, requests past their deadline time out,
   * the heartbeat pings (and, on a server, a connection silent past interval + timeout ends
   * with CLOSE 4004). Returns the next deadline (Infinity for none).
   */
  tick(now: number): number {
    if (this.#phase === 'closed') return Infinity;
    this.delivery.tick(now);
    this.#calls?.expire(now);
    if (this.#heartbeat !== null) this.#beat(now);
    return this.deadline;
  }

  /** What the heartbeat finds due: a PING to write, or a peer silent too long (CLOSE 4004). */
  #beat(now: number): void {
    const heartbeat = this.#heartbeat!;
    const nonce = heartbeat.due(now);
    if (nonce > 0) this.#write({ type: 'ping', nonce });
    else if (nonce === DEAD) {
      this.#fail(
        CloseCodes.HEARTBEAT_TIMEOUT,
        new SocklineError(ErrorCodes.HEARTBEAT_TIMEOUT, `no frame for ${heartbeat.silentFor(now)} ms`),
      );
    }
  }

  // --- endings ---------------------------------------------------------------------------------

  /** A malformed frame or one that breaks a session rule: CLOSE 4000, and the connection ends. */
  #protocolError(reason: string, cause?: unknown): void {
    this.#fail(
      CloseCodes.PROTOCOL_ERROR,
      new SocklineError(ErrorCodes.PROTOCOL, reason, cause === undefined ? undefined : { cause }),
    );
  }

  #fail(code: number, error: SocklineError): void {
    if (this.#phase !== 'open') return;
    this.#write({ type: 'close', code, reason: error.message.slice(0, MAX_REASON) });
    this.detach(new SocklineError(ErrorCodes.CONNECTION_CLOSED, 'the connection closed', { cause: error }));
    this.#host.end(code, error);
  }

  /**
   * The connection ended (the session goes on, waiting for a resume). Requests, answers,
   * messages and streams wait for the next connection; only a `ping()` rejects with `error`.
   */
  detach(error: SocklineError): void {
    const phase = this.#phase;
    if (phase === 'detached' || phase === 'closed') return;
    // From here the server keeps the session `#keep` ms at most (a failed attempt changes nothing).
    if (phase === 'open' && this.#keep !== undefined)
      this.#keptUntil = this.#keep < 0 ? -Infinity : this.#config.clock.now() + this.#keep;
    this.#phase = 'detached';
    this.#heartbeat?.stop(error);
    this.#heartbeat = null;
    this.delivery.detach();
  }

  /**
   * Client: the server lost the session. Requests that had left fail with `ERR_SESSION_LOST`,
   * streams with it too; large messages start over in the new session (at least once, as the
   * unacknowledged messages do).
   */
  #lost(): void {
    this.#calls?.lost();
    this.#transfers?.lost(
      new SocklineError(ErrorCodes.SESSION_LOST, 'the session was lost: the server could not resume it'),
    );
  }

  /**
   * The session ended for good: everything outstanding rejects with `error`. Returns the
   * messages that were never acknowledged (for `drop` events).
   */
  close(error: SocklineError): OutgoingMessage[] {
    this.#phase = 'closed';
    this.#heartbeat?.stop(error);
    this.#heartbeat = null;
    this.delivery.detach();
    this.#calls?.close(error);
    this.#transfers?.close(error);
    return this.delivery.drain();
  }
}

/** Where this side took no `streams`: what it tried needs them. */
function noTransfers(what: string): SocklineError {
  return new SocklineError(
    ErrorCodes.NOT_SUPPORTED,
    `cannot ${what}: streams and messages over one frame need \`streams\` from 'sockline/streams' (connect(url, { streams }))`,
  );
}
