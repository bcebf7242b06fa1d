import { ByteReader, varintSize } from './varint.js';

/**
 * BATCH (docs/protocol.md §1.1): several frame bodies in one WebSocket message, so the
 * frames written in one tick cost one message and one write. Only sent to a peer that said
 * it takes them (HELLO capability BATCH, WELCOME flag BATCH).
 *
 * ```
 * 0f 00 | varint length | body | varint length | body | ...   (one body at least)
 * ```
 */
export const BATCH_TYPE = 0x0f;

/** The smallest body: type and flags. */
const MIN_BODY = 2;

/** One BATCH message holding `bodies` (whose byte lengths add up to `bytes`). */
export function encodeBatch(bodies: readonly Uint8Array[], bytes: number): Uint8Array {
  let size = 2 + bytes;
  for (let i = 0; i < bodies.length; i++) size += varintSize(bodies[i]!.byteLength);
  const out = new Uint8Array(size);
  out[0] = BATCH_TYPE;
  let at = 2;
  for (let i = 0; i < bodies.length; i++) {
    const body = bodies[i]!;
    let n = body.byteLength;
    while (n > 0x7f) {
      out[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[at++] = n;
    out.set(body, at);
    at += body.byteLength;
  }
  return out;
}

/**
 * The frame bodies of a BATCH message, as views of it (no copy), in order. A malformed BATCH
 * (flags set, a length under 2 or past the end, a bad varint, no body) throws SocklineError
 * `ERR_PROTOCOL`: nothing of it is handed out.
 */
export function splitBatch(message: Uint8Array): Uint8Array[] {
  const r = new ByteReader(message, 2, 'batch');
  if (message[0] !== BATCH_TYPE) r.fail('type', 'is not BATCH', 0);
  if (message[1] !== 0) r.fail('flags', 'must be 00', 1);
  if (r.remaining === 0) r.fail('bodies', 'are missing: a batch holds one at least');
  const bodies: Uint8Array[] = [];
  while (r.remaining > 0) {
    const start = r.offset;
    const n = r.varint('body length', MIN_BODY);
    if (n > r.remaining) r.fail('body length', `declares ${n} bytes but only ${r.remaining} remain`, start);
    bodies.push(message.subarray(r.offset, r.offset + n));
    r.skip(n);
  }
  return bodies;
}
