/**
 * The most chunks a {@link ChunkBuffer} keeps before it compacts them into one buffer.
 * Without a bound, a peer that trickles a large frame one byte per packet makes the
 * list grow by one entry (and one object header) per byte; 64 keeps the list short
 * while a frame arriving in socket-sized chunks (16–64 KiB) is rarely copied early.
 */
export const MAX_RETAINED_CHUNKS = 64;

/** Smallest store allocated by a compaction, so that trickled bytes do not reallocate often. */
const MIN_STORE_SIZE = 4096;

/**
 * An incremental byte queue for decoders, in the manner of ws's `Receiver`
 * (lib/receiver.js): a list of the chunks as they arrived, a byte count, and
 * {@link ChunkBuffer.consume} that returns a zero-copy view when the bytes lie in one
 * chunk and a copy only when they straddle chunks.
 *
 * Chunks are kept by reference: the caller must not modify a chunk after pushing it.
 * A view returned by `consume` pins the whole chunk it points into.
 *
 * The number of retained chunks is bounded by {@link MAX_RETAINED_CHUNKS}: beyond it the
 * chunks are compacted into one store that is twice as large as needed, and later
 * compactions append into its free tail. Each byte is therefore copied O(1) times on
 * average, even when a frame arrives one byte at a time.
 */
export class ChunkBuffer {
  #chunks: Uint8Array[] = [];
  /** Bytes of `#chunks[0]` already consumed: advancing an index allocates nothing. */
  #offset = 0;
  #length = 0;
  /**
   * The store made by the last compaction. Set only while `#chunks[0]` is a view of its
   * first `#storeUsed` bytes. Bytes past `#storeUsed` were never handed out, so appending there
   * cannot change a view a caller still holds.
   */
  #store: Uint8Array | undefined;
  #storeUsed = 0;

  /** Bytes held and not yet consumed. */
  get length(): number {
    return this.#length;
  }

  /** Chunks currently retained; never more than {@link MAX_RETAINED_CHUNKS}. */
  get chunkCount(): number {
    return this.#chunks.length;
  }

  /** Appends a chunk by reference (no copy unless the chunk list is full). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#chunks.length >= MAX_RETAINED_CHUNKS) {
      this.#compact(chunk);
      return;
    }
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The byte at `index` (0 is the next byte `consume` returns). The caller checks the bound. */
  byteAt(index: number): number {
    const chunks = this.#chunks;
    let i = index + this.#offset;
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c]!;
      if (i < chunk.length) return chunk[i]!;
      i -= chunk.length;
    }
    throw new RangeError(`byteAt(${index}) is past the ${this.#length} buffered bytes`);
  }

  /**
   * Reads the next four bytes as an unsigned big-endian integer without consuming them.
   * The caller checks that `length >= 4`. Manual shifts, not a `DataView`: building a
   * view per header would allocate on the hot path.
   */
  peekUint32BE(): number {
    const chunk = this.#chunks[0]!;
    const o = this.#offset;
    if (chunk.length - o >= 4) {
      return chunk[o]! * 0x1000000 + ((chunk[o + 1]! << 16) | (chunk[o + 2]! << 8) | chunk[o + 3]!);
    }
    // The header straddles chunks (one byte per packet, or a split at a socket read).
    return this.byteAt(0) * 0x1000000 + ((this.byteAt(1) << 16) | (this.byteAt(2) << 8) | this.byteAt(3));
  }

  /**
   * Removes and returns the next `n` bytes (`n <= length`, checked by the caller): a
   * `subarray` view when they lie in the first chunk, otherwise one copy.
   */
  consume(n: number): Uint8Array {
    const chunk = this.#chunks[0];
    if (chunk === undefined) return new Uint8Array(0);
    const start = this.#offset;
    const end = start + n;
    if (end > chunk.length) return this.#consumeAcross(n);
    this.#length -= n;
    if (end === chunk.length) {
      this.#dropFirst();
      // The whole chunk as it came: no new view to allocate.
      if (start === 0) return chunk;
    } else {
      this.#offset = end;
    }
    return chunk.subarray(start, end);
  }

  /** Discards the next `n` bytes (`n <= length`, checked by the caller). */
  skip(n: number): void {
    this.#length -= n;
    while (n > 0) {
      const left = this.#chunks[0]!.length - this.#offset;
      if (n < left) {
        this.#offset += n;
        return;
      }
      n -= left;
      this.#dropFirst();
    }
  }

  /** Drops every byte held. */
  clear(): void {
    this.#chunks = [];
    this.#offset = 0;
    this.#length = 0;
    this.#store = undefined;
    this.#storeUsed = 0;
  }

  #consumeAcross(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let written = 0;
    this.#length -= n;
    while (written < n) {
      const chunk = this.#chunks[0]!;
      const start = this.#offset;
      const take = Math.min(chunk.length - start, n - written);
      out.set(chunk.subarray(start, start + take), written);
      written += take;
      if (start + take === chunk.length) this.#dropFirst();
      else this.#offset = start + take;
    }
    return out;
  }

  #dropFirst(): void {
    this.#chunks.shift();
    this.#offset = 0;
    // The store, when there is one, was the first chunk: it is fully consumed now, so let
    // it go rather than pin its memory or append to it later.
    this.#store = undefined;
    this.#storeUsed = 0;
  }

  /** Merges the retained chunks and `extra` so that one chunk remains. */
  #compact(extra: Uint8Array): void {
    const chunks = this.#chunks;
    const first = chunks[0]!;
    const total = this.#length + extra.length;
    const store = this.#store;
    // Bytes that are not yet in the store when the first chunk is the store itself.
    const incoming = total - (first.length - this.#offset);
    let target: Uint8Array;
    let at: number;
    if (store !== undefined && store.length - this.#storeUsed >= incoming) {
      // Append after the compacted bytes; the consumed prefix and the views into it stay put.
      target = store;
      at = this.#storeUsed;
    } else {
      // Twice what is needed, so that the next compactions append instead of copying again.
      target = new Uint8Array(Math.max(MIN_STORE_SIZE, total * 2));
      target.set(first.subarray(this.#offset), 0);
      at = first.length - this.#offset;
      this.#offset = 0;
    }
    for (let c = 1; c < chunks.length; c++) {
      const chunk = chunks[c]!;
      target.set(chunk, at);
      at += chunk.length;
    }
    target.set(extra, at);
    at += extra.length;
    this.#store = target;
    this.#storeUsed = at;
    this.#chunks = [target.subarray(0, at)];
    this.#length = total;
  }
}
