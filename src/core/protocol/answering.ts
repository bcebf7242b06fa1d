import type { Disposer } from '../emitter.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import type { Codec } from './codec.js';
import type { AnswersFactory, ResponseHeaderEncoder } from './endpoint/answers.js';
import type { RequestHandler } from './client.js';

/**
 * A client that is not an endpoint (the compact client of a browser bundle), as the answering
 * code sees it: it hands over the server's REQUESTs and sequences the RESPONSEs it is given.
 */
export interface AnsweringSide {
  readonly codec: Codec;
  /** The largest frame the server takes now. */
  frameLimit(): number;
  /** Whether the client is closed for good (an answer then is dropped). */
  closed(): boolean;
  /** A handler failed (`ERR_CALLBACK`); the server was answered `ERR_INTERNAL`. */
  failed(error: SocklineError): void;
  /**
   * Sequences a RESPONSE: its flags (payload kind, 0x04 for an error) and its fields in wire
   * order (id, then code and message for an error, then the payload; docs/protocol.md §4).
   */
  respond(flags: number, fields: Array<number | string | Uint8Array>): void;
}

/** The answering code of such a client: its handlers, and the requests they answer. */
export interface SideAnswers {
  handle(method: string, handler: RequestHandler): Disposer;
  /** A REQUEST of the server (its sequence checks done): its flags, id, method and payload. */
  answer(flags: number, id: number, method: string, payload: Uint8Array): void;
  /** The session was lost: answers still running are dropped when they finish. */
  reset(): void;
}

/**
 * What answers the server's requests on a client (`client.handle`), once `sockline/handle`
 * installed it: an app that never answers one does not bundle the handler code. The server
 * and the Node build always have it.
 */
let installed: ((header: ResponseHeaderEncoder) => AnswersFactory) | null = null;
let forSide: ((side: AnsweringSide) => SideAnswers) | null = null;

/**
 * Installs the answering code (what `sockline/handle` does when imported): for an endpoint,
 * and for a client that is not one.
 */
export function installAnswers(
  factory: (header: ResponseHeaderEncoder) => AnswersFactory,
  sideFactory?: (side: AnsweringSide) => SideAnswers,
): void {
  installed = factory;
  forSide = sideFactory ?? forSide;
}

/**
 * The installed answering code, encoding the header of an answer sent as a message stream with
 * `header`; null: a request of the server is answered `ERR_UNKNOWN_METHOD`.
 */
export function installedAnswers(header: ResponseHeaderEncoder): AnswersFactory | null {
  return installed?.(header) ?? null;
}

/** The installed answering code for a client that is not an endpoint, or null. */
export function installedSideAnswers(): ((side: AnsweringSide) => SideAnswers) | null {
  return forSide;
}

/** Throws `ERR_NOT_SUPPORTED` when `sockline/handle` was not imported. */
export function requireAnswers(): void {
  if (installed === null) {
    throw new SocklineError(ErrorCodes.NOT_SUPPORTED, "handle() needs 'sockline/handle' imported once");
  }
}
