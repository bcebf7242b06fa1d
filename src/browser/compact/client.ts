import type { Clock, TimerHandle } from '../../core/clock.js';
import { SmallEmitter, type Disposer } from '../../core/emitter.js';
import { ErrorCodes, RemoteError, SocklineError, callbackError, type ErrorCode } from '../../core/errors.js';
import type { DisconnectInfo } from '../../core/link/options.js';
import type { LinkMessage } from '../../core/link/types.js';
import { messagesOf } from '../../core/iteration.js';
import { installedSideAnswers, type SideAnswers } from '../../core/protocol/answering.js';
import type { RequestHandler } from '../../core/protocol/client.js';
import type { CompactHandshake as Handshake, CompactHandshakeContext as HandshakeContext } from './link.js';
import type { LinkState } from '../../core/link/state.js';
import type { ClientEvents, ProtocolSendOptions, RequestOptions } from '../../core/protocol/client.js';
import type { SocklineClient } from '../../core/protocol/client-api.js';
import type { CompactOptions } from './session-options.js';
import { argumentTypeError, optionRangeError } from '../../core/options/messages.js';
import { PAYLOAD_KINDS, decodePayload, encodePayload } from '../../core/protocol/codec.js';
import { topicMatches, validateMethod, validatePattern, validateTopic } from '../../core/protocol/topics.js';
import * as F from './codec.js';
import { checkSchema, sendTtl } from './options.js';

/** What the compact client needs of its link (the Handshake contract, and a few calls). */
export interface CompactLinkLike {
  readonly state: LinkState;
  readonly opened: Promise<void>;
  readonly deferrals: number;
  readonly bufferedAmount: number;
  on(event: string, listener: (...args: never[]) => void): Disposer;
  send(message: LinkMessage): unknown;
  reconnect(): void;
  wake(): void;
  suspend(error?: SocklineError): void;
  close(): Promise<void>;
  deferReconnect(ms: number, reason: string): void;
  unref(): unknown;
  ref(): unknown;
}

export type { CompactOptions } from './session-options.js';

/** A message or a request waiting to be numbered and written. */
interface Item {
  /** Frame type and flags (payload kind; seq and ack are added when written). */
  t: number;
  f: number;
  /** The body after seq and ack. */
  b: Uint8Array;
  /** The value as the application gave it (for `drop`); none for a RESPONSE. */
  v?: unknown;
  /** Expiry (ms since epoch), Infinity for none. */
  x: number;
  /** Its seq once written, 0 before. */
  q: number;
  /** Its payload's bytes: what it counts against `outbox.maxBytes` (0 for what is not a message). */
  s: number;
}

/** A request: its item, and how it settles. */
interface Call extends Item {
  id: number;
  ok: (value: unknown) => void;
  no: (error: SocklineError) => void;
  /** Ends its timer and its signal listener. */
  end: () => void;
}

/** Received frames acknowledged at once, without waiting for ackDelay (as the full client). */
const ACK_EVERY = 32;
const HELLO_CAPS = 1 | 2 | 4 | 16; // RELIABLE, PUBSUB, RPC, SUBREFUSE: no BATCH, LARGE, STREAMS
/** Counted at its largest: type, flags, an 8-byte seq and an 8-byte ack (docs/protocol.md §1). */
const OVERHEAD = 18;
const KNOWN = new Set<string>(Object.values(ErrorCodes));
/**
 * Close codes that say what failed (§5.3), from 4000 to 4009 by their offset from 4000; others
 * are `ERR_CONNECTION_CLOSED`.
 */
const CLOSE_CODES: Array<ErrorCode | undefined> = [
  ErrorCodes.PROTOCOL,
  ErrorCodes.AUTH_FAILED,
  ErrorCodes.VERSION_UNSUPPORTED,
  ErrorCodes.HANDSHAKE_TIMEOUT,
  ErrorCodes.HEARTBEAT_TIMEOUT,
  ...Array<undefined>(4),
  ErrorCodes.TOO_MANY_REQUESTS,
];

const err = (code: ErrorCode, message: string, cause?: unknown): SocklineError =>
  new SocklineError(code, message, cause === undefined ? undefined : { cause });

/** An error the server sent (RESPONSE, SUBREFUSE): sockline's own code, or a RemoteError. */
function remote(code: string, message: string, data?: unknown): SocklineError {
  if (!KNOWN.has(code)) return new RemoteError(code, message, { data });
  const e = err(code as ErrorCode, message);
  e.remoteCode = code;
  return e;
}

/**
 * sockline's protocol for a browser bundle: the client role of wire v2 (docs/protocol.md) and
 * nothing else, over a reconnecting link. What it does is what the full client does, with the
 * same events, error codes and options: a handshake with a token on every connection, messages
 * exactly once and in order across reconnects (seq, ack, replay, resume), requests that ride
 * the session, publish/subscribe with `+`/`#`, heartbeats, a bounded outbox and the page
 * lifecycle. `sockline/handle`, `sockline/iterate` and `sockline/verbose` add to it what they
 * add to the full client; streams and messages over one frame need the full client
 * (`connect` from `sockline/streams`).
 */
export class CompactClient extends SmallEmitter<ClientEvents> implements SocklineClient {
  readonly #o: CompactOptions;
  readonly #link: CompactLinkLike;
  readonly #clock: Clock;
  #sid: string | undefined;
  /** The session is open on this connection (a WELCOME came, no disconnect since). */
  #up = false;
  /** `suspect()`: nothing that matters is written until a probe answers. */
  #suspect = false;
  /** Last seq written, highest ack received, last contiguous seq received, last ack written. */
  #out = 0;
  #acked = 0;
  #in = 0;
  #ackSent = 0;
  /** Written and not acknowledged, in seq order. */
  #replay: Item[] = [];
  #replayBytes = 0;
  /** Messages waiting to be written (the outbox), and requests waiting for their turn. */
  #queue: Item[] = [];
  #queueBytes = 0;
  #calls: Call[] = [];
  /** Requests not settled, by id; those written count against the server's maxInFlight. */
  readonly #pending = new Map<number, Call>();
  #inFlight = 0;
  #nextId = 0;
  /** Subscription patterns and their handlers; patterns to unsubscribe once connected. */
  readonly #subs = new Map<string, Array<(value: unknown, meta: { topic: string }) => void>>();
  readonly #unsubs = new Set<string>();
  /** Pings in flight by nonce. */
  readonly #pings = new Map<number, [number, (rtt: number) => void, (e: SocklineError) => void]>();
  #nonce = 0;
  #rtt: number | undefined;
  /** From the WELCOME: heartbeat interval and timeout, frame size, requests in flight, resume window. */
  #hb: [number, number] = [0, 0];
  #limit: number;
  #maxInFlight = Infinity;
  #window = Infinity;
  /** When the last frame came, and when the last connection ended. */
  #heard = 0;
  #downAt = 0;
  #timers: Record<string, TimerHandle> = {};
  #unref = false;
  /** The server's CLOSE on this connection; the error a CLOSE that ends the client stands for. */
  #peerClose: [number, string] | undefined;
  #closedBy: SocklineError | undefined;
  #ended = false;
  #everOpen = false;
  #lastError: SocklineError | undefined;
  #closeError: Error | undefined;
  #auth: [string, number] | undefined;
  #ctx: HandshakeContext | null = null;
  /** What `sockline/handle` installed to run `handle()`'s handlers, made when first needed. */
  #answers: SideAnswers | undefined;

  constructor(createLink: (handshake: Handshake) => CompactLinkLike, options: CompactOptions) {
    super();
    this.#o = options;
    this.#clock = options.clock;
    this.#limit = options.maxFrameSize;
    const link = (this.#link = createLink(this.#handshake));
    const on = link.on.bind(link) as (event: string, listener: (...args: never[]) => void) => Disposer;
    const pass = (event: keyof ClientEvents) =>
      on(event, ((...args: never[]) =>
        (this.emit as (e: string, ...a: unknown[]) => void)(event, ...args)) as never);
    pass('state');
    pass('reconnecting');
    pass('deferred');
    on('error', ((e: SocklineError) => {
      this.#lastError = e;
      this.emit('error', e);
    }) as never);
    on('message', ((m: LinkMessage) => this.#receive(m)) as never);
    on('open', (() => this.#onOpen()) as never);
    on('disconnect', ((info: DisconnectInfo) => this.#onDisconnect(info)) as never);
    on('close', ((info: { error?: Error }) => this.#onClose(info)) as never);
  }

  get state(): LinkState {
    return this.#link.state;
  }

  get opened(): Promise<void> {
    return this.#link.opened;
  }

  get sessionId(): string | undefined {
    return this.#sid;
  }

  get rtt(): number | undefined {
    return this.#rtt;
  }

  get deferrals(): number {
    return this.#link.deferrals;
  }

  get bufferedAmount(): number {
    return this.#replayBytes + this.#queueBytes + this.#link.bufferedAmount;
  }

  send(value: unknown, options?: ProtocolSendOptions): 'sent' | 'queued' | 'dropped' {
    return this.#post(F.DATA, [], value, options);
  }

  publish(topic: string, value: unknown, options?: ProtocolSendOptions): 'sent' | 'queued' | 'dropped' {
    validateTopic(topic);
    return this.#post(F.PUBLISH, [topic], value, options);
  }

  subscribe<T = unknown>(pattern: string, handler: (value: T, meta: { topic: string }) => void): Disposer {
    validatePattern(pattern);
    if (typeof handler !== 'function') throw argumentTypeError('handler', 'a function', handler);
    const fn = handler as (value: unknown, meta: { topic: string }) => void;
    const list = this.#subs.get(pattern);
    if (list === undefined) {
      this.#subs.set(pattern, [fn]);
      if (!this.#unsubs.delete(pattern)) this.#frame(F.SUBSCRIBE, pattern);
    } else list.push(fn);
    return () => {
      const now = this.#subs.get(pattern);
      const at = now?.indexOf(fn) ?? -1;
      if (at < 0) return;
      now!.splice(at, 1);
      if (now!.length > 0) return;
      this.#subs.delete(pattern);
      if (this.#up) this.#frame(F.UNSUBSCRIBE, pattern);
      else this.#unsubs.add(pattern);
    };
  }

  request<T = unknown>(method: string, params?: unknown, options?: RequestOptions): Promise<T> {
    return new Promise<unknown>((ok, no) => {
      validateMethod(method);
      if (options !== undefined) checkSchema(options, { timeout: 'n', signal: 'o' });
      const timeout = options?.timeout ?? this.#o.requestTimeout;
      if (!(timeout > 0)) throw optionRangeError('timeout', timeout, '> 0, or Infinity');
      const signal = options?.signal;
      this.#closed(`cannot request "${method}"`);
      // In the full client's order: the params, then the signal, then the room in flight.
      const [f, payload] = this.#payload(params ?? null);
      const id = (this.#nextId = this.#nextId >= Number.MAX_SAFE_INTEGER ? 1 : this.#nextId + 1);
      const b = F.encode(0, 0, id, method, payload).subarray(2);
      this.#fits(b.byteLength, 'request');
      if (signal?.aborted === true)
        throw Object.assign(err(ErrorCodes.ABORTED, 'aborted', signal.reason), { sent: false });
      if (this.#pending.size >= this.#o.maxInFlight)
        throw Object.assign(
          err(ErrorCodes.TOO_MANY_REQUESTS, `maxInFlight (${this.#o.maxInFlight}) requests in flight`),
          { sent: false },
        );
      const fail = (code: ErrorCode, message: string, cause?: unknown): void =>
        this.#reject(call, err(code, message, cause));
      const onAbort = (): void => fail(ErrorCodes.ABORTED, `request "${method}" aborted`, signal!.reason);
      const timer =
        timeout === Infinity
          ? undefined
          : this.#clock.setTimeout(() => {
              const stall = this.#stall();
              fail(
                ErrorCodes.REQUEST_TIMEOUT,
                `request "${method}" timed out after ${timeout} ms${stall === '' ? '' : `: ${stall}`}`,
                stall === '' ? undefined : this.#lastError,
              );
            }, timeout);
      signal?.addEventListener('abort', onAbort);
      const call: Call = {
        t: F.REQUEST,
        f,
        b,
        v: params,
        x: Infinity,
        q: 0,
        s: 0,
        id,
        ok,
        no,
        end: () => {
          if (timer !== undefined) this.#clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      this.#pending.set(id, call);
      this.#calls.push(call);
      this.#pump();
    }) as Promise<T>;
  }

  /**
   * Answers requests the server makes to this client, as the full client's `handle()` does
   * (the same code runs them): needs `import 'sockline/handle'` once.
   */
  handle<P = unknown, R = unknown>(method: string, handler: RequestHandler<P, R>): Disposer {
    const answers = this.#answerer();
    if (answers === undefined) throw notSupported("handle() needs 'sockline/handle' imported once");
    return answers.handle(method, handler as RequestHandler);
  }

  openStream(): never {
    throw notSupported("openStream() needs { streams } from 'sockline/streams'");
  }

  /**
   * Messages (not publishes) as an async iterator, ending when the client closes. Needs
   * `import 'sockline/iterate'` (else `ERR_NOT_SUPPORTED`). A WebSocket cannot stop reading,
   * so a lagging loop does not pause the link (as on the full client over one).
   */
  [Symbol.asyncIterator](): AsyncGenerator<unknown, void, undefined> {
    return messagesOf<unknown>(this, this.#link.state === 'closed', noop, noop);
  }

  ping(): Promise<number> {
    return new Promise((ok, no) => {
      if (!this.#up) throw err(ErrorCodes.CONNECTION_CLOSED, 'not connected');
      const nonce = ++this.#nonce;
      this.#pings.set(nonce, [this.#clock.now(), ok, no]);
      this.#link.send(F.encode(F.PING, 0, nonce));
    });
  }

  reconnect(): void {
    this.#link.reconnect();
  }

  wake(): void {
    if (!this.#suspect) return this.#link.wake();
    // A connection held as suspect answers a PING within probeTimeout, or is dropped.
    this.#arm('probe', this.#o.probeTimeout, () => {
      this.#link.suspend(err(ErrorCodes.HEARTBEAT_TIMEOUT, 'no answer to a probe'));
      this.#link.wake();
    });
    this.ping().then(() => {
      this.#disarm('probe');
      this.#suspect = false;
      this.#pump();
    }, noop);
  }

  suspect(): void {
    if (this.#up) this.#suspect = true;
  }

  suspend(): void {
    if (this.#up) this.#sendClose(1001, 'suspended');
    this.#link.suspend();
  }

  unref(): this {
    this.#unref = true;
    this.#link.unref();
    for (const t of Object.values(this.#timers)) (t as { unref?: () => void }).unref?.();
    return this;
  }

  ref(): this {
    this.#link.ref();
    return this;
  }

  close(code = 1000, reason = ''): Promise<void> {
    if (!Number.isInteger(code) || code < 0 || code > 0xffff)
      return Promise.reject(optionRangeError('code', code, 'an integer from 0 to 65535'));
    if (typeof reason !== 'string') return Promise.reject(argumentTypeError('reason', 'a string', reason));
    if (this.#up) this.#sendClose(code, reason);
    return this.#link.close();
  }

  // --- sending ---------------------------------------------------------------------------------

  #post(
    t: number,
    head: F.Part[],
    value: unknown,
    options?: ProtocolSendOptions,
  ): 'sent' | 'queued' | 'dropped' {
    this.#closed('cannot send', true);
    const ttl = sendTtl(options, this.#o.ttl);
    const [f, payload] = this.#payload(value);
    const b = F.encode(0, 0, ...head, payload).subarray(2);
    this.#fits(b.byteLength, t === F.DATA ? 'send' : 'publish');
    if (options?.volatile === true) {
      if (this.#up && !this.#suspect) {
        this.#link.send(F.encode(t, f, b));
        return 'sent';
      }
      this.emit('drop', value, 'volatile');
      return 'dropped';
    }
    const size = payload.byteLength;
    const item: Item = {
      t,
      f,
      b,
      v: value,
      x: ttl === Infinity ? Infinity : this.#clock.now() + ttl,
      q: 0,
      s: size,
    };
    const { maxMessages, maxBytes, overflow } = this.#o;
    const full = (): boolean => this.#queue.length >= maxMessages || this.#queueBytes + size > maxBytes;
    if (size > maxBytes || full()) {
      if (overflow === 'reject') throw err(ErrorCodes.QUEUE_FULL, 'outbox full');
      // What could never fit is refused whatever the policy.
      if (size > maxBytes || overflow === 'drop-newest') {
        this.emit('drop', value, 'overflow');
        return 'dropped';
      }
      while (full()) this.#drop(this.#queue[0]!, 'overflow');
    }
    this.#queue.push(item);
    this.#queueBytes += size;
    if (ttl !== Infinity) this.#arm(`x${item.x}`, ttl, () => this.#expire());
    this.#pump();
    return item.q > 0 ? 'sent' : 'queued';
  }

  /** Writes what waits, messages and requests taking turns, within the replay bound and maxInFlight. */
  #pump(): void {
    if (!this.#up || this.#suspect) return;
    for (let moved = true; moved;) {
      moved = false;
      const m = this.#queue[0];
      if (m !== undefined && this.#room(m)) {
        this.#queue.shift();
        this.#queueBytes -= m.s;
        if (m.x <= this.#clock.now()) this.emit('drop', m.v, 'expired');
        else if (m.b.byteLength + OVERHEAD > this.#limit) this.emit('drop', m.v, 'too-large');
        else this.#sequence(m);
        moved = true;
      }
      const c = this.#calls[0];
      if (c !== undefined && this.#inFlight < this.#maxInFlight && this.#room(c)) {
        this.#calls.shift();
        if (c.b.byteLength + OVERHEAD > this.#limit) {
          this.#settle(c, err(ErrorCodes.FRAME_TOO_LARGE, `over maxFrameSize (${this.#limit} B)`));
        } else {
          this.#inFlight++;
          this.#sequence(c);
        }
        moved = true;
      }
    }
  }

  #room(item: Item): boolean {
    const d = this.#o;
    return (
      this.#replay.length === 0 ||
      (this.#replay.length < d.replayMessages && this.#replayBytes + item.b.byteLength <= d.replayBytes)
    );
  }

  /** Numbers a frame, keeps it for replay and writes it. */
  #sequence(item: Item): void {
    item.q = ++this.#out;
    this.#replay.push(item);
    this.#replayBytes += item.b.byteLength;
    this.#resend(item);
  }

  /** Writes a sequenced frame (again, on a resume) with its seq, and an owed ack riding on it. */
  #resend(item: Item): void {
    if (this.#up && this.#in > this.#ackSent) {
      this.#disarm('ack');
      this.#write(F.encode(item.t, item.f | 3, item.q, (this.#ackSent = this.#in), item.b));
    } else this.#write(F.encode(item.t, item.f | 2, item.q, item.b));
  }

  /** Writes an unsequenced frame of type `t` with no flags. */
  #frame(t: number, ...parts: F.Part[]): void {
    this.#write(F.encode(t, 0, ...parts));
  }

  #write(frame: Uint8Array): void {
    if (this.#up) this.#link.send(frame);
  }

  /** The payload kind's flag bits and bytes, by the rules every sockline sender follows. */
  #payload(value: unknown): [number, Uint8Array] {
    const { kind, payload } = encodePayload(value, this.#o.codec);
    return [PAYLOAD_KINDS.indexOf(kind) << 4, payload];
  }

  #fits(size: number, what: string): void {
    if (size + OVERHEAD > this.#limit)
      throw err(
        ErrorCodes.FRAME_TOO_LARGE,
        `cannot ${what} ${size} B: over maxFrameSize (${this.#limit} B); larger messages need 'sockline/streams'`,
      );
  }

  #drop(item: Item, reason: string): void {
    this.#queue.splice(this.#queue.indexOf(item), 1);
    this.#queueBytes -= item.s;
    this.emit('drop', item.v, reason);
  }

  #expire(): void {
    const now = this.#clock.now();
    for (const item of this.#queue.filter((i) => i.x <= now)) this.#drop(item, 'expired');
  }

  #settle(call: Call, error: SocklineError | undefined, value?: unknown): void {
    if (this.#pending.get(call.id) !== call) return;
    this.#pending.delete(call.id);
    call.end();
    const waiting = this.#calls.indexOf(call);
    if (waiting >= 0) this.#calls.splice(waiting, 1);
    else if (call.q > 0) this.#inFlight--;
    if (error === undefined) call.ok(value);
    else call.no(error);
    this.#pump();
  }

  /** Fails a request; `sent` says whether it was written (had a seq), so may have run. */
  #reject(call: Call, error: SocklineError): void {
    error.sent = call.q > 0;
    this.#settle(call, error);
  }

  #sendClose(code: number, reason: string): void {
    this.#ack();
    this.#frame(F.CLOSE, code, reason);
  }

  #ack(): void {
    this.#disarm('ack');
    if (this.#in > this.#ackSent) this.#frame(F.ACK, (this.#ackSent = this.#in));
  }

  // --- the handshake ---------------------------------------------------------------------------

  #handshake: Handshake = (ctx) => {
    this.#ctx = ctx;
    // A new attempt while a session was open: the link replaced that connection without a
    // disconnect (`reconnect()`, a protocol error). It counts as ended now, for the resume.
    if (this.#up) this.#down(err(ErrorCodes.CONNECTION_CLOSED, 'the connection closed'));
    void (async () => {
      let token: string | undefined;
      try {
        token = await this.#o.token();
      } catch (e) {
        if (this.#ctx === ctx) ctx.fail(err(ErrorCodes.AUTH_FAILED, 'the token provider failed', e), true);
        return;
      }
      if (this.#ctx !== ctx) return;
      const [hbi, hbt] = this.#hb;
      const resume =
        this.#o.resume &&
        this.#sid !== undefined &&
        this.#window > 0 &&
        this.#clock.now() - this.#downAt <= this.#window + hbi + hbt;
      const parts: F.Part[] = [1, 2, HELLO_CAPS, this.#o.codec.name];
      if (token !== undefined) parts.push(token);
      if (resume) parts.push(this.#sid!, this.#in);
      parts.push(this.#limit, 0, 0);
      ctx.send(F.encode(F.HELLO, (token !== undefined ? 1 : 0) | (resume ? 2 : 0) | 4, ...parts));
    })();
    const answered = (message: LinkMessage): void => {
      if (this.#ctx !== ctx) return;
      this.#ctx = null;
      this.#answer(ctx, message);
    };
    return {
      message: answered,
      unreadable: (e) => {
        if (this.#ctx !== ctx) return;
        this.#ctx = null;
        ctx.fail(notSockline('bytes that are not sockline frames', e), false);
      },
    };
  };

  #answer(ctx: HandshakeContext, message: LinkMessage): void {
    let frame: F.InFrame;
    // A text message has no byteLength: it passes this check, and decode refuses it.
    try {
      if ((message as Uint8Array).byteLength > this.#o.maxHandshakeSize)
        throw new Error(`a first message of ${(message as Uint8Array).byteLength} bytes`);
      frame = F.decode(message);
    } catch (e) {
      const echoed = (message as Uint8Array)[0] === F.HELLO;
      return ctx.fail(notSockline(echoed ? 'its own HELLO, echoed back' : (e as Error).message, e), false);
    }
    const [t, flags] = frame;
    if (t === F.WELCOME) {
      if (frame[4] !== 2)
        return ctx.fail(
          err(ErrorCodes.VERSION_UNSUPPORTED, `the server chose version ${frame[4] as number}`),
          false,
        );
      this.#auth = undefined;
      const lost = this.#welcome(frame);
      ctx.complete();
      this.emit('session', { id: this.#sid!, resumed: (flags & 1) === 1 && lost === undefined });
      if (lost !== undefined)
        this.emit('sessionlost', { previousId: lost[0], id: this.#sid!, resent: lost[1] });
      return;
    }
    if (t === F.REFUSE) {
      const [code, text, versions] = frame.slice(4) as [string, string, number[]];
      if (code === ErrorCodes.VERSION_UNSUPPORTED) {
        const e = err(
          ErrorCodes.VERSION_UNSUPPORTED,
          `the server speaks versions [${versions.join(', ')}], not 2`,
        );
        e.versions = versions;
        return ctx.fail(e, false);
      }
      if (code === ErrorCodes.AUTH_FAILED) {
        const n = this.#auth?.[0] === text ? this.#auth[1] + 1 : 1;
        this.#auth = [text, n];
        return ctx.fail(
          err(ErrorCodes.AUTH_FAILED, `authentication failed: ${text}`),
          n < this.#o.authRetries,
        );
      }
      return ctx.fail(err(ErrorCodes.PROTOCOL, `the server refused: ${code} ${text}`), true);
    }
    if (t === F.CLOSE) {
      const [code, reason, after] = frame.slice(4) as [number, string, number?];
      if (after !== undefined) return ctx.defer(after, `${code}: ${reason}`);
      return ctx.fail(closeError(code, reason), true);
    }
    ctx.fail(notSockline(`frame type ${t}`), false);
  }

  /** Takes a WELCOME: the session continues, or is new (then the previous id and what is sent again). */
  #welcome(w: F.InFrame): [string, number] | undefined {
    const [, flags, , , , sid, hbi, hbt, lastSeq, maxFrame, maxInFlight, window] = w as number[];
    const previous = this.#sid;
    this.#hb = [hbi!, hbt!];
    this.#limit = Math.min(this.#o.maxFrameSize, maxFrame!);
    this.#maxInFlight = maxInFlight!;
    this.#window = window!;
    this.#sid = sid as unknown as string;
    if ((flags! & 1) === 1 && previous === this.#sid && lastSeq! <= this.#out) {
      this.#acknowledged(lastSeq!);
      return undefined;
    }
    this.#in = this.#ackSent = this.#out = this.#acked = 0;
    this.#unsubs.clear();
    // Answers still running belong to the lost session: they are dropped when they finish.
    this.#answers?.reset();
    // A request that had a seq may have run: it is not sent again (§7.3 step 4).
    for (const call of [...this.#pending.values()])
      if (call.q > 0) this.#reject(call, err(ErrorCodes.SESSION_LOST, 'session lost'));
    const again = this.#replay.filter((i) => i.t !== F.REQUEST && i.t !== F.RESPONSE);
    for (const item of again) item.q = 0;
    this.#queue.unshift(...again);
    for (const item of again) this.#queueBytes += item.s;
    this.#replay = [];
    this.#replayBytes = 0;
    return previous === undefined ? undefined : [previous, again.length];
  }

  #onOpen(): void {
    this.#up = true;
    this.#everOpen = true;
    this.#lastError = this.#closedBy = undefined;
    this.#heard = this.#clock.now();
    // What the server has not acknowledged goes again first, then the subscriptions.
    for (const item of this.#replay) this.#resend(item);
    for (const pattern of this.#unsubs) this.#frame(F.UNSUBSCRIBE, pattern);
    this.#unsubs.clear();
    for (const pattern of this.#subs.keys()) this.#frame(F.SUBSCRIBE, pattern);
    this.#beat();
    this.#idle();
    this.emit('open');
    this.#pump();
  }

  /** A PING every heartbeat interval measures the round trip. */
  #beat(): void {
    this.ping().catch(noop);
    if (this.#hb[0] > 0) this.#arm('beat', this.#hb[0], () => this.#beat());
  }

  /** No frame for heartbeat interval + timeout: the connection is dead (§8). */
  #idle(wait?: number): void {
    const limit = this.#hb[0] + this.#hb[1];
    if (!(limit > 0)) return;
    const due = this.#clock.now() + (wait ?? limit);
    this.#arm('idle', wait ?? limit, () => {
      const now = this.#clock.now();
      // Fired far too late: the page was frozen or throttled, which says nothing of the server.
      if (now - due > limit) this.#heard = now;
      const silent = now - this.#heard;
      if (silent < limit) return this.#idle(limit - silent);
      this.#link.suspend(err(ErrorCodes.HEARTBEAT_TIMEOUT, `no frame for ${silent} ms`));
      this.#link.wake();
    });
  }

  // --- receiving -------------------------------------------------------------------------------

  #receive(message: LinkMessage): void {
    if (!this.#up) return;
    this.#heard = this.#clock.now();
    let frame: F.InFrame;
    try {
      frame = F.decode(message);
    } catch (e) {
      return this.#fail(`malformed frame: ${(e as Error).message}`);
    }
    const [t, flags, seq, ack] = frame;
    if (ack >= 0 && !this.#acknowledged(ack)) return;
    if (seq > 0) {
      if (seq <= this.#in) return this.#arm('ack', this.#o.ackDelay, () => this.#ack());
      if (seq !== this.#in + 1) return this.#fail(`sequence gap: ${seq} after ${this.#in}`);
    }
    const payload = frame.at(-1) as Uint8Array;
    let value: unknown;
    if (t === F.DATA || t === F.PUBLISH || (t === F.RESPONSE && (flags & 4) === 0)) {
      try {
        value = this.#value(flags, payload);
      } catch (e) {
        if (t !== F.RESPONSE) return this.#fail((e as Error).message, ErrorCodes.BAD_PAYLOAD);
        value = e;
      }
    }
    if (seq > 0) {
      this.#in = seq;
      // As the full client: at once after ACK_EVERY unacknowledged, else within ackDelay.
      if (seq - this.#ackSent >= ACK_EVERY) this.#ack();
      else if (!this.#timers.ack) this.#arm('ack', this.#o.ackDelay, () => this.#ack());
    }
    switch (t) {
      case F.DATA:
        return this.emit('message', value, {});
      case F.PUBLISH: {
        const topic = frame[4] as string;
        for (const [pattern, handlers] of this.#subs)
          if (topicMatches(pattern, topic))
            for (const fn of [...handlers]) {
              try {
                fn(value, { topic });
              } catch (e) {
                this.emit('error', callbackError(`a subscriber of '${pattern}'`, e));
              }
            }
        return;
      }
      case F.REQUEST: {
        const [id, method] = frame.slice(4) as [number, string];
        const answers = this.#answerer();
        if (answers !== undefined) return answers.answer(flags, id, method, payload);
        // Without `sockline/handle` every method is unknown.
        return this.#respond(4, [id, ErrorCodes.UNKNOWN_METHOD, `no handler for "${method}"`]);
      }
      case F.RESPONSE: {
        const call = this.#pending.get(frame[4] as number);
        if (call === undefined || call.q === 0) return;
        if ((flags & 4) === 0)
          return value instanceof Error
            ? this.#settle(call, value as SocklineError)
            : this.#settle(call, undefined, value);
        const [code, text] = frame.slice(5) as [string, string];
        let data: unknown;
        if (payload.byteLength > 0 && !KNOWN.has(code))
          try {
            data = this.#value(flags, payload);
          } catch {
            // Details the codec refuses are left out; the code and message still say what failed.
          }
        return this.#settle(call, remote(code, text, data));
      }
      case F.SUBREFUSE: {
        const [topic, code, text] = frame.slice(4) as string[];
        const e = remote(code!, `subscription to "${topic}" refused: ${text}`);
        return this.emit('error', Object.assign(e, { topic }));
      }
      case F.PING:
        return this.#frame(F.PONG, frame[4] as number);
      case F.PONG: {
        const ping = this.#pings.get(frame[4] as number);
        this.#pings.delete(frame[4] as number);
        if (ping !== undefined) ping[1]((this.#rtt = this.#clock.now() - ping[0]));
        return;
      }
      case F.CLOSE: {
        const [code, reason, after] = frame.slice(4) as [number, string, number?];
        this.#peerClose = [code, reason];
        this.#closedBy = closeError(code, reason);
        if (after !== undefined) this.#link.deferReconnect(after, `${code}: ${reason}`);
        else if (code === 1000) {
          // The session is over (§5.3): a new one is not what the server wants.
          this.#ended = true;
          void this.#link.close();
        }
        return;
      }
      case F.ACK:
        return void this.#acknowledged(frame[4] as number);
      default:
        this.#fail(`frame type ${t}`);
    }
  }

  /** Sequences a RESPONSE: it rides the session, sent again on a resume, dropped with a lost session. */
  #respond(f: number, fields: F.Part[]): void {
    this.#sequence({
      t: F.RESPONSE,
      f,
      b: F.encode(0, 0, ...fields).subarray(2),
      x: Infinity,
      q: 0,
      s: 0,
    });
  }

  /** The answering code of `sockline/handle` over this client; undefined without the import. */
  #answerer(): SideAnswers | undefined {
    return (this.#answers ??= installedSideAnswers()?.({
      codec: this.#o.codec,
      frameLimit: () => this.#limit,
      closed: () => this.#link.state === 'closed',
      failed: (e) => this.emit('error', e),
      respond: (f, fields) => this.#respond(f, fields),
    }));
  }

  #value(flags: number, payload: Uint8Array): unknown {
    return decodePayload(PAYLOAD_KINDS[(flags >> 4) & 3]!, payload, this.#o.codec);
  }

  /** The server has every frame up to `seq`; false (and the connection dropped) for one never sent. */
  #acknowledged(seq: number): boolean {
    if (seq > this.#out) {
      this.#fail(`ack ${seq} of a frame never sent`);
      return false;
    }
    if (seq <= this.#acked) return true;
    this.#acked = seq;
    let n = 0;
    while (n < this.#replay.length && this.#replay[n]!.q <= seq)
      this.#replayBytes -= this.#replay[n++]!.b.byteLength;
    this.#replay.splice(0, n);
    this.#pump();
    return true;
  }

  /** A protocol error: CLOSE 4000, `error`, and a new connection that resumes the session. */
  #fail(reason: string, code: ErrorCode = ErrorCodes.PROTOCOL): void {
    this.#frame(F.CLOSE, 4000, reason);
    this.emit('error', err(code, reason));
    this.#link.reconnect();
  }

  // --- the connection ends ---------------------------------------------------------------------

  #onDisconnect(info: DisconnectInfo): void {
    this.#ctx = null;
    const close = this.#peerClose;
    this.#peerClose = undefined;
    if (close !== undefined) {
      const failed = close[0] !== 1000 && close[0] !== 1001 && close[0] !== 1013 ? this.#closedBy : undefined;
      if (failed !== undefined) this.emit('error', failed);
      info = { code: close[0], reason: close[1], error: failed ?? info.error, wasOpen: info.wasOpen };
    }
    const state = this.#link.state;
    this.#down(
      !this.#ended && (state === 'closing' || state === 'closed')
        ? err(ErrorCodes.CLIENT_CLOSED, 'the client closed')
        : err(ErrorCodes.CONNECTION_CLOSED, 'the connection closed', info.error),
    );
    this.emit('disconnect', info);
  }

  /**
   * The connection is gone: it ended (`disconnect`), or the link replaced it with a new attempt
   * (`reconnect()`, a protocol error). Pings in flight fail with `error`; the rest waits.
   */
  #down(error: SocklineError): void {
    if (this.#up) this.#downAt = this.#clock.now();
    this.#up = this.#suspect = false;
    for (const name of ['ack', 'beat', 'idle', 'probe']) this.#disarm(name);
    for (const [, ping] of this.#pings) ping[2](error);
    this.#pings.clear();
  }

  #onClose(info: { error?: Error }): void {
    this.#ctx = null;
    const by = this.#closedBy;
    if (
      by !== undefined &&
      (this.#ended || (info.error as SocklineError | undefined)?.code === ErrorCodes.CONNECTION_CLOSED)
    )
      info = { error: by };
    this.#closedBy = undefined;
    this.#ended = false;
    this.#closeError = info.error;
    for (const call of [...this.#pending.values()])
      this.#reject(call, this.#closedError('the request could not complete'));
    for (const item of [...this.#queue]) this.#drop(item, 'closed');
    for (const name of Object.keys(this.#timers)) this.#disarm(name);
    this.emit('close', info);
  }

  /** Throws what an operation of a closed client rejects with. */
  #closed(what: string, plain = false): void {
    const state = this.#link.state;
    if (state !== 'closing' && state !== 'closed') return;
    if (plain) throw err(ErrorCodes.CLIENT_CLOSED, `${what}: the client is ${state}`);
    throw this.#closedError(what);
  }

  #closedError(what: string): SocklineError {
    const cause = this.#closeError;
    if (cause === undefined)
      return err(ErrorCodes.CLIENT_CLOSED, `${what}: the client was closed by close()`);
    const how = this.#everOpen ? 'the client closed' : 'the client closed without ever connecting';
    return err(
      (cause as SocklineError).code ?? ErrorCodes.CONNECTION_CLOSED,
      `${what}: ${how}: ${cause.message}`,
      cause,
    );
  }

  /** Why a request still waits when it times out, when it is not the server's doing. */
  #stall(): string {
    if (this.#suspect) return 'the network went offline';
    if (this.#up) return '';
    const note = this.#everOpen ? 'the connection is down' : 'the client has not connected yet';
    return this.#lastError === undefined ? note : `${note} (${this.#lastError.message})`;
  }

  // --- timers ----------------------------------------------------------------------------------

  #arm(name: string, ms: number, fn: () => void): void {
    this.#disarm(name);
    const handle = this.#clock.setTimeout(() => {
      delete this.#timers[name];
      fn();
    }, ms);
    if (this.#unref) (handle as { unref?: () => void }).unref?.();
    this.#timers[name] = handle;
  }

  #disarm(name: string): void {
    const handle = this.#timers[name];
    if (handle === undefined) return;
    this.#clock.clearTimeout(handle);
    delete this.#timers[name];
  }
}

function noop(): void {}

function notSupported(message: string): SocklineError {
  return err(ErrorCodes.NOT_SUPPORTED, message);
}

function notSockline(what: string, cause?: unknown): SocklineError {
  return err(
    ErrorCodes.NOT_SOCKLINE,
    `not a sockline server: it answered the handshake with ${what}; use protocol: 'raw' for another protocol`,
    cause,
  );
}

/** The error a CLOSE from the server stands for (§5.3). */
function closeError(code: number, reason: string): SocklineError {
  return err(
    CLOSE_CODES[code - 4000] ?? ErrorCodes.CONNECTION_CLOSED,
    `the server closed the connection (${code}${reason === '' ? '' : `: ${reason}`})`,
  );
}
