import { utf8Decoder as utf8, utf8Encoder as encoder } from '../../core/protocol/codec.js';

/**
 * The frames of the compact client, as docs/protocol.md (wire v2) writes them: the client role
 * only. It encodes what a client sends (HELLO, DATA, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, REQUEST,
 * RESPONSE, ACK, PING, PONG, CLOSE) and decodes what a server sends (WELCOME, REFUSE, DATA,
 * PUBLISH, SUBREFUSE, REQUEST, RESPONSE, ACK, PING, PONG, CLOSE); anything else is refused, as
 * a client that announces neither BATCH nor streams must (§1.1, §13). Frames are flat arrays,
 * not named fields, so a bundle carries no field names: see {@link InFrame}.
 */

/** Frame types (§3.1). */
export const HELLO = 0x01;
export const WELCOME = 0x02;
export const REFUSE = 0x03;
export const DATA = 0x10;
export const PUBLISH = 0x11;
export const SUBSCRIBE = 0x12;
export const UNSUBSCRIBE = 0x13;
export const SUBREFUSE = 0x14;
export const REQUEST = 0x20;
export const RESPONSE = 0x21;
export const ACK = 0x30;
export const PING = 0x31;
export const PONG = 0x32;
export const CLOSE = 0x3f;

/** The largest integer a varint may carry (§2.2). */
const MAX = Number.MAX_SAFE_INTEGER;

/** The protocol's UTF-8 encoder and fatal decoder (§2.3), shared with the payload rules. */
export { encoder, utf8 };

/** A field to encode: a number is a varint, a string a length and its UTF-8, bytes go as they are. */
export type Part = number | string | Uint8Array;

/**
 * A frame body: type, flags, then each part. Bytes are written as they are (a payload, or a
 * body encoded before); a string that is not well-formed Unicode throws a TypeError (§2.3).
 */
export function encode(type: number, flags: number, ...parts: Part[]): Uint8Array {
  const head: number[] = [type, flags];
  const tails: Uint8Array[] = [];
  let size = 0;
  const flush = (): void => {
    if (head.length > 0) tails.push(Uint8Array.from(head.splice(0)));
  };
  for (const part of parts) {
    if (typeof part === 'number') {
      varint(head, part);
      continue;
    }
    let bytes = part;
    if (typeof part === 'string') {
      if (/\p{Cs}/u.test(part)) throw new TypeError(`not well-formed Unicode: ${JSON.stringify(part)}`);
      bytes = encoder.encode(part);
      varint(head, bytes.byteLength);
    }
    flush();
    tails.push(bytes as Uint8Array);
  }
  flush();
  for (const t of tails) size += t.byteLength;
  const out = new Uint8Array(size);
  size = 0;
  for (const t of tails) {
    out.set(t, size);
    size += t.byteLength;
  }
  return out;
}

/** The minimal LEB128 encoding of `v` (§2.2). */
function varint(head: number[], v: number): void {
  for (; v > 127; v = Math.floor(v / 128)) head.push((v % 128) | 128);
  head.push(v);
}

/**
 * A decoded frame: `[type, flags, seq, ack, ...fields]`, then the payload for DATA, PUBLISH,
 * REQUEST and RESPONSE. `seq` is 0 for an unsequenced frame, `ack` -1 without one. Fields, in
 * table order (§4): WELCOME version, sessionId, heartbeatInterval, heartbeatTimeout, lastSeq,
 * maxFrameSize, maxInFlight, resumeWindow, maxMessageSize, maxStreams; REFUSE code, message,
 * versions; PUBLISH topic; SUBREFUSE topic, code, message; REQUEST id, method; RESPONSE id,
 * then error code and message when flag 0x04 is set; ACK seq; PING, PONG nonce; CLOSE code,
 * reason, then reconnectAfter when flag 0x01 is set.
 */
export type InFrame = [number, number, number, number, ...unknown[]];

/**
 * The fields of each type a server sends (§4): `v` varint, `i` varint ≥ 1, `s` string ≤ 256,
 * `m` string ≤ 1024, `l` list of varints, `*` the flags of a sequenced frame (seq, ack, kind),
 * `p` the payload, `e` an error (`sm`) when flag 0x04 is set, `r` a varint when flag 0x01 is.
 */
const FIELDS: Record<number, string> = {
  [WELCOME]: 'vsvvvvvvvv',
  [REFUSE]: 'sml',
  [DATA]: '*p',
  [PUBLISH]: '*sp',
  [SUBREFUSE]: 'ssm',
  [REQUEST]: '*isp',
  [RESPONSE]: '*iep',
  [ACK]: 'v',
  [PING]: 'v',
  [PONG]: 'v',
  [CLOSE]: 'vmr',
};

/** The flag bits each type defines (§3.2); any other set bit is a protocol error. */
const FLAGS: Record<number, number> = {
  [WELCOME]: 0x03,
  [DATA]: 0x33,
  [PUBLISH]: 0x33,
  [REQUEST]: 0x33,
  [RESPONSE]: 0x37,
  [CLOSE]: 0x01,
};

/**
 * Reads one frame body a server sent. Throws (a plain `Error` naming the fault; the caller
 * makes it `ERR_PROTOCOL`) for anything §5.1 calls malformed, a text message included, before
 * allocating for a length it has not checked against the bytes left.
 */
export function decode(body: Uint8Array | string): InFrame {
  if (typeof body === 'string') throw new Error('a text message');
  const type = body[0]!;
  const flags = body[1]!;
  const fields = FIELDS[type];
  if (body.byteLength < 2 || fields === undefined) throw new Error(`frame type ${type}`);
  if ((flags & ~(FLAGS[type] ?? 0)) !== 0 || (flags & 0x30) === 0x30) throw new Error(`flags ${flags}`);
  let at = 2;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    let byte: number;
    let n = 0;
    do {
      if (at >= body.byteLength || n++ === 8) throw new Error('varint');
      byte = body[at++]!;
      value += (byte & 127) * scale;
      scale *= 128;
    } while (byte & 128);
    if ((n > 1 && byte === 0) || value > MAX) throw new Error('varint');
    return value;
  };
  const string = (limit: number): string => {
    const n = varint();
    if (n > limit || n > body.byteLength - at) throw new Error('string');
    return utf8.decode(body.subarray(at, (at += n)));
  };
  const id = (): number => {
    const v = varint();
    if (v === 0) throw new Error('zero');
    return v;
  };
  const out: InFrame = [type, flags, 0, -1];
  for (const field of fields) {
    switch (field) {
      case '*':
        if (flags & 2) out[2] = id();
        if (flags & 1) out[3] = varint();
        break;
      case 'v':
        out.push(varint());
        break;
      case 'i':
        out.push(id());
        break;
      case 's':
        out.push(string(256));
        break;
      case 'm':
        out.push(string(1024));
        break;
      case 'l': {
        const n = varint();
        if (n > 16 || n > body.byteLength - at) throw new Error('list');
        const list: number[] = [];
        while (list.length < n) list.push(varint());
        out.push(list);
        break;
      }
      case 'e':
        if (flags & 4) out.push(string(256), string(1024));
        break;
      case 'r':
        if (flags & 1) out.push(varint());
        break;
      default:
        // 'p': the rest of the body; nothing can trail it.
        out.push(body.subarray(at));
        at = body.byteLength;
    }
  }
  if (at !== body.byteLength) throw new Error('trailing bytes');
  return out;
}
