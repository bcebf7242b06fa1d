import { ErrorCodes, SocklineError } from '../../errors.js';
import { encodePayload } from '../codec.js';
import type { RequestFrame, ResponseFrame } from '../frames.js';
import { encodeFrame, messageFits } from '../frames-encode.js';
import { errorResponse, noHandler } from '../rpc.js';
import type { Answers } from './answers.js';
import { MAX_VARINT_BYTES } from '../varint.js';
import type { EndpointHost } from './host.js';
import type { EndpointConfig } from './options.js';
import { RequestTable, type Request } from './requests.js';
import type { OutgoingMessage } from './sequenced.js';
import type { LargeMessage } from './transfer.js';

const EMPTY = new Uint8Array(0);

/** What {@link Calls} needs of its endpoint. */
export interface CallsOwner {
  /** The endpoint's configuration (its role's, which a server may replace: `configure`). */
  config(): EndpointConfig;
  readonly host: EndpointHost;
  /** The largest frame the peer takes. */
  frameLimit(): number;
  /** Whether the endpoint is closed for good. */
  closed(): boolean;
  /** Something waits to be written: the endpoint pulls it (`next`) when it has room. */
  ready(): void;
  /**
   * Sends a message over one frame as a message stream (docs/protocol.md §13.4). Throws
   * `ERR_FRAME_TOO_LARGE` where this side or the peer takes none, and the errors of
   * `Transfers.send`.
   */
  large(message: LargeMessage): void;
}

/**
 * Requests both ways (docs/protocol.md §9): this side's (the request table, written as the
 * peer's `maxInFlight` allows) and the peer's (run by the endpoint's `Answers`, their RESPONSEs
 * queued here).
 * REQUEST and RESPONSE are sequenced: they ride the session like messages, so a request made
 * before a reconnect is answered after it, its handler run exactly once, and only a lost
 * session fails it. Both are pulled by the endpoint's delivery (`next`) when it has room,
 * never dropped by a queue's overflow policy; a large one goes as a message stream.
 */
export class Calls {
  readonly #owner: CallsOwner;
  /** Made on the first request: most sessions never make one. */
  #requests: RequestTable | null = null;
  /** Runs the peer's requests; made on the first one. */
  #answers: Answers | null = null;
  /** RESPONSEs waiting to be written (at most `maxAnswering`); made on the first. */
  #responses: OutgoingMessage[] | null = null;

  constructor(owner: CallsOwner) {
    this.#owner = owner;
  }

  /** When `expire` has something to do next; Infinity for nothing. */
  get deadline(): number {
    return this.#requests?.deadline ?? Infinity;
  }

  /** How many requests may be written at once: the peer's `maxInFlight` (WELCOME). */
  set window(n: number) {
    this.#table().window = n;
  }

  #table(): RequestTable {
    return (this.#requests ??= new RequestTable(
      this.#owner.config().maxInFlight,
      () => this.#owner.ready(),
      this.#owner.host,
    ));
  }

  /**
   * Calls `method` on the peer: see `Endpoint.request`. A payload over one frame goes as a
   * message stream; over this side's `maxMessageSize` it is refused at once.
   */
  request(
    method: string,
    params: unknown,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const owner = this.#owner;
    const { kind, payload } = encodePayload(params ?? null, owner.config().codec);
    const max = owner.config().limits.maxMessageSize;
    if (payload.byteLength > max) {
      const error = new SocklineError(
        ErrorCodes.MESSAGE_TOO_LARGE,
        `request "${method}" of ${payload.byteLength} bytes is over maxMessageSize (${max} bytes)`,
      );
      error.sent = false;
      return Promise.reject(error);
    }
    const now = owner.config().clock.now();
    let promise: Promise<unknown>;
    try {
      promise = this.#table().open(method, kind, payload, now, timeout, signal);
    } catch (err) {
      return Promise.reject(err);
    }
    if (timeout !== Infinity) owner.host.wake(now + timeout);
    owner.ready();
    return promise;
  }

  /**
   * The next REQUEST or RESPONSE to number and write: answers first (a peer waits for them),
   * then requests in order as the window allows. A large one is handed to the message
   * streams instead, and the next one is looked at.
   */
  next(): OutgoingMessage | undefined {
    const response = this.#responses?.shift();
    if (response !== undefined) return response;
    const table = this.#requests;
    if (table === null) return undefined;
    for (let request = table.next(); request !== undefined; request = table.next()) {
      if (requestFits(request.method, request.payload, this.#owner.frameLimit())) {
        request.sent = true;
        return requestMessage(request);
      }
      this.#sendLarge(table, request);
    }
    return undefined;
  }

  #sendLarge(table: RequestTable, request: Request): void {
    const { id, method, kind, payload } = request;
    try {
      this.#owner.large({
        header: encodeFrame({ type: 'request', id, method, kind, payload: EMPTY }),
        payload,
        live: () => table.live(request),
        sent: () => (request.sent = true),
        // Refused unread: the handler never runs, so the error says it was not sent.
        refused: (error) => {
          error.sent = false;
          if (table.reject(id, error)) this.#owner.ready();
        },
      });
    } catch (err) {
      if (table.reject(id, err)) this.#owner.ready();
    }
  }

  /** A RESPONSE (its sequence checks done): settles the request it answers. */
  settle(frame: ResponseFrame): void {
    if (this.#requests?.settle(frame, this.#owner.config().codec)) this.#owner.ready();
  }

  /**
   * A REQUEST of the peer (its sequence checks done): answered by the endpoint's
   * {@link Answers}, or, on a side without them, `ERR_UNKNOWN_METHOD`.
   */
  answer(frame: RequestFrame): void {
    const answers = (this.#answers ??= this.#owner.config().answers?.(this.#owner, this.#queue) ?? null);
    if (answers !== null) answers.answer(frame);
    else this.#queue(errorResponse(frame.id, ErrorCodes.UNKNOWN_METHOD, noHandler(frame.method)));
  }

  #queue = (response: ResponseFrame): void => {
    (this.#responses ??= []).push(responseMessage(response));
    this.#owner.ready();
  };

  /** The clock reached `now`: requests past their deadline time out. */
  expire(now: number): void {
    if (this.#requests?.expire(now)) this.#owner.ready();
  }

  /**
   * The peer lost the session: requests that left fail with `ERR_SESSION_LOST` (the peer may
   * have run them; it will not run them again), those that had not go in the new session;
   * answers to the old session's requests are dropped.
   */
  lost(): void {
    this.#answers?.reset();
    this.#responses = null;
    this.#requests?.lost(
      (request) =>
        new SocklineError(
          ErrorCodes.SESSION_LOST,
          `request "${request.method}" was in flight when the session was lost: the peer may have run it`,
        ),
    );
  }

  /** The session ended for good: everything outstanding rejects with (a copy of) `error`. */
  close(error: SocklineError): void {
    this.#answers?.reset();
    this.#responses = null;
    this.#requests?.rejectAll(() => new SocklineError(error.code, error.message, { cause: error.cause }));
  }
}

/** Whether a REQUEST of `payload` (with its seq, ack and id at their largest) fits `limit`. */
function requestFits(method: string, payload: Uint8Array, limit: number): boolean {
  return messageFits(method, payload, limit - MAX_VARINT_BYTES);
}

/** A request as its sequenced REQUEST frame. */
function requestMessage(request: Request): OutgoingMessage {
  const { id, method, kind, payload } = request;
  return {
    topic: undefined,
    kind,
    payload,
    original: undefined,
    other: {
      encode: (seq, ack) =>
        encodeFrame({
          type: 'request',
          seq,
          ...(ack === undefined ? {} : { ack }),
          id,
          method,
          kind,
          payload,
        }),
    },
  };
}

/** An answer as its sequenced RESPONSE frame. */
function responseMessage(response: ResponseFrame): OutgoingMessage {
  return {
    topic: undefined,
    kind: response.kind,
    payload: response.payload,
    original: undefined,
    other: {
      encode: (seq, ack) => encodeFrame({ ...response, seq, ...(ack === undefined ? {} : { ack }) }),
    },
  };
}
