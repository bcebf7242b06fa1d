import { callbackError, ErrorCodes, SocklineError } from '../errors.js';
import type { AnsweringSide, SideAnswers } from '../protocol/answering.js';
import { argumentTypeError } from '../options/messages.js';
import { Answers } from '../protocol/endpoint/answers.js';
import type { CallsOwner } from '../protocol/endpoint/calls.js';
import { PAYLOAD_KINDS } from '../protocol/codec.js';

/** Payload kinds by their flag bits (0x30) over 16 (docs/protocol.md §3.2). */

/**
 * The answering code of `sockline/handle` for a client that is not an endpoint (the compact
 * client): the endpoint's own `Answers` over what that client tells, so both clients answer by
 * the same rules (sequenced RESPONSEs, `ERR_INTERNAL` without the message of anything but a
 * `RemoteError`, `ERR_UNKNOWN_METHOD` for no handler, answers of a lost session dropped).
 */
export function sideAnswers(side: AnsweringSide): SideAnswers {
  const handlers = new Map<string, (params: unknown) => unknown>();
  const owner = {
    // A client answers every request the server makes (the server bounds them: maxInFlight),
    // never exposes a handler's message, and sends no message stream (the compact client has none).
    config: () => ({
      codec: side.codec,
      maxAnswering: Infinity,
      exposeErrors: false,
      limits: { maxMessageSize: Infinity },
    }),
    host: {
      handler: (method: string) => handlers.get(method),
      handlerFailed: (method: string, error: unknown) =>
        side.failed(callbackError(`the handler of '${method}'`, error)),
    },
    frameLimit: () => side.frameLimit(),
    closed: () => side.closed(),
    ready: () => {},
  } as unknown as CallsOwner;
  const answers = new Answers(
    owner,
    ({ id, error, kind, payload }) =>
      side.respond(
        PAYLOAD_KINDS.indexOf(kind) * 16 + (error === undefined ? 0 : 4),
        error === undefined ? [id, payload] : [id, error.code, error.message, payload],
      ),
    // An answer over one frame would head a message stream, which this client cannot send:
    // refused before anything is encoded (the server is answered ERR_FRAME_TOO_LARGE).
    () => {
      throw new SocklineError(
        ErrorCodes.FRAME_TOO_LARGE,
        `result over maxFrameSize (${side.frameLimit()} B); larger ones need 'sockline/streams'`,
      );
    },
  );
  return {
    handle(method, handler) {
      if (typeof method !== 'string' || method === '')
        throw argumentTypeError('method', 'a non-empty string', method);
      if (typeof handler !== 'function') throw argumentTypeError('handler', 'a function', handler);
      const fn = handler as (params: unknown) => unknown;
      handlers.set(method, fn);
      return () => {
        if (handlers.get(method) === fn) handlers.delete(method);
      };
    },
    answer: (flags, id, method, payload) =>
      answers.answer({ type: 'request', id, method, kind: PAYLOAD_KINDS[(flags >> 4) & 3]!, payload }),
    reset: () => answers.reset(),
  };
}
