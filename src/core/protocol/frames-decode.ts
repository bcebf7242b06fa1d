import { ErrorCodes, SocklineError } from '../errors.js';
import type {
  DataFrame,
  Frame,
  HelloFrame,
  PayloadKind,
  PublishFrame,
  ResponseFrame,
  WelcomeFrame,
} from './frames.js';
import { ByteReader } from './varint.js';
import { decodeLimitDefaults, type DecodeLimits } from './decode-limits.js';

export { decodeLimitDefaults, type DecodeLimits };

/*
 * The wire constants live here, with the decoder that is their main reader, rather than in
 * frames.ts: frames.ts re-exports this module, so importing values from it would be a cycle.
 */

/** At most this many versions in a HELLO or REFUSE (docs/protocol.md §4.1). */
export const MAX_VERSIONS = 16;

/** Numeric frame types: byte 0 of every frame body. */
export const FrameTypes = {
  hello: 0x01,
  welcome: 0x02,
  refuse: 0x03,
  data: 0x10,
  publish: 0x11,
  subscribe: 0x12,
  unsubscribe: 0x13,
  subrefuse: 0x14,
  request: 0x20,
  response: 0x21,
  ack: 0x30,
  ping: 0x31,
  pong: 0x32,
  close: 0x3f,
} as const;

/**
 * The frames of streams and large messages (0x40 to 0x44, docs/protocol.md §13) have a codec of
 * their own (`frames-stream.ts`), loaded only where they are used: `decodeFrame` refuses them.
 */
export function isStreamFrame(bytes: Uint8Array): boolean {
  const type = bytes[0]!;
  return type >= 0x40 && type <= 0x44;
}

/** The name of a frame type, the `type` of a {@link Frame}. */
export type FrameType = keyof typeof FrameTypes;

/**
 * Flag bits (byte 1). Bits 0-1 mean something different per type; a bit a type does not
 * define must be 0, or the frame is refused (so a version 1 peer never misreads a frame of
 * a later version as one it knows).
 */
export const FrameFlags = {
  /** hello: a token follows the codec. */
  TOKEN: 0x01,
  /** hello: a resume block (sessionId, lastSeq) follows. */
  RESUME: 0x02,
  /** hello: the client's receive limits (maxFrameSize, maxMessageSize, maxStreams) follow. */
  LIMITS: 0x04,
  /** welcome: the session was resumed. */
  RESUMED: 0x01,
  /** welcome: the server takes BATCH messages and may send them. */
  BATCH: 0x02,
  /** data, publish, request, response: an `ack` varint follows the seq. */
  ACK: 0x01,
  /**
   * data, publish, request, response: a `seq` varint is present (the frame is sequenced:
   * replayed on resume, delivered exactly once).
   */
  SEQUENCED: 0x02,
  /** response: the request failed; an error code and message follow the id. */
  ERROR: 0x04,
  /** close: a `reconnectAfter` varint follows the reason. */
  RECONNECT_AFTER: 0x01,
  /** data, publish, request, response: the 2-bit payload kind (see {@link PayloadKinds}). */
  KIND_MASK: 0x30,
} as const;

/** Bit position of the payload kind inside the flags. */
export const KIND_SHIFT = 4;

/** The 2-bit payload kind codes (flags bits 4-5); 3 is reserved and refused. */
export const PayloadKinds = {
  binary: 0,
  text: 1,
  value: 2,
} as const;

/** Limits objects returned by {@link resolveDecodeLimits}, so they are not validated again. */
const resolvedLimits = new WeakSet<DecodeLimits>([decodeLimitDefaults]);

/**
 * Validates `limits` once and fills in the defaults. Pass the result to every
 * `decodeFrame` call of a connection: a resolved object is recognised and used as it is,
 * while any other object is validated on each call.
 *
 * Throws RangeError naming the option when a value is not a positive integer or `Infinity`.
 *
 * @example
 * ```ts
 * const limits = resolveDecodeLimits({ maxTokenBytes: 16_384 });
 * transport.on('message', (bytes) => handle(decodeFrame(bytes, limits)));
 * ```
 */
export function resolveDecodeLimits(limits: Partial<DecodeLimits> = {}): DecodeLimits {
  if (resolvedLimits.has(limits as DecodeLimits)) return limits as DecodeLimits;
  const resolved: DecodeLimits = Object.freeze({
    maxNameBytes: limit(limits, 'maxNameBytes'),
    maxTextBytes: limit(limits, 'maxTextBytes'),
    maxTokenBytes: limit(limits, 'maxTokenBytes'),
  });
  resolvedLimits.add(resolved);
  return resolved;
}

function limit(limits: Partial<DecodeLimits>, name: keyof DecodeLimits): number {
  const value = limits[name];
  if (value === undefined) return decodeLimitDefaults[name];
  if (value === Infinity || (Number.isSafeInteger(value) && value > 0)) return value;
  throw new RangeError(`${name} must be a positive integer or Infinity, got ${String(value)}`);
}

/** How one frame type is read: which flag bits it defines, and its fields. */
interface FrameSpec {
  readonly name: FrameType;
  /** Error messages say `Malformed <what>: ...`. */
  readonly what: string;
  /** The flag bits this type defines; any other bit set is refused. */
  readonly flags: number;
  /** Reads the fields after the 2-byte header; must consume every byte (or take the rest as payload). */
  readonly read: (r: ByteReader, flags: number, limits: DecodeLimits) => Frame;
}

/** Payload kind by its 2-bit code; `undefined` at 3, the reserved code. */
const KINDS: readonly (PayloadKind | undefined)[] = ['binary', 'text', 'value', undefined];

const { ACK, SEQUENCED, TOKEN, RESUME, LIMITS, RESUMED, BATCH, ERROR, RECONNECT_AFTER, KIND_MASK } =
  FrameFlags;

/** The flags of DATA and PUBLISH (and, with ERROR for RESPONSE, of REQUEST and RESPONSE). */
const MESSAGE_FLAGS = ACK | SEQUENCED | KIND_MASK;

/**
 * Decodes one frame body. The payload of DATA, PUBLISH, REQUEST and RESPONSE is a view of
 * `bytes` (zero-copy): copy it to keep it long, since a view pins its whole parent buffer.
 *
 * Throws SocklineError `ERR_PROTOCOL`, with a message naming the field and byte offset, when
 * the body is malformed: unknown type, flag bits the type does not define, the reserved
 * payload kind, a bad varint (over 8 bytes, cut off, above 2^53 - 1, non-minimal), a
 * string over its limit, past the end or not UTF-8, a count over 16, a seq or request id
 * of 0, or trailing bytes after the last field of a type without payload. Nothing is
 * allocated for a declared length before it is checked against the bytes left.
 *
 * @param limits string limits; pass the result of `resolveDecodeLimits` to skip
 *   re-validating them on every call. @default decodeLimitDefaults
 *
 * @example
 * ```ts
 * const frame = decodeFrame(bytes);
 * if (frame.type === 'data' && frame.seq !== undefined) deliver(frame.seq, frame.payload);
 * ```
 */
export function decodeFrame(bytes: Uint8Array, limits?: Partial<DecodeLimits>): Frame {
  return readFrame(bytes, allFrames, limits);
}

/**
 * {@link decodeFrame} with the frames of `table` only: `clientFrames` for what a client
 * receives (a browser bundle then carries no reader of the frames only a server receives),
 * `allFrames` for every frame.
 */
export function readFrame(bytes: Uint8Array, table: FrameTable, limits?: Partial<DecodeLimits>): Frame {
  // The frame of every message, read without a reader object when its numbers are small;
  // anything unusual (or wrong) goes the general way, which names the problem.
  const frame = readDataQuickly(bytes);
  if (frame !== undefined) return frame;
  const resolved = limits === undefined ? decodeLimitDefaults : resolveDecodeLimits(limits);
  if (bytes.length < 2) {
    throw new SocklineError(
      ErrorCodes.PROTOCOL,
      `Malformed frame: ${bytes.length} byte(s), shorter than the 2-byte header (type, flags)`,
    );
  }
  const type = bytes[0]!;
  const flags = bytes[1]!;
  const spec = table[type];
  if (spec === undefined) {
    throw new SocklineError(ErrorCodes.PROTOCOL, `Malformed frame: unknown type 0x${hex(type)} at byte 0`);
  }
  const unknown = flags & ~spec.flags;
  if (unknown !== 0) {
    throw new SocklineError(
      ErrorCodes.PROTOCOL,
      `Malformed ${spec.what}: flags 0x${hex(flags)} at byte 1 set bits 0x${hex(unknown)} that ${spec.name} does not define`,
    );
  }
  return spec.read(new ByteReader(bytes, 2, spec.what), flags, resolved);
}

/** Where the varint read by {@link shortVarint} ended. */
let varintEnd = 0;

/**
 * A minimal varint of at most 4 bytes (below 2^28) at `at`, or -1 for any other (longer,
 * cut off, not minimal): the general reader then takes the frame.
 */
function shortVarint(bytes: Uint8Array, at: number, n: number): number {
  if (at >= n) return -1;
  let b = bytes[at]!;
  if (b < 0x80) {
    varintEnd = at + 1;
    return b;
  }
  let value = b & 0x7f;
  for (let shift = 7, i = at + 1; shift < 28; shift += 7, i++) {
    if (i >= n) return -1;
    b = bytes[i]!;
    value |= (b & 0x7f) << shift;
    if (b < 0x80) {
      if (b === 0) return -1;
      varintEnd = i + 1;
      return value;
    }
  }
  return -1;
}

/**
 * What {@link readDataHeader} read of a DATA frame: one object, filled again by each read, so
 * reading the frame of a message allocates nothing but the view of its payload.
 */
export interface DataHeader {
  kind: PayloadKind;
  /** The seq, or -1 when the frame is not sequenced. */
  seq: number;
  /** The piggybacked ack, or -1 for none. */
  ack: number;
  /** Where the payload starts (an index into the bytes read): it runs to the end of the frame. */
  at: number;
}

/**
 * Reads the header of a DATA frame whose seq and ack are short varints into `out`: the
 * frame of every message, read without a frame object. The frame is `bytes` from `start` to
 * `end` (all of it by default). False (and `out` left as it may be)
 * for any other frame, or one that is not that simple: `decodeFrame` reads those and names
 * what is wrong with them. A caller reads `out` before anything else may read a frame.
 */
export function readDataHeader(bytes: Uint8Array, out: DataHeader, start = 0, end = bytes.length): boolean {
  if (bytes[start] !== FrameTypes.data || end - start < 2) return false;
  const flags = bytes[start + 1]!;
  if ((flags & ~MESSAGE_FLAGS) !== 0) return false;
  const kind = KINDS[(flags & KIND_MASK) >> KIND_SHIFT];
  if (kind === undefined) return false;
  let at = start + 2;
  let seq = -1;
  let ack = -1;
  if ((flags & SEQUENCED) !== 0) {
    seq = shortVarint(bytes, at, end);
    if (seq < 1) return false;
    at = varintEnd;
  }
  if ((flags & ACK) !== 0) {
    ack = shortVarint(bytes, at, end);
    if (ack < 0) return false;
    at = varintEnd;
  }
  out.kind = kind;
  out.seq = seq;
  out.ack = ack;
  out.at = at;
  return true;
}

const quick: DataHeader = { kind: 'binary', seq: -1, ack: -1, at: 0 };

/** A DATA frame whose seq and ack are short varints; undefined when it is not that simple. */
function readDataQuickly(bytes: Uint8Array): DataFrame | undefined {
  if (!readDataHeader(bytes, quick)) return undefined;
  const frame: DataFrame = { type: 'data', kind: quick.kind, payload: bytes.subarray(quick.at) };
  if (quick.seq !== -1) frame.seq = quick.seq;
  if (quick.ack !== -1) frame.ack = quick.ack;
  return frame;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function kindOf(r: ByteReader, flags: number): PayloadKind {
  const kind = KINDS[(flags & KIND_MASK) >> KIND_SHIFT];
  if (kind === undefined) r.fail('payload kind', 'is 3, which is reserved', 1);
  return kind;
}

function readVersions(r: ByteReader): number[] {
  const start = r.offset;
  const count = r.varint('versions count');
  // Both checks before the array exists: a 5-byte count of 2^40 allocates nothing.
  if (count > MAX_VERSIONS) r.fail('versions count', `is ${count}: over ${MAX_VERSIONS}`, start);
  if (count > r.remaining)
    r.fail('versions count', `is ${count} but only ${r.remaining} bytes remain`, start);
  const versions: number[] = [];
  for (let i = 0; i < count; i++) versions.push(r.varint('version'));
  return versions;
}

function readHello(r: ByteReader, flags: number, limits: DecodeLimits): Frame {
  const frame: HelloFrame = {
    type: 'hello',
    versions: readVersions(r),
    capabilities: r.varint('capabilities'),
    codec: r.string('codec', limits.maxNameBytes, 'maxNameBytes'),
  };
  if ((flags & TOKEN) !== 0) frame.token = r.string('token', limits.maxTokenBytes, 'maxTokenBytes');
  if ((flags & RESUME) !== 0) {
    const sessionId = r.string('sessionId', limits.maxNameBytes, 'maxNameBytes');
    frame.resume = { sessionId, lastSeq: r.varint('lastSeq') };
  }
  if ((flags & LIMITS) !== 0) {
    frame.limits = {
      maxFrameSize: r.varint('maxFrameSize'),
      maxMessageSize: r.varint('maxMessageSize'),
      maxStreams: r.varint('maxStreams'),
    };
  }
  r.end();
  return frame;
}

function readWelcome(r: ByteReader, flags: number, limits: DecodeLimits): Frame {
  // Object literal properties are evaluated in source order: the wire order.
  const frame: WelcomeFrame = {
    type: 'welcome',
    version: r.varint('version'),
    sessionId: r.string('sessionId', limits.maxNameBytes, 'maxNameBytes'),
    resumed: (flags & RESUMED) !== 0,
    heartbeatInterval: r.varint('heartbeatInterval'),
    heartbeatTimeout: r.varint('heartbeatTimeout'),
    lastSeq: r.varint('lastSeq'),
    maxFrameSize: r.varint('maxFrameSize'),
    maxInFlight: r.varint('maxInFlight'),
    resumeWindow: r.varint('resumeWindow'),
    maxMessageSize: r.varint('maxMessageSize'),
    maxStreams: r.varint('maxStreams'),
  };
  if ((flags & BATCH) !== 0) frame.batch = true;
  r.end();
  return frame;
}

function readRefuse(r: ByteReader, _flags: number, limits: DecodeLimits): Frame {
  const frame: Frame = {
    type: 'refuse',
    code: r.string('code', limits.maxNameBytes, 'maxNameBytes'),
    message: r.string('message', limits.maxTextBytes, 'maxTextBytes'),
    versions: readVersions(r),
  };
  r.end();
  return frame;
}

/** DATA and PUBLISH share everything but the topic. */
function readMessage(r: ByteReader, flags: number, limits: DecodeLimits, isPublish: boolean): Frame {
  const kind = kindOf(r, flags);
  // Sequence numbers start at 1 (docs/protocol.md §6): 0 is never a message.
  const seq = (flags & SEQUENCED) !== 0 ? r.varint('seq', 1) : undefined;
  const ack = (flags & ACK) !== 0 ? r.varint('ack') : undefined;
  let frame: DataFrame | PublishFrame;
  if (isPublish) {
    const topic = r.string('topic', limits.maxNameBytes, 'maxNameBytes');
    frame = { type: 'publish', topic, kind, payload: r.rest() };
  } else {
    frame = { type: 'data', kind, payload: r.rest() };
  }
  if (seq !== undefined) frame.seq = seq;
  if (ack !== undefined) frame.ack = ack;
  return frame;
}

function readTopic(r: ByteReader, limits: DecodeLimits, name: 'subscribe' | 'unsubscribe'): Frame {
  const frame: Frame = { type: name, topic: r.string('topic', limits.maxNameBytes, 'maxNameBytes') };
  r.end();
  return frame;
}

function readSubrefuse(r: ByteReader, _flags: number, limits: DecodeLimits): Frame {
  const frame: Frame = {
    type: 'subrefuse',
    topic: r.string('topic', limits.maxNameBytes, 'maxNameBytes'),
    code: r.string('code', limits.maxNameBytes, 'maxNameBytes'),
    message: r.string('message', limits.maxTextBytes, 'maxTextBytes'),
  };
  r.end();
  return frame;
}

/** The `seq` and `ack` of a REQUEST or RESPONSE, when its flags say they are there. */
function readSequence(r: ByteReader, flags: number, frame: { seq?: number; ack?: number }): void {
  if ((flags & SEQUENCED) !== 0) frame.seq = r.varint('seq', 1);
  if ((flags & ACK) !== 0) frame.ack = r.varint('ack');
}

function readRequest(r: ByteReader, flags: number, limits: DecodeLimits): Frame {
  const kind = kindOf(r, flags);
  const sequence: { seq?: number; ack?: number } = {};
  readSequence(r, flags, sequence);
  const id = r.varint('id', 1);
  const method = r.string('method', limits.maxNameBytes, 'maxNameBytes');
  return { type: 'request', ...sequence, id, method, kind, payload: r.rest() };
}

function readResponse(r: ByteReader, flags: number, limits: DecodeLimits): Frame {
  const kind = kindOf(r, flags);
  const sequence: { seq?: number; ack?: number } = {};
  readSequence(r, flags, sequence);
  const id = r.varint('id', 1);
  if ((flags & ERROR) === 0) return { type: 'response', ...sequence, id, kind, payload: r.rest() };
  const code = r.string('error code', limits.maxNameBytes, 'maxNameBytes');
  const message = r.string('error message', limits.maxTextBytes, 'maxTextBytes');
  const frame: ResponseFrame = {
    type: 'response',
    ...sequence,
    id,
    error: { code, message },
    kind,
    payload: r.rest(),
  };
  return frame;
}

function readVarintFrame(name: 'ack' | 'ping' | 'pong') {
  const field = name === 'ack' ? 'seq' : 'nonce';
  return (r: ByteReader): Frame => {
    const value = r.varint(field);
    r.end();
    return name === 'ack' ? { type: 'ack', seq: value } : { type: name, nonce: value };
  };
}

function readClose(r: ByteReader, flags: number, limits: DecodeLimits): Frame {
  const frame: Frame = {
    type: 'close',
    code: r.varint('code'),
    reason: r.string('reason', limits.maxTextBytes, 'maxTextBytes'),
  };
  if ((flags & RECONNECT_AFTER) !== 0) frame.reconnectAfter = r.varint('reconnectAfter');
  r.end();
  return frame;
}

/** How each frame type is read, indexed by its type byte (see {@link frameTable}). */
export type FrameTable = readonly (FrameSpec | undefined)[];

/**
 * A table of frame readers indexed by type byte: an array of 256, so any byte indexes it
 * without a bounds test. A type left out is refused as unknown.
 */
function frameTable(...lists: (readonly Omit<FrameSpec, 'what'>[])[]): FrameTable {
  const table = new Array<FrameSpec | undefined>(256).fill(undefined);
  for (const list of lists)
    for (const spec of list) table[FrameTypes[spec.name]] = { ...spec, what: `${spec.name} frame` };
  return table;
}

/** The frames both sides receive. */
const shared: readonly Omit<FrameSpec, 'what'>[] = [
  {
    name: 'data',
    flags: MESSAGE_FLAGS,
    read: (r: ByteReader, f: number, l: DecodeLimits) => readMessage(r, f, l, false),
  },
  {
    name: 'publish',
    flags: MESSAGE_FLAGS,
    read: (r: ByteReader, f: number, l: DecodeLimits) => readMessage(r, f, l, true),
  },
  { name: 'request', flags: MESSAGE_FLAGS, read: readRequest },
  { name: 'response', flags: MESSAGE_FLAGS | ERROR, read: readResponse },
  { name: 'ack', flags: 0, read: readVarintFrame('ack') },
  { name: 'ping', flags: 0, read: readVarintFrame('ping') },
  { name: 'pong', flags: 0, read: readVarintFrame('pong') },
  { name: 'close', flags: RECONNECT_AFTER, read: readClose },
  { name: 'welcome', flags: RESUMED | BATCH, read: readWelcome },
  { name: 'refuse', flags: 0, read: readRefuse },
  { name: 'subrefuse', flags: 0, read: readSubrefuse },
];

/** The flags of HELLO (outside the table below, so a bundle without it drops it whole). */
const HELLO_FLAGS = TOKEN | RESUME | LIMITS;

/** Every frame: what `decodeFrame` reads (and a server receives). */
export const allFrames: FrameTable = /* @__PURE__ */ frameTable(shared, [
  { name: 'hello', flags: HELLO_FLAGS, read: readHello },
  { name: 'subscribe', flags: 0, read: (r, _f, l) => readTopic(r, l, 'subscribe') },
  { name: 'unsubscribe', flags: 0, read: (r, _f, l) => readTopic(r, l, 'unsubscribe') },
]);

/**
 * What a client receives. HELLO, SUBSCRIBE and UNSUBSCRIBE, which only a server receives, are
 * known by their type alone (any flags, no fields read): the client refuses them as unexpected,
 * as it would after a full read.
 */
export const clientFrames: FrameTable = /* @__PURE__ */ frameTable(shared, [
  { name: 'hello', flags: 0xff, read: () => ({ type: 'hello' }) as Frame },
  { name: 'subscribe', flags: 0xff, read: () => ({ type: 'subscribe' }) as Frame },
  { name: 'unsubscribe', flags: 0xff, read: () => ({ type: 'unsubscribe' }) as Frame },
]);
