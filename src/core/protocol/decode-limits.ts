// The string limits of a decoded frame, apart from the decoder: code that only clips what it
// sends to them (an error RESPONSE, a stream's refusal) does not carry the decoder with it.

/**
 * Limits `decodeFrame` applies to the strings it reads, in bytes of UTF-8. A string whose
 * declared length is over its limit is refused (ERR_PROTOCOL) before a byte of it is read.
 * A positive integer or `Infinity`.
 */
export interface DecodeLimits {
  /**
   * Names: method, topic, codec, sessionId, and error codes (RESPONSE, REFUSE, SUBREFUSE).
   * @default 256
   */
  readonly maxNameBytes: number;
  /**
   * Human-readable text: the `message` of RESPONSE, REFUSE and SUBREFUSE, the `reason` of CLOSE.
   * @default 1024
   */
  readonly maxTextBytes: number;
  /**
   * The token of HELLO.
   * @default 4096
   */
  readonly maxTokenBytes: number;
}

/** The defaults of {@link DecodeLimits}. */
export const decodeLimitDefaults: DecodeLimits = Object.freeze({
  maxNameBytes: 256,
  maxTextBytes: 1024,
  maxTokenBytes: 4096,
});
