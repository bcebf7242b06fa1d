/**
 * The frames of sockline's session protocol, version 2 (docs/protocol.md). A frame body is
 * what one transport message carries (one length-prefixed frame on TCP/TLS, one WebSocket
 * binary message, one UDP datagram):
 *
 * ```
 * +--------+--------+------------------------------------------+
 * | type   | flags  | fields of that type, in order (§4)        |
 * | u8     | u8     | varints, strings, then maybe the payload  |
 * +--------+--------+------------------------------------------+
 * ```
 *
 * This file is the public face of the frame layer: the `Frame` types and the session
 * constants live here, and `encodeFrame`, `decodeFrame` and the wire constants are
 * re-exported from `frames-encode.ts` and `frames-decode.ts`. Those two import only types
 * from here, so there is no import cycle (the build refuses cycles).
 */

export { encodeFrame } from './frames-encode.js';
export {
  FrameFlags,
  FrameTypes,
  KIND_SHIFT,
  MAX_VERSIONS,
  PayloadKinds,
  decodeFrame,
  decodeLimitDefaults,
  resolveDecodeLimits,
} from './frames-decode.js';
export type { DecodeLimits, FrameType } from './frames-decode.js';
export { BATCH_TYPE, encodeBatch, splitBatch } from './batch.js';

/** What the payload bytes are: flags bits 4-5 of DATA, PUBLISH, REQUEST and RESPONSE. */
export type PayloadKind = 'binary' | 'text' | 'value';

/**
 * The protocol version this build speaks (the `version` of WELCOME). Version 2 sequences
 * REQUEST and RESPONSE, so requests survive a reconnect, and adds the frames of streams and
 * large messages (docs/protocol.md §13). A version 1 peer is refused.
 */
export const PROTOCOL_VERSION = 2;

/** Every version this build can speak (the `versions` of HELLO and REFUSE). */
export const SUPPORTED_VERSIONS: readonly number[] = Object.freeze([PROTOCOL_VERSION]);

/**
 * Close codes carried by CLOSE (the WebSocket close code uses the same number where the
 * transport is a WebSocket). 1xxx follow RFC 6455; 4xxx are sockline's.
 */
export const CloseCodes = {
  /** The session is over; do not reconnect. */
  NORMAL: 1000,
  /** The sender is shutting down or restarting; reconnect (after `reconnectAfter` if given). */
  GOING_AWAY: 1001,
  /**
   * A limit of the server refused the connection (too many connections from one address, the
   * server is full): try again later, after `reconnectAfter` when given.
   */
  TRY_AGAIN_LATER: 1013,
  /** A malformed or unexpected frame. */
  PROTOCOL_ERROR: 4000,
  /** Credentials refused after the handshake (e.g. a token expired mid-session). */
  AUTH_FAILED: 4001,
  /** No protocol version in common. */
  VERSION_UNSUPPORTED: 4002,
  /** HELLO did not arrive, or the handshake did not finish, within the deadline. */
  HANDSHAKE_TIMEOUT: 4003,
  /** The peer stayed silent past heartbeat interval + timeout. */
  HEARTBEAT_TIMEOUT: 4004,
  /** The peer read too slowly: its outbound buffer went over the server's bound. */
  SLOW_CONSUMER: 4008,
  /** The peer kept sending requests over `maxInFlight`. */
  TOO_MANY_REQUESTS: 4009,
} as const;

/** Capability bits of HELLO (`capabilities`). Unknown bits are ignored by the receiver. */
export const Capabilities = {
  /** Sequence numbers, acknowledgements and session resume. */
  RELIABLE: 1,
  /** SUBSCRIBE, UNSUBSCRIBE and PUBLISH. */
  PUBSUB: 2,
  /** REQUEST and RESPONSE. */
  RPC: 4,
  /** BATCH messages on WebSocket: several frame bodies in one message (docs/protocol.md §1.1). */
  BATCH: 8,
  /**
   * SUBREFUSE: the client understands the server telling it that a SUBSCRIBE was refused
   * (docs/protocol.md §4.12). Without it, a refused subscription just delivers nothing.
   */
  SUBREFUSE: 16,
  /**
   * LARGE: messages over one frame, carried as a stream of chunks (docs/protocol.md §13.4):
   * the side takes OPEN, CHUNK, RESET and CANCEL frames of messages.
   */
  LARGE: 32,
  /** STREAMS: byte streams with credit-based flow control (docs/protocol.md §13). */
  STREAMS: 64,
} as const;

/**
 * What a side takes of streams and large messages (HELLO flag `limits`, always in WELCOME):
 * 0 where it takes none.
 */
export interface ReceiveLimits {
  /** The largest frame body it accepts, in bytes. */
  maxFrameSize: number;
  /** The largest message (its payload) it takes, in bytes, a large one included. */
  maxMessageSize: number;
  /** Streams the peer may have open to it at once. */
  maxStreams: number;
}

/** 0x01, client to server, first frame of every connection. */
export interface HelloFrame {
  type: 'hello';
  /** Versions the client speaks, at most 16, in any order: the server picks the highest it shares. */
  versions: number[];
  /** A bitmask of {@link Capabilities}. */
  capabilities: number;
  /** The codec of `value` payloads, e.g. `'json'`. */
  codec: string;
  /** Credentials, when the client has some (flag bit 0). */
  token?: string;
  /** Asks to resume a session (flag bit 1). */
  resume?: {
    sessionId: string;
    /** The highest seq this side received in that session with nothing missing before it. */
    lastSeq: number;
  };
  /** What the client takes of large messages and streams (flag bit 2); absent: none. */
  limits?: ReceiveLimits;
}

/** 0x02, server to client: the handshake succeeded. */
export interface WelcomeFrame {
  type: 'welcome';
  /** The version chosen for this connection. */
  version: number;
  sessionId: string;
  /** True when the session of the HELLO's `resume` continues (flag bit 0). */
  resumed: boolean;
  /**
   * The server takes BATCH messages and may send them (flag bit 1). Only set for a client
   * whose HELLO had the BATCH capability; absent means false.
   */
  batch?: boolean;
  /** The server sends PING every this many ms. */
  heartbeatInterval: number;
  /** How long past an expected heartbeat silence is tolerated, in ms. */
  heartbeatTimeout: number;
  /** The highest contiguous seq the server received from this client; 0 on a fresh session. */
  lastSeq: number;
  /** The largest frame body, in bytes, the server accepts. */
  maxFrameSize: number;
  /** The most requests the client may have in flight. */
  maxInFlight: number;
  /** How long, in ms, the server keeps the session for a resume after a disconnect. */
  resumeWindow: number;
  /** The largest message (its payload) the server takes, in bytes; 0: none over one frame. */
  maxMessageSize: number;
  /** Streams the client may have open to the server at once; 0: none. */
  maxStreams: number;
}

/** 0x03, server to client: the handshake failed; the server closes the connection next. */
export interface RefuseFrame {
  type: 'refuse';
  /** An error code such as `ERR_VERSION_UNSUPPORTED` or `ERR_AUTH_FAILED`. */
  code: string;
  message: string;
  /** The versions the server speaks (may be empty). */
  versions: number[];
}

/** 0x10, either direction: an application message. */
export interface DataFrame {
  type: 'data';
  /** Present when sequenced (flag bit 1): numbered from 1, replayed on resume. */
  seq?: number;
  /** A piggybacked cumulative ack of the peer's messages (flag bit 0). */
  ack?: number;
  kind: PayloadKind;
  /** The rest of the frame: a view of the decoded bytes, not a copy. */
  payload: Uint8Array;
}

/** 0x11, either direction: a message to (client to server) or from (server to client) a topic. */
export interface PublishFrame {
  type: 'publish';
  seq?: number;
  ack?: number;
  /** A concrete topic: '/'-separated levels, no wildcard. */
  topic: string;
  kind: PayloadKind;
  payload: Uint8Array;
}

/** 0x12, client to server: deliver PUBLISH frames whose topic matches `topic`. */
export interface SubscribeFrame {
  type: 'subscribe';
  /** A topic pattern: '+' matches one level, a last '#' matches zero or more. */
  topic: string;
}

/** 0x13, client to server: undo the SUBSCRIBE of exactly this pattern. */
export interface UnsubscribeFrame {
  type: 'unsubscribe';
  topic: string;
}

/**
 * 0x14, server to client: the SUBSCRIBE of `topic` was refused (a limit, or the application
 * said no); the server holds no subscription for it. Sent only to a client whose HELLO had
 * the SUBREFUSE capability.
 */
export interface SubrefuseFrame {
  type: 'subrefuse';
  /** The pattern of the refused SUBSCRIBE, as the client sent it. */
  topic: string;
  /** An error code such as `ERR_TOO_MANY_SUBSCRIPTIONS`. */
  code: string;
  message: string;
}

/** 0x20, either direction: call `method` and expect one RESPONSE with the same id. */
export interface RequestFrame {
  type: 'request';
  /** Present when sequenced (flag bit 1): delivered exactly once across reconnects. */
  seq?: number;
  /** A piggybacked cumulative ack (flag bit 0). */
  ack?: number;
  /** At least 1; unique among the sender's requests in flight. */
  id: number;
  method: string;
  kind: PayloadKind;
  /** The parameters. */
  payload: Uint8Array;
}

/** 0x21: the answer to the REQUEST with the same id. */
export interface ResponseFrame {
  type: 'response';
  /** Present when sequenced (flag bit 1). */
  seq?: number;
  /** A piggybacked cumulative ack (flag bit 0). */
  ack?: number;
  id: number;
  /** Present when the request failed (flag bit 2). */
  error?: { code: string; message: string };
  kind: PayloadKind;
  /** The result, or optional error details. */
  payload: Uint8Array;
}

/** 0x30: every sequenced message up to and including `seq` was received. */
export interface AckFrame {
  type: 'ack';
  seq: number;
}

/** 0x31: are you there? Answered by a PONG with the same nonce. */
export interface PingFrame {
  type: 'ping';
  nonce: number;
}

/** 0x32: the answer to a PING. */
export interface PongFrame {
  type: 'pong';
  nonce: number;
}

/** 0x3F: the sender ends the connection (and, for 1000, the session). */
export interface CloseFrame {
  type: 'close';
  /** One of {@link CloseCodes}, or another number a later version defines. */
  code: number;
  reason: string;
  /** Reconnect no sooner than this many ms from now (flag bit 0). */
  reconnectAfter?: number;
}

/**
 * Every frame of the session core, discriminated by `type`. The frames of streams and large
 * messages (`StreamFrame`, docs/protocol.md §13) have their own codec, loaded with them.
 */
export type Frame =
  | HelloFrame
  | WelcomeFrame
  | RefuseFrame
  | DataFrame
  | PublishFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | SubrefuseFrame
  | RequestFrame
  | ResponseFrame
  | AckFrame
  | PingFrame
  | PongFrame
  | CloseFrame;
