import { ErrorCodes, SocklineError } from '../errors.js';
import { ByteReader, ByteWriter } from '../protocol/varint.js';

/*
 * The datagram layer's packet codec (docs/udp.md §2-§3). Every packet starts with the
 * marker-and-version byte, a type byte and the 8-byte connection id; what follows depends on
 * the type. Decoding never trusts a length: each read is checked against the bytes left, and
 * every failure is a SocklineError `ERR_PROTOCOL` (the caller drops the datagram).
 */

/** Byte 0 of every packet: high nibble 0xD marks sockline datagrams, low nibble 1 is the version. */
export const PACKET_MARKER = 0xd1;

/** Bytes of a connection id. */
export const CONNECTION_ID_SIZE = 8;

/** Bytes of marker + type + connection id. */
export const PACKET_HEADER_SIZE = 2 + CONNECTION_ID_SIZE;

/** An INITIAL is padded to at least this many bytes, so a COOKIE answer is always smaller. */
export const MIN_INITIAL_SIZE = 64;

/** The largest cookie an INITIAL or COOKIE carries. */
export const MAX_COOKIE_SIZE = 32;

/** Bytes of a PATH_CHALLENGE / PATH_RESPONSE nonce. */
export const NONCE_SIZE = 8;

/** Bytes of an ack's selective bitmap at most: 256 packet numbers, the whole default window of 256 packets */
export const MAX_ACK_BITMAP_BYTES = 32;

/** Numeric packet types: byte 1 of every packet. */
export const PacketTypes = {
  initial: 0x01,
  cookie: 0x02,
  accept: 0x03,
  packet: 0x10,
  ack: 0x11,
  pathChallenge: 0x20,
  pathResponse: 0x21,
  close: 0x3f,
} as const;

/** Flag bits of INITIAL and ACCEPT. */
export const HandshakeFlags = { RELIABLE: 0x01 } as const;

/** Flag bits of PACKET. */
export const PacketFlags = {
  /** The packet must be acknowledged and is delivered in packet-number order. */
  RELIABLE: 0x01,
  /** A cumulative ack and a selective-ack bitmap follow the flags. */
  ACK: 0x02,
  /** A fragment header (message id, index, count) follows. */
  FRAGMENT: 0x04,
} as const;

const PACKET_FLAGS_ALL = 0x07;

/**
 * What an ack says: every packet number ≤ `cumulative` arrived, and so did
 * `cumulative + 2 + 8·k + j` for each bit j (least significant first) set in `bitmap[k]`.
 */
export interface AckInfo {
  readonly cumulative: number;
  readonly bitmap: Uint8Array;
}

/** Whether `ack` covers packet number `pn`. */
export function ackCovers(ack: AckInfo, pn: number): boolean {
  if (pn <= ack.cumulative) return true;
  const bit = pn - ack.cumulative - 2;
  if (bit < 0) return false;
  const byte = ack.bitmap[bit >> 3];
  return byte !== undefined && ((byte >> (bit & 7)) & 1) === 1;
}

export interface FragmentInfo {
  readonly messageId: number;
  readonly index: number;
  readonly count: number;
}

/** A decoded packet. `cid` is a view of the datagram (copy it to keep it). */
export type Packet =
  | { type: 'initial'; cid: Uint8Array; reliable: boolean; cookie: Uint8Array }
  | { type: 'cookie'; cid: Uint8Array; cookie: Uint8Array }
  | { type: 'accept'; cid: Uint8Array; reliable: boolean }
  | {
      type: 'packet';
      cid: Uint8Array;
      pn: number;
      reliable: boolean;
      ack: AckInfo | undefined;
      fragment: FragmentInfo | undefined;
      payload: Uint8Array;
    }
  | { type: 'ack'; cid: Uint8Array; ack: AckInfo }
  | { type: 'pathChallenge' | 'pathResponse'; cid: Uint8Array; nonce: Uint8Array }
  | { type: 'close'; cid: Uint8Array };

export type PacketType = Packet['type'];

const typeNames = new Map<number, PacketType>(
  Object.entries(PacketTypes).map(([name, code]) => [code, name as PacketType]),
);

/** Encodes a packet. Throws RangeError/TypeError on a field out of range (a caller bug). */
export function encodePacket(packet: Packet): Uint8Array {
  if (packet.cid.byteLength !== CONNECTION_ID_SIZE) {
    throw new RangeError(`cid must be ${CONNECTION_ID_SIZE} bytes, got ${packet.cid.byteLength}`);
  }
  const w = new ByteWriter(packet.type === 'packet' ? 32 + packet.payload.byteLength : 64);
  w.byte(PACKET_MARKER);
  w.byte(PacketTypes[packet.type]);
  w.bytes(packet.cid);
  switch (packet.type) {
    case 'initial':
      w.byte(packet.reliable ? HandshakeFlags.RELIABLE : 0);
      writeCookie(w, packet.cookie);
      while (w.length < MIN_INITIAL_SIZE) w.byte(0);
      break;
    case 'cookie':
      writeCookie(w, packet.cookie);
      break;
    case 'accept':
      w.byte(packet.reliable ? HandshakeFlags.RELIABLE : 0);
      break;
    case 'packet': {
      w.varint(packet.pn, 'pn', 1);
      const flags =
        (packet.reliable ? PacketFlags.RELIABLE : 0) |
        (packet.ack ? PacketFlags.ACK : 0) |
        (packet.fragment ? PacketFlags.FRAGMENT : 0);
      w.byte(flags);
      if (packet.ack) writeAck(w, packet.ack);
      if (packet.fragment) {
        const { messageId, index, count } = packet.fragment;
        if (!(count >= 2 && index < count)) throw new RangeError(`bad fragment ${index}/${count}`);
        w.varint(messageId, 'messageId');
        w.varint(index, 'index');
        w.varint(count, 'count', 2);
      }
      w.bytes(packet.payload);
      break;
    }
    case 'ack':
      writeAck(w, packet.ack);
      break;
    case 'pathChallenge':
    case 'pathResponse':
      if (packet.nonce.byteLength !== NONCE_SIZE) throw new RangeError(`nonce must be ${NONCE_SIZE} bytes`);
      w.bytes(packet.nonce);
      break;
    case 'close':
      break;
  }
  return w.toBytes();
}

/**
 * Decodes one datagram. Throws SocklineError `ERR_PROTOCOL` for anything malformed: a wrong
 * marker, an unknown type, a truncated field, an undefined flag bit, trailing bytes after a
 * fixed-size packet, non-zero INITIAL padding, an INITIAL under {@link MIN_INITIAL_SIZE}.
 */
export function decodePacket(bytes: Uint8Array): Packet {
  if (bytes.byteLength < PACKET_HEADER_SIZE) {
    throw new SocklineError(
      ErrorCodes.PROTOCOL,
      `datagram of ${bytes.byteLength} bytes is shorter than a header`,
    );
  }
  if (bytes[0] !== PACKET_MARKER) {
    throw new SocklineError(ErrorCodes.PROTOCOL, `unknown marker/version byte 0x${hex(bytes[0]!)}`);
  }
  const type = typeNames.get(bytes[1]!);
  if (type === undefined) {
    throw new SocklineError(ErrorCodes.PROTOCOL, `unknown packet type 0x${hex(bytes[1]!)}`);
  }
  const cid = bytes.subarray(2, PACKET_HEADER_SIZE);
  const r = new Cursor(bytes, PACKET_HEADER_SIZE, `${type} packet`);
  switch (type) {
    case 'initial': {
      if (bytes.byteLength < MIN_INITIAL_SIZE)
        r.fail('length', `is ${bytes.byteLength}, under ${MIN_INITIAL_SIZE}`, 0);
      const flags = handshakeFlags(r);
      const cookie = readCookie(r);
      const padding = r.rest();
      if (padding.some((b) => b !== 0)) r.fail('padding', 'holds a non-zero byte');
      return { type, cid, reliable: flags === HandshakeFlags.RELIABLE, cookie };
    }
    case 'cookie': {
      const cookie = readCookie(r);
      r.end();
      return { type, cid, cookie };
    }
    case 'accept': {
      const flags = handshakeFlags(r);
      r.end();
      return { type, cid, reliable: flags === HandshakeFlags.RELIABLE };
    }
    case 'packet': {
      const pn = r.varint('pn', 1);
      const flags = r.byte('flags');
      if ((flags & ~PACKET_FLAGS_ALL) !== 0) r.fail('flags', `has undefined bits 0x${hex(flags)}`);
      const reliable = (flags & PacketFlags.RELIABLE) !== 0;
      const ack = flags & PacketFlags.ACK ? readAck(r) : undefined;
      let fragment: FragmentInfo | undefined;
      if (flags & PacketFlags.FRAGMENT) {
        if (!reliable) r.fail('flags', 'has FRAGMENT without RELIABLE');
        const messageId = r.varint('messageId');
        const index = r.varint('index');
        const count = r.varint('count', 2);
        if (index >= count) r.fail('index', `is ${index}, not below count ${count}`);
        fragment = { messageId, index, count };
      }
      return { type, cid, pn, reliable, ack, fragment, payload: r.rest() };
    }
    case 'ack': {
      const ack = readAck(r);
      r.end();
      return { type, cid, ack };
    }
    case 'pathChallenge':
    case 'pathResponse': {
      const nonce = r.take('nonce', NONCE_SIZE);
      r.end();
      return { type, cid, nonce };
    }
    case 'close':
      r.end();
      return { type, cid };
  }
}

/**
 * The connection id of a datagram without decoding the rest, or undefined when the header is
 * not a sockline packet header. Lets a listener find the peer before paying for a decode.
 */
export function peekConnectionId(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.byteLength < PACKET_HEADER_SIZE || bytes[0] !== PACKET_MARKER) return undefined;
  return bytes.subarray(2, PACKET_HEADER_SIZE);
}

/** The largest header a PACKET can have: pn (8), flags (1), ack (8 + 1 + 32), fragment (8 + 2 + 2). */
export const MAX_PACKET_OVERHEAD = PACKET_HEADER_SIZE + 8 + 1 + (9 + MAX_ACK_BITMAP_BYTES) + 12;

/** The largest header of a PACKET with neither ack nor fragment (unreliable mode). */
export const UNRELIABLE_PACKET_OVERHEAD = PACKET_HEADER_SIZE + 8 + 1;

/** Connection ids as map keys: 16 lowercase hex digits. */
export function cidKey(cid: Uint8Array): string {
  let s = '';
  for (let i = 0; i < cid.length; i++) s += hex(cid[i]!);
  return s;
}

function handshakeFlags(r: Cursor): number {
  const flags = r.byte('flags');
  if ((flags & ~HandshakeFlags.RELIABLE) !== 0) r.fail('flags', `has undefined bits 0x${hex(flags)}`);
  return flags;
}

/**
 * A read position over one datagram. Varints go through the protocol's ByteReader, so they
 * follow exactly the rules of docs/protocol.md §2.2 (≤ 8 bytes, minimal, ≤ 2^53 − 1).
 */
class Cursor {
  readonly #bytes: Uint8Array;
  readonly #what: string;
  #at: number;

  constructor(bytes: Uint8Array, at: number, what: string) {
    this.#bytes = bytes;
    this.#at = at;
    this.#what = what;
  }

  get remaining(): number {
    return this.#bytes.length - this.#at;
  }

  fail(field: string, problem: string, at = this.#at): never {
    throw new SocklineError(
      ErrorCodes.PROTOCOL,
      `Malformed ${this.#what}: ${field} at byte ${at} ${problem}`,
    );
  }

  byte(field: string): number {
    const b = this.#bytes[this.#at];
    if (b === undefined) this.fail(field, 'is missing: the packet ends there');
    this.#at++;
    return b;
  }

  varint(field: string, min = 0): number {
    const reader = new ByteReader(this.#bytes, this.#at, this.#what);
    const value = reader.varint(field, min);
    this.#at = reader.offset;
    return value;
  }

  take(field: string, size: number): Uint8Array {
    if (size > this.remaining) this.fail(field, `needs ${size} bytes but only ${this.remaining} remain`);
    const view = this.#bytes.subarray(this.#at, this.#at + size);
    this.#at += size;
    return view;
  }

  rest(): Uint8Array {
    return this.take('rest', this.remaining);
  }

  end(): void {
    if (this.remaining !== 0)
      this.fail('end of packet', `expected, but ${this.remaining} trailing byte(s) follow`);
  }
}

function writeCookie(w: ByteWriter, cookie: Uint8Array): void {
  if (cookie.byteLength > MAX_COOKIE_SIZE) throw new RangeError(`cookie over ${MAX_COOKIE_SIZE} bytes`);
  w.varint(cookie.byteLength, 'cookie length');
  w.bytes(cookie);
}

function readCookie(r: Cursor): Uint8Array {
  const size = r.varint('cookie length');
  if (size > MAX_COOKIE_SIZE) r.fail('cookie', `declares ${size} bytes: over ${MAX_COOKIE_SIZE}`);
  return r.take('cookie', size);
}

function writeAck(w: ByteWriter, ack: AckInfo): void {
  w.varint(ack.cumulative, 'cumulative');
  if (ack.bitmap.byteLength > MAX_ACK_BITMAP_BYTES)
    throw new RangeError(`ack bitmap over ${MAX_ACK_BITMAP_BYTES} bytes`);
  w.varint(ack.bitmap.byteLength, 'bitmap length');
  w.bytes(ack.bitmap);
}

function readAck(r: Cursor): AckInfo {
  const cumulative = r.varint('cumulative');
  const size = r.varint('bitmap length');
  if (size > MAX_ACK_BITMAP_BYTES) r.fail('bitmap', `declares ${size} bytes: over ${MAX_ACK_BITMAP_BYTES}`);
  return { cumulative, bitmap: r.take('bitmap', size) };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
