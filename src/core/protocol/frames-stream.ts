import { ErrorCodes, SocklineError } from '../errors.js';
import {
  decodeLimitDefaults,
  FrameFlags,
  isStreamFrame,
  KIND_SHIFT,
  type DecodeLimits,
} from './frames-decode.js';
import { kindBits } from './frames-encode.js';
import type { PayloadKind } from './frames.js';
import { ByteReader, ByteWriter, putVarint, varintSize } from './varint.js';

/**
 * The frames of streams and large messages (docs/protocol.md §13), with a codec of their own:
 * a session that never opens a stream or sends a message over one frame never loads it (the
 * session core hands these types over unread, `isStreamFrame`).
 *
 * ```
 * 0x40 OPEN    seq [ack] id  (MESSAGE: size, header)  | (else: metadata payload)
 * 0x41 CHUNK   seq [ack] id  bytes                     (FIN: the last one)
 * 0x42 RESET   seq [ack] id  code message              (the writer gave up)
 * 0x43 CANCEL  seq [ack] id  code message              (the reader gave up)
 * 0x44 CREDIT  id limit                                (not sequenced)
 * ```
 */
export const StreamFrameTypes = {
  open: 0x40,
  chunk: 0x41,
  reset: 0x42,
  cancel: 0x43,
  credit: 0x44,
} as const;

/** Flag bits of the stream frames (bit 0 is ACK, as on every sequenced frame). */
export const StreamFlags = {
  /** open, chunk, reset, cancel: an `ack` varint follows the seq. */
  ACK: FrameFlags.ACK,
  /** open: the stream carries one message: its size and its header follow, no metadata. */
  MESSAGE: 0x04,
  /** chunk: the last chunk of the stream. */
  FIN: 0x04,
} as const;

/**
 * 0x40: the writer opens stream `id` (its own id space, from 1). A stream of one large
 * message (`message`) declares the message's size and its header (a DATA, PUBLISH, REQUEST
 * or RESPONSE body without seq, ack or payload); any other stream carries its metadata (a
 * payload of kind `kind`).
 */
export interface OpenFrame {
  type: 'open';
  seq: number;
  ack?: number;
  id: number;
  /** Present for a message stream (flag MESSAGE). */
  message?: { size: number; header: Uint8Array };
  /** The metadata's payload kind ('binary' and empty for a message stream). */
  kind: PayloadKind;
  payload: Uint8Array;
}

/** 0x41: bytes of stream `id`, in order; `fin` on the last. */
export interface ChunkFrame {
  type: 'chunk';
  seq: number;
  ack?: number;
  id: number;
  fin?: boolean;
  /** A view of the decoded bytes, not a copy. */
  payload: Uint8Array;
}

/** 0x42 (`reset`, from the writer) and 0x43 (`cancel`, from the reader): the stream ends early. */
export interface StopFrame {
  type: 'reset' | 'cancel';
  seq: number;
  ack?: number;
  id: number;
  code: string;
  message: string;
}

/** 0x44, from the reader: the writer may send bytes of stream `id` up to offset `limit`. */
export interface CreditFrame {
  type: 'credit';
  id: number;
  limit: number;
}

/** Every frame of streams and large messages. */
export type StreamFrame = OpenFrame | ChunkFrame | StopFrame | CreditFrame;

export { isStreamFrame };

const { ACK, MESSAGE, FIN } = StreamFlags;
/** Bytes before a CHUNK's frame in its buffer: its length, for a length-prefixed transport. */
const PREFIX = 4;
const KIND_MASK = FrameFlags.KIND_MASK;
const KINDS: readonly (PayloadKind | undefined)[] = ['binary', 'text', 'value', undefined];

/**
 * Encodes a CHUNK straight into one buffer: the frame of every byte of a stream. The numbers
 * are the caller's counters and are trusted (seq and id from 1).
 *
 * The buffer has 4 bytes in front of the frame holding its length (u32 big-endian): a
 * length-prefixed transport (TCP, TLS) writes prefix and frame as one buffer, with neither a
 * copy nor a write of its own for the prefix (see `Coalescer.pushFrame`).
 */
export function encodeChunk(
  seq: number,
  ack: number | undefined,
  id: number,
  fin: boolean,
  payload: Uint8Array,
): Uint8Array {
  const size = 2 + varintSize(seq) + (ack === undefined ? 0 : varintSize(ack)) + varintSize(id);
  const length = size + payload.byteLength;
  const buffer = new Uint8Array(PREFIX + length);
  buffer[0] = length >>> 24;
  buffer[1] = length >>> 16;
  buffer[2] = length >>> 8;
  buffer[3] = length;
  const out = buffer.subarray(PREFIX);
  out[0] = StreamFrameTypes.chunk;
  out[1] = (ack === undefined ? 0 : ACK) | (fin ? FIN : 0);
  let at = putVarint(out, 2, seq);
  if (ack !== undefined) at = putVarint(out, at, ack);
  at = putVarint(out, at, id);
  out.set(payload, at);
  return out;
}

/**
 * Encodes any stream frame. Throws TypeError or RangeError, naming the field, for a frame the
 * peer would refuse (a seq or id of 0, a number that is not an integer up to 2^53 - 1, a
 * string with a lone surrogate, an unknown payload kind).
 */
export function encodeStreamFrame(frame: StreamFrame): Uint8Array {
  try {
    if (frame.type === 'chunk') {
      check(frame.seq, 1, 'seq');
      if (frame.ack !== undefined) check(frame.ack, 0, 'ack');
      check(frame.id, 1, 'id');
      if (!(frame.payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
      return encodeChunk(frame.seq, frame.ack, frame.id, frame.fin === true, frame.payload);
    }
    const w = new ByteWriter(64);
    w.byte(StreamFrameTypes[frame.type]);
    if (frame.type === 'credit') {
      w.byte(0);
      w.varint(frame.id, 'id', 1);
      w.varint(frame.limit, 'limit');
      return w.toBytes();
    }
    let flags = frame.ack === undefined ? 0 : ACK;
    if (frame.type === 'open') flags |= frame.message !== undefined ? MESSAGE : kindBits(frame.kind);
    w.byte(flags);
    w.varint(frame.seq, 'seq', 1);
    if (frame.ack !== undefined) w.varint(frame.ack, 'ack');
    w.varint(frame.id, 'id', 1);
    if (frame.type !== 'open') {
      w.string(frame.code, 'code');
      w.string(frame.message, 'message');
      return w.toBytes();
    }
    const message = frame.message;
    if (message === undefined) {
      if (!(frame.payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
      w.bytes(frame.payload);
      return w.toBytes();
    }
    w.varint(message.size, 'message.size');
    w.varint(message.header.byteLength, 'message.header length');
    w.bytes(message.header);
    return w.toBytes();
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      const Kind = error instanceof RangeError ? RangeError : TypeError;
      throw new Kind(`Cannot encode a ${String(frame.type)} frame: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

function check(value: number, min: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${field} must be an integer from ${min} to 2^53 - 1, got ${String(value)}`);
  }
}

/** The flag bits each type defines; any other set bit is refused. */
const DEFINED: Record<number, number> = {
  [StreamFrameTypes.open]: ACK | MESSAGE | KIND_MASK,
  [StreamFrameTypes.chunk]: ACK | FIN,
  [StreamFrameTypes.reset]: ACK,
  [StreamFrameTypes.cancel]: ACK,
  [StreamFrameTypes.credit]: 0,
};

const NAMES: Record<number, StreamFrame['type']> = {
  [StreamFrameTypes.open]: 'open',
  [StreamFrameTypes.chunk]: 'chunk',
  [StreamFrameTypes.reset]: 'reset',
  [StreamFrameTypes.cancel]: 'cancel',
  [StreamFrameTypes.credit]: 'credit',
};

/**
 * Decodes a stream frame body. A payload is a view of `bytes` (zero-copy). Throws
 * SocklineError `ERR_PROTOCOL` naming the field and byte for a malformed one: an unknown
 * type, an undefined flag bit (a message stream with a payload kind too), a bad varint, a
 * seq or id of 0, a string over its limit or not UTF-8, a header longer than the bytes left,
 * trailing bytes after the last field of a frame without payload.
 */
export function decodeStreamFrame(
  bytes: Uint8Array,
  limits: DecodeLimits = decodeLimitDefaults,
): StreamFrame {
  if (bytes.length < 2 || !isStreamFrame(bytes)) {
    throw new SocklineError(ErrorCodes.PROTOCOL, 'Malformed frame: not a stream frame (types 0x40 to 0x44)');
  }
  const type = bytes[0]!;
  const flags = bytes[1]!;
  const name = NAMES[type]!;
  const r = new ByteReader(bytes, 2, `${name} frame`);
  const open = type === StreamFrameTypes.open;
  if ((flags & ~DEFINED[type]!) !== 0 || (open && (flags & MESSAGE) !== 0 && (flags & KIND_MASK) !== 0)) {
    r.fail('flags', `0x${flags.toString(16).padStart(2, '0')} set bits that ${name} does not define`, 1);
  }
  if (name === 'credit') {
    const frame: CreditFrame = { type: 'credit', id: r.varint('id', 1), limit: r.varint('limit') };
    r.end();
    return frame;
  }
  const seq = r.varint('seq', 1);
  const ack = (flags & ACK) !== 0 ? r.varint('ack') : undefined;
  const id = r.varint('id', 1);
  let frame: StreamFrame;
  if (name === 'chunk') {
    frame = { type: 'chunk', seq, id, payload: r.rest() };
    if ((flags & FIN) !== 0) frame.fin = true;
  } else if (name === 'reset' || name === 'cancel') {
    frame = {
      type: name,
      seq,
      id,
      code: r.string('code', limits.maxNameBytes, 'maxNameBytes'),
      message: r.string('message', limits.maxTextBytes, 'maxTextBytes'),
    };
    r.end();
  } else if ((flags & MESSAGE) !== 0) {
    const size = r.varint('message.size');
    const start = r.offset;
    const length = r.varint('message.header length');
    if (length > r.remaining)
      r.fail('message.header', `declares ${length} bytes but only ${r.remaining} remain`, start);
    const at = r.offset;
    r.skip(length);
    r.end();
    frame = {
      type: 'open',
      seq,
      id,
      message: { size, header: bytes.subarray(at, at + length) },
      kind: 'binary',
      payload: bytes.subarray(bytes.length),
    };
  } else {
    const kind = KINDS[(flags & KIND_MASK) >> KIND_SHIFT];
    if (kind === undefined) return r.fail('payload kind', 'is 3, which is reserved', 1);
    frame = { type: 'open', seq, id, kind, payload: r.rest() };
  }
  if (ack !== undefined) (frame as { ack?: number }).ack = ack;
  return frame;
}
