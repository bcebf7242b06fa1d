import { GuardedEmitter, type Disposer } from '../emitter.js';
import { messagesOf } from '../iteration.js';
import { ErrorCodes, SocklineError, callbackError, isSocklineError } from '../errors.js';
import type { DisconnectInfo } from '../link/options.js';
import type {
  DeferredInfo,
  Handshake,
  HandshakeContext,
  HandshakeReceiver,
  Link,
  ReconnectingInfo,
} from '../link/link.js';
import { sendTtl } from '../link/link.js';
import { batchWire } from '../link/batch-wire.js';
import type { LinkState } from '../link/state.js';
import { argumentTypeError, optionRangeError } from '../options/messages.js';
import { checkOptions } from '../options/validate.js';
import { installedAnswers, requireAnswers } from './answering.js';
import { encodeBatch } from './batch.js';
import { clientFrames } from './frames-decode.js';
import { encodeFrame } from './frames-encode.js';
import { CloseCodes, type CloseFrame } from './frames.js';
import { validateMethod, validateTopic } from './topics.js';
import { closedError, closeError, closeFailed, waitingFor } from './client-errors.js';
import { SuspectConnection } from './client-suspect.js';
import { DeadlineTimers } from './client-timers.js';
import { readHelloAnswer, unreadableAnswer, type HelloAnswer } from './client-handshake.js';
import { Endpoint, type EndpointHost } from './endpoint/endpoint.js';
import type { RequestStall } from './endpoint/host.js';
import type { SubscriptionHandler } from './endpoint/subscriptions.js';
import type { ResolvedProtocolOptions } from './options.js';
import type { IncomingStream, OutgoingStream, StreamMeta, StreamOptions } from '../streams/types.js';
import type { SocklineClient } from './client-api.js';

export type { SocklineClient } from './client-api.js';

/** What came with a message: its topic for a publish. */
export interface MessageMeta {
  readonly topic?: string;
}

export type { SubscriptionHandler } from './endpoint/subscriptions.js';
/**
 * Answers a request from the server. `P` is what the application expects as params (nothing
 * checks it); the result (or what it resolves to) is encoded by the codec.
 */
export type RequestHandler<P = unknown, R = unknown> = (params: P) => R | Promise<R>;

/** What `request()` accepts as options (checked on every call). */
const REQUEST_OPTIONS = { timeout: 'number', signal: 'object' } as const;

export interface ProtocolSendOptions {
  /** Never queued, never replayed: dropped if the link is down. @default false */
  volatile?: boolean;
  /** How long the message may wait to be written, in ms. @default Infinity */
  ttl?: number;
}

export interface RequestOptions {
  /** In ms, above 0 (`Infinity`: none). @default the client's `requestTimeout` */
  timeout?: number;
  signal?: AbortSignal;
}

export interface ClientEvents {
  state: (change: { from: LinkState; to: LinkState }) => void;
  /** The session is ready (after every handshake). */
  open: () => void;
  message: (value: unknown, meta: MessageMeta) => void;
  /** Every handshake: `resumed` says whether the previous session continued. */
  session: (info: { id: string; resumed: boolean }) => void;
  /**
   * The server could not resume the session: messages it had sent and we had not received
   * are gone, and `resent` unacknowledged messages of ours were sent again (possibly twice).
   */
  sessionlost: (info: { previousId: string; id: string; resent: number }) => void;
  disconnect: (info: DisconnectInfo) => void;
  reconnecting: (info: ReconnectingInfo) => void;
  /**
   * The server asked the client to come back later (admission control turning a HELLO away,
   * a server draining): normal operation, not an error. Counted in `deferrals`.
   */
  deferred: (info: DeferredInfo) => void;
  close: (info: { error?: Error | undefined }) => void;
  /**
   * The server opened a stream to this client (`peer.openStream(meta)`): read it from
   * `stream.readable`. Needs `streams` (from `sockline/streams`) in the options of `connect()`;
   * a stream that no listener takes is refused (`ERR_NOT_SUPPORTED` at the server).
   */
  stream: (stream: IncomingStream) => void;
  /**
   * Something failed: an I/O error, a protocol error, a refusal, or a listener or handler of
   * the application that threw (`ERR_CALLBACK`, with what it threw as `cause`).
   */
  error: (error: SocklineError) => void;
  drop: (value: unknown, reason: string) => void;
}

const NO_MESSAGE: MessageMeta = Object.freeze({});
/** A volatile frame's link options: the transport may lose it (a datagram's). */
const VOLATILE = Object.freeze({ volatile: true });

/**
 * sockline's protocol on top of the reconnecting link: a handshake on every connection,
 * messages delivered exactly once and in order across reconnects (sequence numbers, acks,
 * session resume), request/response, publish/subscribe, heartbeats.
 *
 * The protocol itself is the session endpoint (`Endpoint`, shared with the server); this class
 * is the client's role over a {@link Link}: the token and the HELLO on every connection, the
 * policy for refusals and deferrals, the timers for the endpoint's deadlines, and the errors
 * that say what happened to the application.
 *
 * @example
 * const client = connect('wss://example.com/ws', { token: () => fetchToken() });
 * client.subscribe('chat/+', (msg, { topic }) => console.log(topic, msg));
 * const sum = await client.request('sum', [1, 2]);
 */
export class FullClient extends GuardedEmitter<ClientEvents> implements SocklineClient {
  readonly #link: Link;
  readonly #options: ResolvedProtocolOptions;
  readonly #endpoint: Endpoint;
  readonly #handlers = new Map<string, (params: unknown) => unknown>();
  /** The handshake of the current attempt, until it completes or fails. */
  #ctx: HandshakeContext | null = null;
  #authFailure: { message: string; count: number } | undefined;
  /** A session was ever established (errors then say "lost", not "never connected"). */
  #everOpen = false;
  /** The last error the link reported: why the client is not connected, when it is not. */
  #lastError: SocklineError | undefined;
  /** Why the client closed, when it closed by itself. */
  #closeError: Error | undefined;
  /** The server's CLOSE on the current connection: its code and reason are the disconnect's. */
  #peerClose: CloseFrame | undefined;
  /**
   * What the server's last CLOSE said, until a connection opens: the error the client closes
   * with when that CLOSE ends it (1000, or any code with reconnecting off).
   */
  #closedBy: SocklineError | undefined;
  /** The server ended the session (CLOSE 1000): the client closes. */
  #ended = false;
  /** The timers behind the endpoint's deadlines. */
  readonly #timers: DeadlineTimers;
  /** The open connection while it is suspect (`suspect()`), until it is checked or ends. */
  #suspect: SuspectConnection | null = null;

  constructor(createLink: (handshake: Handshake) => Link, options: ResolvedProtocolOptions) {
    super();
    this.#options = options;
    const link = (this.#link = createLink(this.#handshake));
    this.#timers = new DeadlineTimers(options.clock, (now) => this.#endpoint.tick(now));
    this.#endpoint = new Endpoint(
      {
        role: 'client',
        codec: options.codec,
        frames: clientFrames,
        clock: options.clock,
        // Until a WELCOME says what the server takes, a frame is held to this side's own limit.
        delivery: { ...options.delivery, maxFrameSize: link.maxFrameSize },
        requestTimeout: options.requestTimeout,
        maxInFlight: options.maxInFlight,
        maxAnswering: Infinity,
        answers: installedAnswers(encodeFrame),
        exposeErrors: false,
        resume: options.resume,
        maxHandshakeSize: options.maxHandshakeSize,
        announce: null,
        transfers: options.transfers,
        limits: { ...options.limits, maxFrameSize: link.maxFrameSize },
        budget: null,
      },
      this.#host(),
    );
    link.on('state', (change) => this.emit('state', change));
    link.on('message', (message) => this.#endpoint.receive(message));
    link.on('open', this.#onOpen);
    link.on('disconnect', this.#onDisconnect);
    link.on('reconnecting', (info) => this.emit('reconnecting', info));
    link.on('deferred', (info) => this.emit('deferred', info));
    link.on('error', (error) => {
      this.#lastError = error;
      this.emit('error', error);
    });
    link.on('drop', (m, reason) => this.emit('drop', m, reason));
    // Chunks of streams and large messages wait while the link's buffer is full.
    link.on('drain', () => this.#endpoint.drained());
    link.on('close', this.#onClose);
  }

  get state(): LinkState {
    return this.#link.state;
  }

  /** Resolves when the first session is ready; rejects if the client closes first. */
  get opened(): Promise<void> {
    return this.#link.opened;
  }

  /** The current session's id, once a handshake has completed. */
  get sessionId(): string | undefined {
    return this.#endpoint.sessionId;
  }

  /** The last measured round-trip time to the server, in ms. */
  get rtt(): number | undefined {
    return this.#endpoint.rtt;
  }

  /** Times the server asked the client to come back later (see the `deferred` event). */
  get deferrals(): number {
    return this.#link.deferrals;
  }

  /** Bytes held for the server: messages not yet acknowledged plus the link's buffers. */
  get bufferedAmount(): number {
    return this.#endpoint.delivery.bufferedBytes + this.#link.bufferedAmount;
  }

  /**
   * Sends a value (bytes, text, or anything the codec encodes) to the server, exactly once
   * and in order across reconnects. Returns `'sent'` when written now, `'queued'` when it
   * waits for the link (bounded by the outbox), `'dropped'` for a volatile message while down.
   */
  send(value: unknown, options?: ProtocolSendOptions): 'sent' | 'queued' | 'dropped' {
    return this.#post(undefined, value, options);
  }

  /** Publishes to a topic: delivered to every subscriber, on any transport, exactly once. */
  publish(topic: string, value: unknown, options?: ProtocolSendOptions): 'sent' | 'queued' | 'dropped' {
    validateTopic(topic);
    return this.#post(topic, value, options);
  }

  /**
   * Subscribes to a topic pattern (`+` one level, `#` the rest). Returns a function that
   * unsubscribes. Subscriptions are restored after every reconnect. A handler that throws is
   * reported as an `'error'` (`ERR_CALLBACK`); the other handlers still run. A subscription
   * the server refuses (its `maxSubscriptions`) is an `'error'` too
   * (`ERR_TOO_MANY_SUBSCRIPTIONS`, with the pattern as `topic`).
   */
  subscribe<T = unknown>(pattern: string, handler: SubscriptionHandler<T>): Disposer {
    return this.#endpoint.subscribe(pattern, handler as SubscriptionHandler);
  }

  /**
   * Calls `method` on the server and resolves with its result, as `T` (what the application
   * expects; nothing checks it). Settles exactly once, and never throws: misuse (a bad method
   * name, params the codec cannot encode, a bad option) rejects too. It rejects with a
   * {@link RemoteError} (`ERR_REMOTE`, with `remoteCode` and `data`) when the handler refused
   * on purpose, a `SocklineError` of sockline's code when the server did (`ERR_UNKNOWN_METHOD`,
   * `ERR_TOO_MANY_REQUESTS`, `ERR_INTERNAL`…), `ERR_REQUEST_TIMEOUT` (saying when the client
   * never connected), `ERR_ABORTED`, `ERR_SESSION_LOST` when the server could not resume the
   * session it was sent in, `ERR_CLIENT_CLOSED` after `close()`, or the error that closed the
   * client. A connection that drops and resumes fails nothing: the request is sequenced, so it
   * is answered after the resume and the server runs it exactly once. An error without an
   * answer says in `sent` whether the request had left the client (`false`: the server never
   * runs it, so retrying is safe). At most the server's `maxInFlight` (from WELCOME) are
   * written at once; the others wait in order, also while the link is down. Params over
   * `maxFrameSize` go as a stream of frames (with `streams`), up to `maxMessageSize`.
   *
   * @example
   * const sum = await client.request<number>('sum', [1, 2]);
   */
  request<T = unknown>(method: string, params?: unknown, options?: RequestOptions): Promise<T> {
    try {
      validateMethod(method);
      if (options !== undefined) checkOptions(options, REQUEST_OPTIONS);
      const timeout = options?.timeout ?? this.#options.requestTimeout;
      if (!(timeout > 0)) throw optionRangeError('timeout', timeout, '> 0, or Infinity');
      const state = this.#link.state;
      if (state === 'closed' || state === 'closing') throw this.#closedError(`cannot request "${method}"`);
      return this.#endpoint.request(method, params, { timeout, signal: options?.signal }) as Promise<T>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Answers requests the server makes to this client (`peer.request(method, params)`). To
   * refuse on purpose, throw a {@link RemoteError} (its code, message and `data` reach the
   * caller). Any other exception is reported here as an `'error'` (`ERR_CALLBACK`) and
   * reaches the caller as `ERR_INTERNAL`, without its message. In a browser bundle it needs
   * `import 'sockline/handle'` once (`ERR_NOT_SUPPORTED` otherwise); without it, every request
   * of the server is answered `ERR_UNKNOWN_METHOD`.
   *
   * @example
   * import 'sockline/handle';
   * client.handle('confirm', async (question: string) => confirm(question));
   */
  handle<P = unknown, R = unknown>(method: string, handler: RequestHandler<P, R>): Disposer {
    requireAnswers();
    if (typeof method !== 'string' || method.length === 0)
      throw argumentTypeError('method', 'a non-empty string', method);
    if (typeof handler !== 'function') throw argumentTypeError('handler', 'a function', handler);
    const answer = handler as (params: unknown) => unknown;
    this.#handlers.set(method, answer);
    return () => {
      if (this.#handlers.get(method) === answer) this.#handlers.delete(method);
    };
  }

  /**
   * Opens a stream to the server, which gets it as its `stream` event: write the bytes to
   * `writable`; `writable.close()` resolves once the server has every byte. Memory stays
   * within the server's credit window whatever the producer's speed (`writer.ready` waits);
   * `writable.abort(reason)` ends it at both ends. It survives reconnects exactly once; a lost
   * session fails it (`ERR_SESSION_LOST`). Needs `streams` (from `sockline/streams`) in the
   * options of `connect()` (`ERR_NOT_SUPPORTED` otherwise); `ERR_TOO_MANY_STREAMS` at the
   * server's `maxStreams`.
   *
   * @example
   * const upload = client.openStream({ name: file.name, size: file.size, type: file.type });
   * await file.stream().pipeTo(upload.writable);
   */
  openStream(meta: StreamMeta = {}, options?: StreamOptions): OutgoingStream {
    const state = this.#link.state;
    if (state === 'closed' || state === 'closing') throw this.#closedError('cannot open a stream');
    return this.#endpoint.openStream(meta, options) as OutgoingStream;
  }

  /** Measures the round trip to the server now; rejects if the connection drops first. */
  ping(): Promise<number> {
    return this.#endpoint.ping();
  }

  reconnect(): void {
    this.#link.reconnect();
  }

  /**
   * The network is back (the browser's `online`, a page visible again): a client waiting to
   * reconnect tries now, with the backoff reset; a connection held as suspect is checked
   * with a PING: answered within `probeTimeout`, what was held goes out on it; not, it is
   * dropped (`disconnect` with `ERR_HEARTBEAT_TIMEOUT`) and the session resumes on a new one
   * at once.
   */
  wake(): void {
    const suspect = this.#suspect;
    if (suspect === null) {
      this.#link.wake();
      return;
    }
    suspect.probe((alive) => {
      if (this.#suspect !== suspect) return;
      if (alive) {
        this.#suspect = null;
        suspect.release((frame) => this.#link.send(frame));
        return;
      }
      this.#link.suspend(suspect.failure);
      this.#link.wake();
    });
  }

  /**
   * The network went away (the browser's `offline`): the open connection may die without a
   * sign, so nothing that matters is written into it until `wake()` checks it. Requests wait
   * unwritten, sequenced messages are held in order (the session resends them if the
   * connection is lost, so each still arrives exactly once), volatile ones are dropped.
   * Nothing changes while no connection is open. The browser build calls it on `offline`.
   */
  suspect(): void {
    if (this.#link.state === 'open' && this.#suspect === null)
      this.#suspect = new SuspectConnection(this.#endpoint, this.#options.clock, this.#options.probeTimeout);
  }

  /**
   * The page is about to be frozen (kept in the back/forward cache): the connection ends
   * (CLOSE 1001: the server keeps the session for its `resumeWindow`) and the client waits,
   * without retrying, until `wake()`, which resumes the session. The browser build calls it
   * on `pagehide` with `persisted`, and `wake()` on `pageshow`.
   */
  suspend(): void {
    if (this.#link.state === 'open') this.#endpoint.writeClose(CloseCodes.GOING_AWAY, 'suspended');
    this.#link.suspend();
  }

  unref(): this {
    this.#link.unref();
    this.#timers.unref();
    return this;
  }

  ref(): this {
    this.#link.ref();
    return this;
  }

  /**
   * Closes gracefully (a CLOSE frame, then the link). Pending requests reject with
   * `ERR_CLIENT_CLOSED`. A bad code or reason rejects.
   */
  close(code: number = CloseCodes.NORMAL, reason = ''): Promise<void> {
    if (!Number.isInteger(code) || code < 0 || code > 0xffff)
      return Promise.reject(optionRangeError('code', code, 'an integer from 0 to 65535'));
    if (typeof reason !== 'string') return Promise.reject(argumentTypeError('reason', 'a string', reason));
    if (this.#link.state === 'open') this.#endpoint.writeClose(code, reason);
    return this.#link.close();
  }

  /**
   * Messages (not publishes) as an async iterator, ending when the client closes. Needs
   * `import 'sockline/iterate'` (else `ERR_NOT_SUPPORTED`).
   */
  [Symbol.asyncIterator](): AsyncGenerator<unknown, void, undefined> {
    return messagesOf<unknown>(
      this,
      this.#link.state === 'closed',
      () => this.#link.pause(),
      () => this.#link.resume(),
    );
  }

  // --- the role: what the endpoint writes and tells -----------------------------------------

  #host(): EndpointHost {
    const link = this.#link;
    return {
      write: (frame, seq, volatile) => {
        if (link.state !== 'open') return;
        const held = this.#suspect?.take(frame, seq, volatile);
        if (held !== undefined) return held;
        link.send(frame, volatile === true ? VOLATILE : undefined);
      },
      room: () => link.highWaterMark - link.bufferedAmount,
      stream: (stream) => {
        if (this.listenerCount('stream') === 0) return false;
        this.emit('stream', stream as IncomingStream);
        return true;
      },
      wake: (at) => {
        if (link.state !== 'closed') this.#timers.arm(at);
      },
      dropped: (message, reason) => this.emit('drop', message.original, reason),
      message: (value) => this.emit('message', value, NO_MESSAGE),
      handler: (method) => this.#handlers.get(method),
      // A handler that refused on purpose threw a RemoteError (answered as it is); anything
      // else is the application's failure, reported here and answered `ERR_INTERNAL`.
      handlerFailed: (method, error) =>
        this.emit('error', callbackError(`the handler of '${method}'`, error)),
      stalled: this.#stalled,
      error: (error) => this.emit('error', error),
      // A protocol error: the endpoint wrote CLOSE; a new connection resumes the session.
      end: (_code, error) => {
        this.emit('error', error);
        link.reconnect();
      },
      closed: (frame) => {
        this.#peerClose = frame;
        this.#closedBy = closeError(frame);
        if (frame.reconnectAfter !== undefined)
          link.deferReconnect(frame.reconnectAfter, `${frame.code}: ${frame.reason}`);
        else if (frame.code === CloseCodes.NORMAL) {
          // The session is over (docs/protocol.md §5.3): a new one is not what the server wants.
          this.#ended = true;
          void link.close();
        }
      },
    };
  }

  /** Every connection: a fresh token, then the HELLO; then its answer. */
  #handshake: Handshake = (ctx: HandshakeContext): HandshakeReceiver => {
    this.#ctx = ctx;
    const hello = async (): Promise<void> => {
      const token = await this.#options.token();
      if (this.#ctx === ctx) ctx.send(this.#endpoint.hello(token));
    };
    hello().catch((err: unknown) => {
      if (this.#ctx !== ctx) return;
      this.#ctx = null;
      ctx.fail(new SocklineError(ErrorCodes.AUTH_FAILED, 'the token provider failed', { cause: err }), true);
    });
    // The first message is the answer, even one that came before the HELLO left (a server
    // that turns the connection away at once).
    const answered = (answer: HelloAnswer): void => {
      if (this.#ctx !== ctx) return;
      this.#ctx = null;
      this.#answered(ctx, answer);
    };
    return {
      message: (message) => answered(readHelloAnswer(message, this.#options.maxHandshakeSize)),
      unreadable: (error) => answered(unreadableAnswer(error)),
    };
  };

  /**
   * The server answered: a WELCOME opens the session (the link completes, its `open` opens
   * the endpoint); anything else ends the attempt, retried or not by this role's policy.
   */
  #answered(ctx: HandshakeContext, answer: HelloAnswer): void {
    const link = this.#link;
    if ('welcome' in answer) {
      const { welcome, rest } = answer;
      const { resumed, previousId, resent } = this.#endpoint.welcomed(welcome);
      this.#authFailure = undefined;
      link.setIdleTimeout(welcome.heartbeatInterval + welcome.heartbeatTimeout);
      if (welcome.batch === true) ctx.batch(batchWire(encodeBatch));
      ctx.complete();
      this.emit('session', { id: welcome.sessionId, resumed });
      if (previousId !== undefined) this.emit('sessionlost', { previousId, id: welcome.sessionId, resent });
      // The rest of a BATCH that carried the WELCOME belongs to the session now open.
      for (const body of rest) this.#endpoint.receive(body);
      return;
    }
    if ('defer' in answer) {
      // "Come back later": the next attempt waits what the server asked; not a failure.
      ctx.defer(answer.defer, answer.reason);
      return;
    }
    const { error, refuse } = answer;
    let retry = answer.retry;
    if (refuse !== undefined && error.code === ErrorCodes.AUTH_FAILED) {
      // The same refusal again and again will not change by itself: stop hammering.
      const same = this.#authFailure?.message === refuse.message;
      this.#authFailure = { message: refuse.message, count: same ? this.#authFailure!.count + 1 : 1 };
      retry = this.#authFailure.count < this.#options.authRetries;
    }
    ctx.fail(error, retry);
  }

  #post(
    topic: string | undefined,
    value: unknown,
    options: ProtocolSendOptions | undefined,
  ): 'sent' | 'queued' | 'dropped' {
    const state = this.#link.state;
    if (state === 'closing' || state === 'closed') {
      throw new SocklineError(ErrorCodes.CLIENT_CLOSED, `cannot send: the client is ${state}`);
    }
    const ttl = sendTtl(options, this.#options.delivery.ttl);
    const volatile = options?.volatile === true;
    const result = this.#endpoint.send(topic, value, volatile, ttl);
    if (volatile && result === 'dropped') this.emit('drop', value, 'volatile');
    return result;
  }

  #onOpen = (): void => {
    this.#everOpen = true;
    this.#lastError = undefined;
    this.#closedBy = undefined;
    this.#endpoint.open();
    this.emit('open');
  };

  #onDisconnect = (link: DisconnectInfo): void => {
    this.#ctx = null;
    // The server's CLOSE says why, on every transport (a TCP socket has no close code of its
    // own); a code that says what failed (4004: a heartbeat timeout) is an error too.
    const frame = this.#peerClose;
    this.#peerClose = undefined;
    let info = link;
    if (frame !== undefined) {
      const error = closeFailed(frame.code) ? this.#closedBy : undefined;
      if (error !== undefined) this.emit('error', error);
      info = { code: frame.code, reason: frame.reason, error: error ?? link.error, wasOpen: link.wasOpen };
    }
    // Requests, messages and streams wait for the next connection; a ping() in flight fails
    // with this error (when the connection ends because close() was called, that is the reason).
    const state = this.#link.state;
    const closing = !this.#ended && (state === 'closing' || state === 'closed');
    this.#endpoint.detach(
      new SocklineError(
        closing ? ErrorCodes.CLIENT_CLOSED : ErrorCodes.CONNECTION_CLOSED,
        closing
          ? 'the client closed while the request was in flight'
          : 'the connection closed while the request was in flight',
        { cause: info.error },
      ),
    );
    this.#endSuspicion();
    this.emit('disconnect', info);
  };

  #onClose = (closed: { error?: Error | undefined }): void => {
    this.#ctx = null;
    // Closed after the server's CLOSE (1000, or reconnecting off): that CLOSE says why.
    const by = this.#closedBy;
    const ended =
      by !== undefined && (this.#ended || isSocklineError(closed.error, ErrorCodes.CONNECTION_CLOSED));
    const info = ended ? { error: by } : closed;
    this.#closedBy = undefined;
    this.#ended = false;
    this.#closeError = info.error;
    const unsent = this.#endpoint.close(this.#closedError('the request could not complete'));
    this.#endSuspicion();
    this.#timers.clear();
    for (const message of unsent) this.emit('drop', message.original, 'closed');
    this.emit('close', info);
  };

  /** The connection is gone: a suspicion of it ends (after the endpoint let go of it). */
  #endSuspicion(): void {
    this.#suspect?.end();
    this.#suspect = null;
  }

  #closedError(what: string): SocklineError {
    return closedError(what, this.#closeError, this.#everOpen);
  }

  /** Why a request is still waiting when it times out, if it is not the server's doing. */
  #stalled = (): RequestStall | undefined => {
    if (this.#suspect !== null) return { note: 'the network went offline and has not come back' };
    return this.#link.state === 'open' ? undefined : waitingFor(this.#everOpen, this.#lastError);
  };
}
