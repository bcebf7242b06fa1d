import { ErrorCodes, SocklineError } from '../../errors.js';
import {
  Capabilities,
  CloseCodes,
  type CloseFrame,
  type Frame,
  type HelloFrame,
  type PayloadKind,
} from '../frames.js';
import { encodeBatch } from '../batch.js';
import { decodeFrame } from '../frames-decode.js';
import { encodeFrame } from '../frames-encode.js';
import { isSocklineMade } from '../rpc.js';
import { newSessionSecret, ownedBy, ownerTag, unmatchableTag } from '../session-id.js';
import { DUE, UNSCHEDULED, type Timed } from './deadlines.js';
import {
  reportError,
  resolveServerSession,
  type HelloInfo,
  type ResolvedServerSession,
  type ServerSessionHooks,
  type ServerSessionOptions,
} from './options.js';
import {
  createSessionState,
  type ServerConnection,
  type SessionCarrier,
  type SessionState,
} from './session-state.js';

/**
 * `reconnectAfter` (ms) for a client turned away because too many resumes are being looked
 * up: drawn from `[LOOKUP_BUSY_RETRY, 2 × LOOKUP_BUSY_RETRY]`.
 */
const LOOKUP_BUSY_RETRY = 250;

const CONNECTION_CLOSED = 'the connection closed while the request was in flight';

/**
 * The server's role on one connection: the HELLO (its deadline and size cap, version and
 * codec, admission, authentication, resume or a new session, a shared store's lookup), then
 * the session's session endpoint (`Endpoint`) carries the protocol, its deadlines met by the server's one
 * scheduler. When the connection ends the session waits in the store for a resume.
 *
 * ```
 * hello ──HELLO checked, session found or made──▶ open ──connection ends──▶ closed
 *   └──── refused, turned away, timed out ─────────────────────────────────────┘
 * ```
 */
export class ServerSession implements Timed, SessionCarrier {
  readonly #connection: ServerConnection;
  readonly #server: ResolvedServerSession;
  readonly #hooks: ServerSessionHooks | undefined;
  #state: SessionState | null = null;
  /** `checking`: the HELLO came and is being decided (admission, authenticate, lookup). */
  #phase: 'hello' | 'checking' | 'open' | 'closed' = 'hello';
  /** This connection's slot in the server's scheduler: when it is due (rounded up), or UNSCHEDULED. */
  #slot = UNSCHEDULED;

  /**
   * `options` is meant to be shared by every connection of a server; `hooks` carries what is
   * specific to this one, so no per-connection copy of the options is made (it costs memory).
   */
  constructor(connection: ServerConnection, options: ServerSessionOptions, hooks?: ServerSessionHooks) {
    this.#connection = connection;
    this.#server = resolveServerSession(options);
    this.#hooks = hooks;
    this.#schedule(this.#server.clock.now() + this.#server.handshakeTimeout);
  }

  get session(): SessionState | null {
    return this.#state;
  }

  /** One frame body (or BATCH) from the connection. */
  receive(bytes: Uint8Array): void {
    const phase = this.#phase;
    if (phase === 'open') {
      const state = this.#state!;
      if (state.carrier === this) state.endpoint.receive(bytes);
      return;
    }
    if (phase === 'closed') return;
    if (phase === 'checking') {
      // docs/protocol.md §6.1: nothing but the HELLO until the answer.
      this.#fail(CloseCodes.PROTOCOL_ERROR, 'a frame before the answer to HELLO');
      return;
    }
    const limit = this.#server.maxHandshakeSize;
    if (bytes.byteLength > limit) {
      this.#fail(
        CloseCodes.PROTOCOL_ERROR,
        `HELLO of ${bytes.byteLength} bytes is over the ${limit}-byte cap`,
      );
      return;
    }
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (err) {
      this.#fail(CloseCodes.PROTOCOL_ERROR, (err as Error).message);
      return;
    }
    if (frame.type !== 'hello') {
      this.#fail(CloseCodes.PROTOCOL_ERROR, `expected HELLO, got ${frame.type.toUpperCase()}`);
      return;
    }
    this.#phase = 'checking';
    void this.#hello(frame);
  }

  /**
   * {@link receive} of the bytes `start` to `end` of `chunk` (a byte stream's frame read in
   * place): an open session's endpoint reads it without a view of the frame.
   */
  receiveRange(chunk: Uint8Array, start: number, end: number): void {
    const state = this.#state;
    if (this.#phase === 'open' && state!.carrier === this) state!.endpoint.receiveRange(chunk, start, end);
    else this.receive(chunk.subarray(start, end));
  }

  /** The connection ended: keep the session for resume, stop its deadlines. */
  closed(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#unschedule();
    const state = this.#state;
    if (state === null || state.carrier !== this) return;
    state.connection = null;
    state.carrier = null;
    state.endpoint.detach(new SocklineError(ErrorCodes.CONNECTION_CLOSED, CONNECTION_CLOSED));
    const { options, resumeWindow } = this.#server;
    const ended = options.onSessionEnd;
    options.store.expire(state, resumeWindow, ended && ((s) => ended(s, 'expired')));
    options.observer?.detached?.(state, resumeWindow);
  }

  /** Closes with a CLOSE frame; `reconnectAfter` tells the client when to come back. */
  close(code: number = CloseCodes.GOING_AWAY, reason = '', reconnectAfter?: number): void {
    if (this.#phase === 'closed') return;
    this.#connection.send(
      encodeFrame({
        type: 'close',
        code,
        reason,
        ...(reconnectAfter !== undefined ? { reconnectAfter } : {}),
      }),
    );
    this.#connection.close(code, reason);
    this.closed();
  }

  /**
   * Calls `method` on the client (a server → client request): see `Endpoint.request`. It
   * rides the session: made while the client is away it waits for it, written before a
   * reconnect it is answered after it; it fails with `ERR_SESSION_LOST` when the session ends.
   */
  request(
    method: string,
    params: unknown,
    options: { timeout?: number; signal?: AbortSignal } = {},
  ): Promise<unknown> {
    const state = this.#state;
    if (state === null) {
      return Promise.reject(new SocklineError(ErrorCodes.CONNECTION_CLOSED, 'no session yet'));
    }
    return state.endpoint.request(method, params, options);
  }

  /** The connection's buffer drained: what waited for room (stream chunks) may go. */
  drained(): void {
    const state = this.#state;
    if (this.#phase === 'open' && state !== null && state.carrier === this) state.endpoint.drained();
  }

  /** Writes a value without a sequence number: lost if the connection is down or refuses it. */
  sendVolatile(value: unknown): boolean {
    if (this.#phase !== 'open') return false;
    return this.#state!.endpoint.send(undefined, value, true, Infinity) === 'sent';
  }

  /** Writes an encoded payload as a volatile DATA frame (see `sendVolatile`). */
  sendVolatilePayload(kind: PayloadKind, payload: Uint8Array): boolean {
    if (this.#phase !== 'open') return false;
    return this.#state!.endpoint.sendVolatile(undefined, kind, payload);
  }

  /**
   * Sends a value to this session's client, exactly once across its reconnects. Throws
   * `ERR_FRAME_TOO_LARGE` for a value whose frame could be over `maxFrameSize`.
   */
  send(value: unknown): void {
    this.#state?.endpoint.send(undefined, value, false, Infinity);
  }

  // --- SessionCarrier: what the session's endpoint asks of this connection ------------------

  /** @internal The endpoint has something to do at `at`. */
  wake(at: number): void {
    if (this.#phase === 'open' && (this.#slot === UNSCHEDULED || at < this.#slot)) this.#schedule(at);
  }

  /** @internal The endpoint ended the connection: it wrote CLOSE `code`. */
  end(code: number, error: SocklineError): void {
    this.#connection.close(code, error.message);
    this.closed();
  }

  /** @internal The client sent CLOSE: 1000 ends the session, any other code leaves it resumable. */
  peerClosed(frame: CloseFrame): void {
    const state = this.#state!;
    this.#connection.close(frame.code, frame.reason);
    this.closed();
    // A client that says a normal goodbye will not resume: free its session now. After any
    // other close (a protocol error it saw) it will come back and resume.
    if (frame.code === CloseCodes.NORMAL) {
      this.#server.options.store.delete(state.id);
      this.#server.options.onSessionEnd?.(state, 'close');
    }
  }

  /**
   * The deadline came (called by the server's scheduler): before the session, the HELLO is
   * late; after it, the endpoint's (heartbeat, delayed ack, request timeouts).
   */
  [DUE](): void {
    this.#slot = UNSCHEDULED;
    if (this.#phase === 'hello' || this.#phase === 'checking') {
      this.#fail(CloseCodes.HANDSHAKE_TIMEOUT, `no HELLO within ${this.#server.handshakeTimeout} ms`);
      return;
    }
    const state = this.#state;
    if (this.#phase !== 'open' || state === null || state.carrier !== this) return;
    const next = state.endpoint.tick(this.#server.clock.now());
    if (this.#phase === 'open' && next !== Infinity && (this.#slot === UNSCHEDULED || next < this.#slot))
      this.#schedule(next);
  }

  // --- the HELLO ------------------------------------------------------------------------------

  async #hello(frame: HelloFrame): Promise<void> {
    const server = this.#server;
    const o = server.options;
    const versions = server.versions;
    const version = Math.max(...frame.versions.filter((v) => versions.includes(v)));
    if (!Number.isFinite(version)) {
      this.#refuse(
        ErrorCodes.VERSION_UNSUPPORTED,
        'no protocol version in common',
        versions,
        CloseCodes.VERSION_UNSUPPORTED,
      );
      return;
    }
    const codec = server.codec;
    if (frame.codec !== codec.name) {
      this.#refuse(
        ErrorCodes.BAD_PAYLOAD,
        `codec "${frame.codec}" is not spoken here (${codec.name})`,
        [],
        CloseCodes.PROTOCOL_ERROR,
      );
      return;
    }
    const wait = o.admission?.admit() ?? 0;
    if (wait > 0) {
      this.#defer('admission', 'server busy: come back later', wait);
      return;
    }
    let user: unknown;
    try {
      const hello: HelloInfo = { token: frame.token, versions: frame.versions, codec: frame.codec };
      // Called as methods: the hooks may be an object with methods on its prototype.
      const hooks = this.#hooks;
      user = await (hooks?.authenticate !== undefined ? hooks.authenticate(hello) : o.authenticate?.(hello));
    } catch (err) {
      // A refusal the application meant for the client (a SocklineError or RemoteError)
      // says why; any other exception may hold what the client must not see.
      const message = isSocklineMade(err)
        ? err.message
        : server.endpoint.exposeErrors
          ? err instanceof Error
            ? err.message
            : String(err)
          : 'authentication failed';
      this.#refuse(ErrorCodes.AUTH_FAILED, message, [], CloseCodes.AUTH_FAILED);
      return;
    }
    if (this.#phase !== 'checking') return;
    const store = o.store;
    const tag = this.#ownerTag(user);
    // The owner is part of the secret: a resume by another identity is refused before any
    // store is asked, so the owner's session (here or in another process) is not touched.
    const resume =
      frame.resume !== undefined && ownedBy(frame.resume.sessionId, tag) ? frame.resume : undefined;
    if (frame.resume !== undefined && resume === undefined) o.onResumeDenied?.();
    let state = resume ? store.get(resume.sessionId) : undefined;
    if (state === undefined && resume !== undefined && o.lookup !== undefined) {
      // Another process may have had the session: wait for it, under the handshake deadline
      // (which keeps running). A lookup that ends after the deadline leaves the session in the
      // store, waiting for the next attempt like any detached session.
      const lookup = o.lookup(resume.sessionId, resume.lastSeq);
      if (lookup === null) {
        // Spread over one more period, so the clients turned away together do not return together.
        this.#defer(
          'lookup',
          'too many resumes in progress',
          Math.ceil(LOOKUP_BUSY_RETRY * (1 + Math.random())),
        );
        return;
      }
      state = await lookup.catch(() => undefined);
      if (this.#phase !== 'checking') return;
      state ??= store.get(resume.sessionId);
    }
    this.#unschedule();
    const resumed = state !== undefined;
    if (state === undefined) {
      state = createSessionState(newSessionSecret(tag), o);
      store.add(state);
      o.observer?.created?.(state);
    } else {
      store.keep(state);
      // A resumed session may still be carried by a connection not yet noticed dead.
      const previous = state.carrier;
      if (previous instanceof ServerSession) previous.#supersede();
      state.connection?.close();
      state.endpoint.detach(new SocklineError(ErrorCodes.CONNECTION_CLOSED, CONNECTION_CLOSED));
    }
    state.rebind(o);
    state.user = user;
    state.connection = this.#connection;
    state.carrier = this;
    this.#state = state;
    this.#phase = 'open';
    const batch =
      (frame.capabilities & Capabilities.BATCH) !== 0 && this.#connection.batch?.(encodeBatch) === true;
    // What WELCOME announces is what the session's endpoint runs with: the same config.
    const { announce, maxAnswering, limits } = server.endpoint;
    this.#connection.send(
      encodeFrame({
        type: 'welcome',
        version,
        sessionId: state.id,
        resumed,
        batch,
        heartbeatInterval: announce!.heartbeatInterval,
        heartbeatTimeout: announce!.heartbeatTimeout,
        lastSeq: state.delivery.confirmed,
        maxFrameSize: announce!.maxFrameSize,
        maxInFlight: maxAnswering,
        resumeWindow: announce!.resumeWindow,
        maxMessageSize: limits.maxMessageSize,
        maxStreams: limits.maxStreams,
      }),
    );
    state.endpoint.accepted(state.id, resumed ? resume!.lastSeq : 0, frame.capabilities, frame.limits);
    o.observer?.attached?.(state);
    state.endpoint.open();
    if (this.#hooks?.onSession !== undefined) this.#hooks.onSession(state, resumed);
    else o.onSession?.(state, resumed);
  }

  /**
   * The owner tag of what `authenticate` returned. A user that cannot be identified gets a
   * tag no identity has: its session works, but can never be resumed (and that is reported).
   */
  #ownerTag(user: unknown): string {
    try {
      return ownerTag(this.#server.identify(user));
    } catch (err) {
      const error = new TypeError(
        `cannot identify the user that authenticate returned, so its session cannot be resumed (give it an id, or pass identify): ${
          err instanceof Error ? err.message : String(err)
        }`,
        { cause: err },
      );
      reportError(this.#server.options, error, null);
      return unmatchableTag();
    }
  }

  /** Another connection resumed the session: this one lets go of it without touching it. */
  #supersede(): void {
    this.#phase = 'closed';
    this.#unschedule();
  }

  /** Answers the HELLO with "come back in `ms`" (CLOSE 1001 with `reconnectAfter`). */
  #defer(cause: 'admission' | 'lookup', reason: string, ms: number): void {
    this.#hooks?.turnedAway?.(cause);
    this.close(CloseCodes.GOING_AWAY, reason, ms);
  }

  #refuse(code: string, message: string, versions: readonly number[], closeCode: number): void {
    if (this.#phase === 'closed') return;
    this.#connection.send(encodeFrame({ type: 'refuse', code, message, versions: [...versions] }));
    this.#fail(closeCode, message);
  }

  #fail(code: number, reason: string): void {
    this.close(code, reason.slice(0, 200));
  }

  // --- the scheduler -------------------------------------------------------------------------

  #schedule(at: number): void {
    this.#slot = this.#server.deadlines.schedule(this, at, this.#slot);
  }

  #unschedule(): void {
    this.#server.deadlines.cancel(this, this.#slot);
    this.#slot = UNSCHEDULED;
  }
}
