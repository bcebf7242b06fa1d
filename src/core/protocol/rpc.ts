import { ErrorCodes, SocklineError } from '../errors.js';
import { decodePayload, encodePayload, type Codec } from './codec.js';
import type { Frame } from './frames.js';
import { MAX_VARINT_BYTES } from './varint.js';

type RequestFrame = Extract<Frame, { type: 'request' }>;
type ResponseFrame = Extract<Frame, { type: 'response' }>;

/** An error RESPONSE: a string code the caller can match, and a message for people. */
export function errorResponse(id: number, code: string, message: string): ResponseFrame {
  return { type: 'response', id, error: { code, message }, kind: 'binary', payload: new Uint8Array(0) };
}

/**
 * Runs a request through its handler, the same on both sides: params decoded by the codec,
 * the result encoded back, and any throw (or a missing handler) turned into an error
 * response that carries the thrown error's `code` when it has one. A result whose response
 * frame could be over `maxFrameSize` (the caller's limit) is answered `ERR_FRAME_TOO_LARGE`.
 */
export async function answerRequest(
  frame: RequestFrame,
  handler: ((params: unknown) => unknown) | undefined,
  codec: Codec,
  maxFrameSize = Infinity,
): Promise<ResponseFrame> {
  try {
    if (handler === undefined)
      throw new SocklineError(ErrorCodes.UNKNOWN_METHOD, `no handler for "${frame.method}"`);
    const result = await handler(decodePayload(frame.kind, frame.payload, codec));
    const { kind, payload } = encodePayload(result ?? null, codec);
    // type + flags + id at its largest, then the payload.
    if (2 + MAX_VARINT_BYTES + payload.byteLength > maxFrameSize) {
      throw new SocklineError(
        ErrorCodes.FRAME_TOO_LARGE,
        `result of ${payload.byteLength} bytes is too large for one frame (maxFrameSize ${maxFrameSize} bytes)`,
      );
    }
    return { type: 'response', id: frame.id, kind, payload };
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    const message = err instanceof Error ? err.message : String(err);
    return errorResponse(frame.id, typeof code === 'string' ? code : 'ERR_HANDLER', message);
  }
}
