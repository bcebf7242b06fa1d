/**
 * Reads the headers of the WebSocket frames a client sends, as the bytes stream in, and
 * says when a message declares more than a limit — before the `ws` receiver buffers its
 * payload. `ws` takes one `maxPayload` per server, fixed on each socket; the server's is
 * `maxFrameSize` (1 MiB by default), while before its HELLO a connection may send no frame
 * over the HELLO cap (16 KiB, docs/protocol.md §6.3). The guard enforces the lower limit
 * until the session is open, then is dropped.
 *
 * Frame layout (RFC 6455 §5.2): byte 0 FIN + opcode, byte 1 MASK + 7-bit length, a 16- or
 * 64-bit extended length (126 / 127), a 4-byte masking key when MASK, then the payload. A
 * message is one data frame (opcode 1 or 2) and its continuations (opcode 0) up to FIN;
 * control frames (opcode ≥ 8) may come between them and are not part of it.
 *
 * @example
 * const guard = new FrameHeaderGuard(16 << 10);
 * socket.prependListener('data', (chunk) => guard.push(chunk) || refuse());
 */
export class FrameHeaderGuard {
  readonly #limit: number;
  /** Header bytes of the frame being read (at most 2 + 8 + 4). */
  readonly #header = new Uint8Array(14);
  #have = 0;
  /** Header length of the current frame, known once its second byte is in. */
  #need = 2;
  /** Payload bytes of the current frame still to skip. */
  #skip = 0;
  /** Payload bytes of the current message so far (data frames only). */
  #message = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Bytes from the socket; false once a message declares more than the limit. */
  push(chunk: Uint8Array): boolean {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#skip > 0) {
        const step = Math.min(this.#skip, n - i);
        this.#skip -= step;
        i += step;
        continue;
      }
      this.#header[this.#have++] = chunk[i++]!;
      if (this.#have === 2) {
        const b1 = this.#header[1]!;
        const len7 = b1 & 0x7f;
        this.#need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      }
      if (this.#have < 2 || this.#have < this.#need) continue;
      if (!this.#frame()) return false;
    }
    return true;
  }

  /** A complete frame header: checks its message against the limit, then skips its payload. */
  #frame(): boolean {
    const h = this.#header;
    const fin = (h[0]! & 0x80) !== 0;
    const opcode = h[0]! & 0x0f;
    const len7 = h[1]! & 0x7f;
    let length = len7;
    if (len7 === 126) length = (h[2]! << 8) | h[3]!;
    else if (len7 === 127) {
      // Above 2^32 is over any limit; the high half is read as a number, not shifted.
      const high = ((h[2]! << 24) >>> 0) + (h[3]! << 16) + (h[4]! << 8) + h[5]!;
      const low = ((h[6]! << 24) >>> 0) + (h[7]! << 16) + (h[8]! << 8) + h[9]!;
      length = high > 0 ? Infinity : low;
    }
    this.#have = 0;
    this.#need = 2;
    this.#skip = length;
    if (opcode >= 8) return length <= 125; // a control frame: never part of a message (§5.5)
    if (opcode !== 0) this.#message = 0;
    this.#message += length;
    if (this.#message > this.#limit) return false;
    if (fin) this.#message = 0;
    return true;
  }
}
