import { ErrorCodes, SocklineError } from '../../errors.js';
import type { RequestFrame, ResponseFrame } from '../frames.js';
import { encodeFrame } from '../frames-encode.js';
import { answerRequest, errorResponse } from '../rpc.js';
import { MAX_VARINT_BYTES } from '../varint.js';
import type { CallsOwner } from './calls.js';

const EMPTY = new Uint8Array(0);

/**
 * Encodes the RESPONSE frame (its payload empty) that heads an answer sent as a message
 * stream. The host's own encoder: the compact client, which has no message streams, passes one
 * that refuses, so `sockline/handle` does not carry the full frame encoder into its bundle.
 */
export type ResponseHeaderEncoder = (response: ResponseFrame) => Uint8Array;

/**
 * Answers the peer's requests (docs/protocol.md §9): runs their handlers, at most
 * `maxAnswering` at once, and hands each RESPONSE to `queue` — in one frame, or as a message
 * stream when it is larger. The server always has it; a browser client only with
 * `sockline/handle` (without it, every request of the server is answered
 * `ERR_UNKNOWN_METHOD` and the handler code is not in its bundle).
 */
export class Answers {
  readonly #owner: CallsOwner;
  readonly #queue: (response: ResponseFrame) => void;
  readonly #header: ResponseHeaderEncoder;
  /** Requests of the peer running now, in this session. */
  #answering = 0;
  /** Counts sessions: an answer to a request of a lost session is dropped. */
  #epoch = 0;

  constructor(owner: CallsOwner, queue: (response: ResponseFrame) => void, header: ResponseHeaderEncoder) {
    this.#owner = owner;
    this.#queue = queue;
    this.#header = header;
  }

  /** A REQUEST of the peer (its sequence checks done): runs its handler and queues the answer. */
  answer(frame: RequestFrame): void {
    const max = this.#owner.config().maxAnswering;
    if (this.#answering >= max) {
      this.respond(
        errorResponse(frame.id, ErrorCodes.TOO_MANY_REQUESTS, `more than ${max} requests in flight`),
      );
      return;
    }
    void this.#run(frame);
  }

  async #run(frame: RequestFrame): Promise<void> {
    const epoch = this.#epoch;
    const owner = this.#owner;
    const host = owner.host;
    const config = owner.config();
    this.#answering++;
    let response: ResponseFrame;
    try {
      response = await answerRequest(frame, host.handler(frame.method), config.codec, {
        exposeErrors: config.exposeErrors,
        report: (error) => host.handlerFailed?.(frame.method, error),
      });
    } finally {
      if (this.#epoch === epoch) this.#answering--;
    }
    if (this.#epoch === epoch && !owner.closed()) this.respond(response);
  }

  /** Queues an answer: in one frame, as a message stream, or, if neither can carry it, an error. */
  respond(response: ResponseFrame): void {
    const owner = this.#owner;
    const { payload } = response;
    if (responseFits(response, owner.frameLimit())) {
      this.#queue(response);
      return;
    }
    const max = owner.config().limits.maxMessageSize;
    try {
      if (payload.byteLength > max) {
        throw new SocklineError(
          ErrorCodes.MESSAGE_TOO_LARGE,
          `result of ${payload.byteLength} bytes is over maxMessageSize (${max} bytes)`,
        );
      }
      owner.large({
        header: this.#header({ ...response, payload: EMPTY }),
        payload,
        refused: (error) => owner.host.error?.(error),
      });
    } catch (err) {
      const error = err as SocklineError;
      this.respond(errorResponse(response.id, error.code, error.message));
    }
  }

  /** The session ended (lost or closed): answers still running are dropped when they finish. */
  reset(): void {
    this.#epoch++;
    this.#answering = 0;
  }
}

/** What makes an endpoint's {@link Answers}: `createAnswers`, or null for none. */
export type AnswersFactory = (owner: CallsOwner, queue: (response: ResponseFrame) => void) => Answers;

/**
 * The {@link AnswersFactory} of a host whose large answers' headers `header` encodes (the
 * full client passes the frame encoder it already carries).
 */
export const answersWith =
  (header: ResponseHeaderEncoder): AnswersFactory =>
  (owner, queue) =>
    new Answers(owner, queue, header);

/** The {@link AnswersFactory} of a side that answers requests, with the full frame encoder. */
export const createAnswers: AnswersFactory = (owner, queue) => new Answers(owner, queue, encodeFrame);

/** Whether a RESPONSE (with its seq, ack, id and any error strings at their largest) fits `limit`. */
function responseFits(response: ResponseFrame, limit: number): boolean {
  const error = response.error;
  const strings =
    error === undefined ? 0 : 2 * MAX_VARINT_BYTES + 3 * (error.code.length + error.message.length);
  return 2 + 3 * MAX_VARINT_BYTES + strings + response.payload.byteLength <= limit;
}
