import { FrameFlags, FrameTypes, KIND_SHIFT, MAX_VERSIONS, PayloadKinds } from './frames-decode.js';
import type { DataFrame, Frame, HelloFrame, PayloadKind, PublishFrame, ResponseFrame } from './frames.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import { ByteWriter, MAX_VARINT_BYTES, putVarint, varintSize } from './varint.js';
import type { ByteSlab } from '../byte-slab.js';

const { ACK, SEQUENCED, TOKEN, RESUME, LIMITS, RESUMED, BATCH, ERROR, RECONNECT_AFTER } = FrameFlags;

/** Past this capacity the shared writer is dropped after use, so one huge frame does not pin memory. */
const SCRATCH_KEEP_MAX = 64 * 1024;

/**
 * The writer every `encodeFrame` call fills with the fields before the payload, then copies
 * once into the result. `busy` covers re-entry (a getter on a frame that encodes a frame):
 * the inner call gets a writer of its own.
 */
let scratch = new ByteWriter(256);
let busy = false;

/**
 * Encodes one frame body. The result is one allocation of the exact size: the fields are
 * written to a reused buffer, then copied with the payload into the result.
 *
 * Throws TypeError or RangeError, naming the frame type and the field, for a frame the
 * peer would refuse: an unknown `type`, a number that is not an integer from 0 to 2^53 - 1
 * (a seq or request id of 0 included), more than 16 versions, an unknown payload kind, a
 * payload that is not a Uint8Array, a string holding a lone surrogate. String length limits
 * are the receiver's (see `DecodeLimits`) and are not checked here.
 *
 * @example
 * ```ts
 * encodeFrame({ type: 'data', seq: 1, kind: 'text', payload: new TextEncoder().encode('hi') });
 * // 10 12 01 68 69
 * ```
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const shared = !busy;
  const w = shared ? scratch : new ByteWriter();
  busy = true;
  w.reset();
  try {
    const payload = writeFields(w, frame);
    const head = w.length;
    const out = new Uint8Array(payload === undefined ? head : head + payload.length);
    w.copyTo(out, 0);
    if (payload !== undefined && payload.length !== 0) out.set(payload, head);
    return out;
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      const type = typeof frame === 'object' && frame !== null ? String(frame.type) : String(frame);
      const Kind = error instanceof RangeError ? RangeError : TypeError;
      throw new Kind(`Cannot encode a ${type} frame: ${error.message}`, { cause: error });
    }
    throw error;
  } finally {
    if (shared) {
      busy = false;
      if (scratch.capacity > SCRATCH_KEEP_MAX) scratch = new ByteWriter(256);
    }
  }
}

/**
 * Encodes a DATA frame (`topic` undefined) or a PUBLISH frame: the bytes `encodeFrame` makes
 * of `{ type, seq, ack, topic, kind, payload }`, written straight into the one result buffer
 * (the path of every message). The numbers are the caller's own counters and are trusted: a
 * `seq` from 1 and an `ack` from 0, integers up to 2^53 - 1. A topic with a character
 * outside ASCII goes through `encodeFrame`, which checks its UTF-8. `slab`: where the result
 * is cut from (a sender's own, see {@link ByteSlab}); a buffer of its own without one.
 *
 * @example
 * ```ts
 * encodeMessage(undefined, 1, undefined, 'text', new TextEncoder().encode('hi')); // 10 12 01 68 69
 * ```
 */
export function encodeMessage(
  topic: string | undefined,
  seq: number | undefined,
  ack: number | undefined,
  kind: PayloadKind,
  payload: Uint8Array,
  slab?: ByteSlab,
): Uint8Array {
  let size = 2 + payload.length;
  let flags = kindBits(kind);
  if (seq !== undefined) {
    size += varintSize(seq);
    flags |= SEQUENCED;
  }
  if (ack !== undefined) {
    size += varintSize(ack);
    flags |= ACK;
  }
  if (topic !== undefined) {
    const n = topic.length;
    for (let i = 0; i < n; i++) {
      if (topic.charCodeAt(i) > 0x7f) {
        return encodeFrame({
          type: 'publish',
          topic,
          kind,
          payload,
          ...(seq === undefined ? {} : { seq }),
          ...(ack === undefined ? {} : { ack }),
        });
      }
    }
    size += varintSize(n) + n;
  }
  const out = slab === undefined ? new Uint8Array(size) : slab.alloc(size);
  out[0] = topic === undefined ? FrameTypes.data : FrameTypes.publish;
  out[1] = flags;
  let at = 2;
  if (seq !== undefined) at = putVarint(out, at, seq);
  if (ack !== undefined) at = putVarint(out, at, ack);
  if (topic !== undefined) {
    const n = topic.length;
    at = putVarint(out, at, n);
    for (let i = 0; i < n; i++) out[at++] = topic.charCodeAt(i);
  }
  if (payload.length !== 0) out.set(payload, at);
  return out;
}

/** Writes type, flags and every field before the payload; returns the payload, if the type has one. */
function writeFields(w: ByteWriter, frame: Frame): Uint8Array | undefined {
  if (typeof frame !== 'object' || frame === null) throw new TypeError('a frame must be an object');
  switch (frame.type) {
    case 'hello':
      return writeHello(w, frame);
    case 'welcome':
      w.byte(FrameTypes.welcome);
      w.byte((frame.resumed ? RESUMED : 0) | (frame.batch === true ? BATCH : 0));
      w.varint(frame.version, 'version');
      w.string(frame.sessionId, 'sessionId');
      w.varint(frame.heartbeatInterval, 'heartbeatInterval');
      w.varint(frame.heartbeatTimeout, 'heartbeatTimeout');
      w.varint(frame.lastSeq, 'lastSeq');
      w.varint(frame.maxFrameSize, 'maxFrameSize');
      w.varint(frame.maxInFlight, 'maxInFlight');
      w.varint(frame.resumeWindow, 'resumeWindow');
      w.varint(frame.maxMessageSize, 'maxMessageSize');
      w.varint(frame.maxStreams, 'maxStreams');
      return undefined;
    case 'refuse':
      w.byte(FrameTypes.refuse);
      w.byte(0);
      w.string(frame.code, 'code');
      w.string(frame.message, 'message');
      writeVersions(w, frame.versions);
      return undefined;
    case 'data':
    case 'publish':
      return writeMessage(w, frame);
    case 'subscribe':
    case 'unsubscribe':
      w.byte(FrameTypes[frame.type]);
      w.byte(0);
      w.string(frame.topic, 'topic');
      return undefined;
    case 'subrefuse':
      w.byte(FrameTypes.subrefuse);
      w.byte(0);
      w.string(frame.topic, 'topic');
      w.string(frame.code, 'code');
      w.string(frame.message, 'message');
      return undefined;
    case 'request':
      w.byte(FrameTypes.request);
      w.byte(kindBits(frame.kind) | sequenceBits(frame));
      writeSequence(w, frame);
      w.varint(frame.id, 'id', 1);
      w.string(frame.method, 'method');
      return payloadOf(frame.payload);
    case 'response':
      return writeResponse(w, frame);
    case 'ack':
      w.byte(FrameTypes.ack);
      w.byte(0);
      w.varint(frame.seq, 'seq');
      return undefined;
    case 'ping':
    case 'pong':
      w.byte(FrameTypes[frame.type]);
      w.byte(0);
      w.varint(frame.nonce, 'nonce');
      return undefined;
    case 'close':
      w.byte(FrameTypes.close);
      w.byte(frame.reconnectAfter === undefined ? 0 : RECONNECT_AFTER);
      w.varint(frame.code, 'code');
      w.string(frame.reason, 'reason');
      if (frame.reconnectAfter !== undefined) w.varint(frame.reconnectAfter, 'reconnectAfter');
      return undefined;
    default:
      throw new TypeError(`unknown frame type ${String((frame as { type?: unknown }).type)}`);
  }
}

function writeHello(w: ByteWriter, frame: HelloFrame): undefined {
  const { token, resume, limits } = frame;
  w.byte(FrameTypes.hello);
  w.byte((token === undefined ? 0 : TOKEN) | (resume === undefined ? 0 : RESUME) | (limits ? LIMITS : 0));
  writeVersions(w, frame.versions);
  w.varint(frame.capabilities, 'capabilities');
  w.string(frame.codec, 'codec');
  if (token !== undefined) w.string(token, 'token');
  if (resume !== undefined) {
    w.string(resume.sessionId, 'resume.sessionId');
    w.varint(resume.lastSeq, 'resume.lastSeq');
  }
  if (limits !== undefined) {
    w.varint(limits.maxFrameSize, 'limits.maxFrameSize');
    w.varint(limits.maxMessageSize, 'limits.maxMessageSize');
    w.varint(limits.maxStreams, 'limits.maxStreams');
  }
  return undefined;
}

/** The SEQUENCED and ACK flag bits of a frame that may carry a `seq` and an `ack`. */
function sequenceBits(frame: { seq?: number; ack?: number }): number {
  return (frame.seq === undefined ? 0 : SEQUENCED) | (frame.ack === undefined ? 0 : ACK);
}

/** A frame's `seq` (from 1: docs/protocol.md §7.1) and `ack`, when present. */
function writeSequence(w: ByteWriter, frame: { seq?: number; ack?: number }): void {
  if (frame.seq !== undefined) w.varint(frame.seq, 'seq', 1);
  if (frame.ack !== undefined) w.varint(frame.ack, 'ack');
}

function writeMessage(w: ByteWriter, frame: DataFrame | PublishFrame): Uint8Array {
  w.byte(FrameTypes[frame.type]);
  w.byte(kindBits(frame.kind) | sequenceBits(frame));
  writeSequence(w, frame);
  if (frame.type === 'publish') w.string(frame.topic, 'topic');
  return payloadOf(frame.payload);
}

function writeResponse(w: ByteWriter, frame: ResponseFrame): Uint8Array {
  const { error } = frame;
  w.byte(FrameTypes.response);
  w.byte(kindBits(frame.kind) | sequenceBits(frame) | (error === undefined ? 0 : ERROR));
  writeSequence(w, frame);
  w.varint(frame.id, 'id', 1);
  if (error !== undefined) {
    w.string(error.code, 'error.code');
    w.string(error.message, 'error.message');
  }
  return payloadOf(frame.payload);
}

function writeVersions(w: ByteWriter, versions: readonly number[]): void {
  if (!Array.isArray(versions)) throw new TypeError('versions must be an array of numbers');
  if (versions.length > MAX_VERSIONS) {
    throw new RangeError(`versions has ${versions.length} entries: at most ${MAX_VERSIONS} are allowed`);
  }
  w.varint(versions.length, 'versions count');
  for (let i = 0; i < versions.length; i++) w.varint(versions[i]!, 'versions[i]');
}

/** The flag bits (4-5) of a payload kind. */
export function kindBits(kind: PayloadKind): number {
  // A switch, not PayloadKinds[kind]: an own-property lookup would also accept 'toString'.
  switch (kind) {
    case 'binary':
      return PayloadKinds.binary << KIND_SHIFT;
    case 'text':
      return PayloadKinds.text << KIND_SHIFT;
    case 'value':
      return PayloadKinds.value << KIND_SHIFT;
    default:
      throw new TypeError(`kind must be 'binary', 'text' or 'value', got ${String(kind)}`);
  }
}

function payloadOf(payload: Uint8Array): Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  return payload;
}

/**
 * The most bytes a DATA or PUBLISH frame of `payload` (to `topic`) can take, whatever its
 * sequence and ack numbers: what a sender checks against the receiver's `maxFrameSize`
 * before it gives the message a sequence number (docs/protocol.md §5).
 */
export function messageFrameBound(topic: string | undefined, payload: Uint8Array): number {
  // type + flags, then seq and ack at their largest.
  let size = 2 + 2 * MAX_VARINT_BYTES + payload.byteLength;
  if (topic !== undefined) {
    const n = utf8Length(topic);
    size += varintSize(n) + n;
  }
  return size;
}

/**
 * Whether every frame of a DATA or PUBLISH of `payload` (to `topic`) is at most `limit`
 * bytes, whatever its seq and ack. A cheap over-estimate first (a UTF-16 unit is at most 3
 * bytes of UTF-8, each varint 8), the exact bound only for a message near the limit.
 */
export function messageFits(topic: string | undefined, payload: Uint8Array, limit: number): boolean {
  if (20 + payload.byteLength + (topic === undefined ? 0 : 3 * topic.length) <= limit) return true;
  return messageFrameBound(topic, payload) <= limit;
}

/** The error of a message whose frame could be over `maxFrameSize` (`assertMessageFits`). */
export function tooLarge(
  topic: string | undefined,
  payload: Uint8Array,
  maxFrameSize: number,
): SocklineError {
  return new SocklineError(
    ErrorCodes.FRAME_TOO_LARGE,
    `message of ${payload.byteLength} bytes is too large: its frame takes up to ${messageFrameBound(topic, payload)} bytes, over maxFrameSize (${maxFrameSize} bytes)`,
  );
}

/**
 * Throws `ERR_FRAME_TOO_LARGE` when a message's frame could be over `maxFrameSize`: a frame
 * the receiver would refuse must fail at once, not be queued, sent, refused and resent.
 */
export function assertMessageFits(
  topic: string | undefined,
  payload: Uint8Array,
  maxFrameSize: number,
): void {
  if (!messageFits(topic, payload, maxFrameSize)) throw tooLarge(topic, payload, maxFrameSize);
}

/** UTF-8 length of a string (lone surrogates count 3, as their replacement would). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
