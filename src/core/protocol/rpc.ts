import { ErrorCodes, RemoteError, SocklineError, isSocklineError, type ErrorCode } from '../errors.js';
import { decodePayload, encodePayload, type Codec } from './codec.js';
import { decodeLimitDefaults } from './decode-limits.js';
import type { Frame } from './frames.js';
import { MAX_VARINT_BYTES } from './varint.js';

type RequestFrame = Extract<Frame, { type: 'request' }>;
type ResponseFrame = Extract<Frame, { type: 'response' }>;

const EMPTY = new Uint8Array(0);
const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/** The message an unexpected exception is answered with, unless `exposeErrors`. */
const INTERNAL_MESSAGE = 'internal error';

/** An error RESPONSE: a string code the caller can match, and a message for people. */
export function errorResponse(
  id: number,
  code: string,
  message: string,
  kind: ResponseFrame['kind'] = 'binary',
  payload: Uint8Array = EMPTY,
): ResponseFrame {
  return {
    type: 'response',
    id,
    // Held to the receiver's string limits (docs/protocol.md §5.2): a longer code or message
    // would make it refuse the whole frame and drop the connection.
    error: {
      code: clip(code, decodeLimitDefaults.maxNameBytes),
      message: clip(message, decodeLimitDefaults.maxTextBytes),
    },
    kind,
    payload,
  };
}

/** The message of `ERR_UNKNOWN_METHOD`: the peer has no handler for `method`. */
export function noHandler(method: string): string {
  return `no handler for "${method}"`;
}

/** How {@link answerRequest} answers and reports. */
export interface AnswerOptions {
  /** The largest response frame the caller accepts, in bytes. @default Infinity */
  readonly maxFrameSize?: number;
  /**
   * Answer an unexpected exception with its own message instead of `internal error` (the
   * code stays `ERR_INTERNAL`). For development: messages may hold secrets. @default false
   */
  readonly exposeErrors?: boolean;
  /** Told of every unexpected exception of the handler (the caller only gets `ERR_INTERNAL`). */
  readonly report?: (error: unknown) => void;
}

/**
 * Runs a request through its handler, the same on both sides, and builds the RESPONSE
 * (the RPC error contract, docs/protocol.md §9):
 *
 * - a result is encoded by the codec; one whose frame could be over `maxFrameSize` is
 *   answered `ERR_FRAME_TOO_LARGE`;
 * - a handler that throws a {@link RemoteError} answers its `remoteCode` and message, with its
 *   `data` encoded as the payload (empty when none);
 * - what sockline itself refuses while answering — no handler (`ERR_UNKNOWN_METHOD`),
 *   parameters the codec refuses (`ERR_BAD_PAYLOAD`), a result too large — is answered with
 *   that code and sockline's own message;
 * - anything else the handler throws (a bug, a failed database call, a SocklineError of some
 *   other operation) is answered `ERR_INTERNAL` / `internal error` and handed to `report`:
 *   its message may hold what the caller must not see.
 *
 * `options` may be a number: the `maxFrameSize` alone.
 */
export async function answerRequest(
  frame: RequestFrame,
  handler: ((params: unknown) => unknown) | undefined,
  codec: Codec,
  options: AnswerOptions | number = {},
): Promise<ResponseFrame> {
  const o: AnswerOptions = typeof options === 'number' ? { maxFrameSize: options } : options;
  if (handler === undefined)
    return errorResponse(frame.id, ErrorCodes.UNKNOWN_METHOD, noHandler(frame.method));
  let params: unknown;
  try {
    params = decodePayload(frame.kind, frame.payload, codec);
  } catch (err) {
    if (isSocklineError(err, ErrorCodes.BAD_PAYLOAD))
      return errorResponse(frame.id, ErrorCodes.BAD_PAYLOAD, err.message);
    return internal(frame.id, err, o);
  }
  let result: unknown;
  try {
    result = await handler(params);
  } catch (err) {
    return isRemoteError(err) ? remoteResponse(frame.id, err, codec, o) : internal(frame.id, err, o);
  }
  let encoded: { kind: ResponseFrame['kind']; payload: Uint8Array };
  try {
    encoded = encodePayload(result ?? null, codec);
  } catch (err) {
    // A result the codec refuses (a BigInt, a cycle, a forbidden key) is the handler's bug.
    return internal(frame.id, err, o);
  }
  const max = o.maxFrameSize ?? Infinity;
  // type + flags + id at its largest, then the payload.
  if (2 + MAX_VARINT_BYTES + encoded.payload.byteLength > max) {
    return errorResponse(
      frame.id,
      ErrorCodes.FRAME_TOO_LARGE,
      `result of ${encoded.payload.byteLength} bytes is too large for one frame (maxFrameSize ${max} bytes)`,
    );
  }
  return { type: 'response', id: frame.id, kind: encoded.kind, payload: encoded.payload };
}

/**
 * The error a request rejects with when its RESPONSE is an error: a {@link SocklineError} of
 * the code when the code is one of {@link ErrorCodes} (`remoteCode` equal to it), otherwise a
 * {@link RemoteError} (`code` `ERR_REMOTE`) with the remote code, message and decoded `data`.
 * Details the codec cannot decode are left out (`data` undefined) rather than failing.
 */
export function responseError(frame: ResponseFrame, codec: Codec): SocklineError {
  const { code, message } = frame.error ?? { code: ErrorCodes.REMOTE, message: 'the request failed' };
  if (KNOWN_CODES.has(code) || frame.payload.byteLength === 0) return remoteError(code, message);
  let data: unknown;
  try {
    data = decodePayload(frame.kind, frame.payload, codec);
  } catch {
    data = undefined;
  }
  return remoteError(code, message, data);
}

/**
 * An error the peer sent (in a RESPONSE, a SUBREFUSE): a SocklineError of `code` when sockline
 * defines it, with `remoteCode` equal to it; a {@link RemoteError} for the application's own codes.
 */
export function remoteError(code: string, message: string, data?: unknown): SocklineError {
  if (!KNOWN_CODES.has(code))
    return new RemoteError(code, message, data === undefined ? undefined : { data });
  const error = new SocklineError(code as ErrorCode, message);
  error.remoteCode = code;
  return error;
}

/**
 * An error made by sockline (a SocklineError or RemoteError, from either copy of the module)
 * and so safe to show the peer: not merely any error with an `ERR_` code, which Node's own
 * errors have too, with messages that may say more than the application meant.
 */
export function isSocklineMade(err: unknown): err is SocklineError {
  return (
    isSocklineError(err) && ((err as Error).name === 'SocklineError' || (err as Error).name === 'RemoteError')
  );
}

/** A RemoteError, whichever copy of the module (ESM or CJS) made it. */
function isRemoteError(err: unknown): err is RemoteError {
  return (
    isSocklineMade(err) &&
    err.code === ErrorCodes.REMOTE &&
    typeof (err as RemoteError).remoteCode === 'string'
  );
}

function remoteResponse(id: number, err: RemoteError, codec: Codec, o: AnswerOptions): ResponseFrame {
  if (err.data === undefined) return errorResponse(id, err.remoteCode, err.message);
  let encoded: { kind: ResponseFrame['kind']; payload: Uint8Array };
  try {
    encoded = encodePayload(err.data, codec);
  } catch (cause) {
    return internal(id, cause, o);
  }
  const max = o.maxFrameSize ?? Infinity;
  // type + flags + id, code and message at their largest (length prefixes included), then the data.
  const bound =
    2 +
    MAX_VARINT_BYTES +
    2 * MAX_VARINT_BYTES +
    decodeLimitDefaults.maxNameBytes +
    decodeLimitDefaults.maxTextBytes +
    encoded.payload.byteLength;
  if (bound > max) {
    return errorResponse(
      id,
      ErrorCodes.FRAME_TOO_LARGE,
      `error data of ${encoded.payload.byteLength} bytes is too large for one frame (maxFrameSize ${max} bytes)`,
    );
  }
  return errorResponse(id, err.remoteCode, err.message, encoded.kind, encoded.payload);
}

function internal(id: number, err: unknown, o: AnswerOptions): ResponseFrame {
  o.report?.(err);
  const message =
    o.exposeErrors === true ? (err instanceof Error ? err.message : String(err)) : INTERNAL_MESSAGE;
  return errorResponse(id, ErrorCodes.INTERNAL, message);
}

const encoder = new TextEncoder();

/** `s` cut to at most `maxBytes` of UTF-8, at a code point boundary. */
export function clip(s: string, maxBytes: number): string {
  // A character is at most 3 UTF-8 bytes (4 for a surrogate pair, which is 2 characters).
  if (s.length * 3 <= maxBytes) return s;
  const { read } = encoder.encodeInto(s, new Uint8Array(maxBytes));
  return read < s.length ? s.slice(0, read) : s;
}
