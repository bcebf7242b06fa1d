/** The smallest slab: what a session that sends one message at a time takes per message. */
const MIN_SLAB = 256;
/** The largest slab, and so the most one slab can pin beyond the bytes still in use. */
const MAX_SLAB = 4 * 1024;
/** A request larger than this gets a buffer of its own (one more allocation is then cheap). */
const MAX_SLICE = MAX_SLAB / 4;

/**
 * Small byte buffers cut from a larger one, in the manner of Node's `Buffer` pool, for the
 * frames of one sender. A `new Uint8Array(n)` of more than 64 bytes is a separate backing
 * store outside V8's heap, which costs more to make and to collect than to fill (about half a
 * microsecond each in Node 20): a hundred 70-byte frames are two allocations here, not a hundred.
 *
 * Memory is never handed out twice (a view returned earlier may be held anywhere: a socket's
 * buffer, a replay buffer, a shared store), so a slab lives as long as any view into it. The
 * owner bounds what that pins: it calls {@link ByteSlab.release} when it holds none of the
 * views any more (a replay buffer that emptied), and {@link ByteSlab.trim} now and then (its
 * timer ticks). An owner that lets go of its views in the order it took them (a replay buffer
 * trimmed by cumulative acks) so pins at most 8 KiB beyond the bytes it holds (the freed head of
 * its oldest slab, the unused tail of the current one), and an idle owner pins nothing once it
 * trimmed. After a release the next views are still cut from the part of the current slab never
 * handed out: a sender of one message at a time (a request and its answer) then makes one slab
 * for several messages, not a buffer for each. A slab is sized from what the owner cut between
 * its last releases: a busy sender gets large slabs, one message at a time gets small ones.
 *
 * @example
 * ```ts
 * const slab = new ByteSlab();
 * const frame = slab.alloc(70); // a view into a shared 256-byte buffer
 * slab.release(); // nothing cut so far is used any more: the next views take the rest
 * slab.trim(); // nothing cut since: the buffer is let go
 * ```
 */
export class ByteSlab {
  #buffer: ArrayBuffer | null = null;
  #used = 0;
  /** Bytes cut since the last release. */
  #cut = 0;
  /** Bytes cut between the two releases before: what the next first slab is sized for. */
  #hint = 0;

  /** `size` bytes, zeroed (a slab's bytes are never handed out twice). */
  alloc(size: number): Uint8Array {
    if (size > MAX_SLICE) return new Uint8Array(size);
    let buffer = this.#buffer;
    const at = this.#used;
    const cut = (this.#cut += size);
    if (buffer === null || buffer.byteLength - at < size) {
      buffer = this.#buffer = new ArrayBuffer(slabSize(Math.max(this.#hint, 2 * cut)));
      this.#used = size;
      return new Uint8Array(buffer, 0, size);
    }
    this.#used = at + size;
    return new Uint8Array(buffer, at, size);
  }

  /**
   * No view cut so far is held by the owner any more. The rest of the current slab (never
   * handed out) serves the next views; the size of the next slab is learnt from what was cut
   * since the last release.
   */
  release(): void {
    if (this.#buffer === null) return;
    this.#hint = this.#cut;
    this.#cut = 0;
  }

  /**
   * Lets go of the current slab if nothing was cut since the last release: the owner holds
   * none of its views and has been idle since, so it pins nothing until it sends again.
   */
  trim(): void {
    if (this.#cut !== 0) return;
    this.#buffer = null;
    this.#used = 0;
  }
}

/** The power of two from MIN_SLAB to MAX_SLAB nearest above `bytes`. */
function slabSize(bytes: number): number {
  let size = MIN_SLAB;
  while (size < bytes && size < MAX_SLAB) size *= 2;
  return size;
}
