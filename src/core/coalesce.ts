import type { FrameWriter } from './framing/types.js';

/** Where a {@link Coalescer} writes, as an object: one per connection needs no closure of its own. */
export interface ChunkSink {
  /** Receives each joined buffer and how many pushed buffers it holds. */
  writeChunk(chunk: Uint8Array, count: number): void;
}

/**
 * Settled once: `then` on it queues a microtask. Node's `queueMicrotask` makes an async
 * resource and a bound function for each call, a few times the work of a promise reaction.
 */
const settled = Promise.resolve();

/**
 * Joins the buffers written in one tick into one write. A write is a system call (TCP) or a
 * WebSocket frame (plus a system call): a hundred small messages sent from one event
 * handler are cheaper as one buffer of a hundred messages than as a hundred writes.
 *
 * `push` keeps the buffer and schedules one flush in a microtask (so everything written
 * synchronously in the current task goes together); `flush` writes now (before a close,
 * before a buffer that must not be joined). A buffer of `directBytes` or more is never
 * copied: what is pending is flushed, then it goes alone, as it is (zero-copy for bulk).
 * `pushFrame` frames a message straight into the buffer of the tick, with the framing's
 * {@link FrameWriter}: no buffer per frame and no join; a large one goes alone, as one view
 * with no copy when its buffer holds its framing's `header` right before it.
 */
export class Coalescer {
  /** Made on the first `push` and dropped by `flush`: an idle connection holds no array. */
  #parts: Uint8Array[] | null = null;
  /** Bytes pending, in `#parts` or in `#tick` (never both: each kind of push flushes the other). */
  #bytes = 0;
  #scheduled = false;
  /**
   * `pushFrame`'s buffer for this tick: frames are written into it by their framing (no
   * buffer per frame, no join). A new one each tick: the transport may keep the last.
   */
  #tick: Uint8Array | null = null;
  /** Bytes the last framed tick held: the first buffer of the next is sized from it. */
  #tickHint = 256;
  /** Frames in `#tick`. */
  #count = 0;
  readonly #sink: ChunkSink | ((chunk: Uint8Array, count: number) => void);
  readonly #join: (parts: readonly Uint8Array[], bytes: number) => Uint8Array;
  readonly #directBytes: number;
  readonly #alloc: (size: number) => Uint8Array;

  /**
   * @param sink receives each joined buffer and how many pushed buffers it holds: a function,
   *   or an object with `writeChunk` (a connection that is its own sink allocates no closure)
   * @param join makes one buffer of several (`concat` for a byte stream)
   * @param tickHint the size of the first framed tick's buffer (what an earlier one held)
   * @param alloc makes a framed tick's buffer (whose bytes are all written before they are
   *   read): a runtime may cut it from a pool (Node's buffer pool) rather than make a
   *   backing store of its own for every tick
   */
  constructor(
    sink: ChunkSink | ((chunk: Uint8Array, count: number) => void),
    join: (parts: readonly Uint8Array[], bytes: number) => Uint8Array = concat,
    directBytes = DIRECT_BYTES,
    tickHint = 256,
    alloc: (size: number) => Uint8Array = zeroed,
  ) {
    this.#sink = sink;
    this.#join = join;
    this.#directBytes = directBytes;
    this.#tickHint = tickHint;
    this.#alloc = alloc;
  }

  /** Bytes pushed and not yet written. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The size the next framed tick's buffer starts at: what the last one held. */
  get tickHint(): number {
    return this.#tickHint;
  }

  push(chunk: Uint8Array): void {
    if (this.#tick !== null) this.flush(); // keep the order of both kinds of push
    if (chunk.byteLength >= this.#directBytes) {
      this.flush();
      this.#write(chunk, 1);
      return;
    }
    (this.#parts ??= []).push(chunk);
    this.#bytes += chunk.byteLength;
    this.#schedule();
  }

  /**
   * Pushes one message framed by `writer`, written straight into this tick's buffer. Throws
   * what the framing throws for the payload (`ERR_FRAME_TOO_LARGE`…), and then pushes nothing.
   */
  pushFrame(payload: Uint8Array, writer: FrameWriter): void {
    const need = writer.frameSize(payload);
    if (need >= this.#directBytes) {
      // A payload whose buffer holds its header right before it (a stream's chunk is made so)
      // goes as it is; any other is copied into its frame: its caller may reuse its buffer.
      const header = writer.header?.(payload);
      let frame = header === undefined ? undefined : precededBy(payload, header);
      if (frame === undefined) {
        frame = new Uint8Array(need);
        writer.writeFrame(payload, frame, 0);
      }
      this.push(frame);
      return;
    }
    if (this.#parts !== null) this.flush(); // keep the order of both kinds of push
    let tick = this.#tick;
    const at = tick === null ? 0 : this.#bytes;
    if (tick === null || tick.byteLength - at < need) {
      const grown = this.#alloc(Math.max(this.#tickHint, 2 * (at + need)));
      if (tick !== null) grown.set(tick.subarray(0, at));
      this.#tick = tick = grown;
    }
    writer.writeFrame(payload, tick, at);
    this.#bytes = at + need;
    this.#count++;
    this.#schedule();
  }

  /** One flush at the end of this tick, whatever was pushed. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // A closure per tick rather than a bound field per instance: idle connections are many.
    void settled.then(() => {
      this.#scheduled = false;
      this.flush();
    });
  }

  /** Writes what is pending now. */
  flush(): void {
    const tick = this.#tick;
    if (tick !== null) {
      const used = this.#bytes;
      const count = this.#count;
      this.#tick = null;
      this.#count = 0;
      this.#bytes = 0;
      this.#tickHint = Math.min(Math.max(256, used), this.#directBytes * 4);
      if (count > 0) this.#write(new Uint8Array(tick.buffer, tick.byteOffset, used), count);
      return;
    }
    const parts = this.#parts;
    if (parts === null) return;
    const n = parts.length;
    const bytes = this.#bytes;
    this.#parts = null;
    this.#bytes = 0;
    this.#write(n === 1 ? parts[0]! : this.#join(parts, bytes), n);
  }

  #write(chunk: Uint8Array, count: number): void {
    const sink = this.#sink;
    if (typeof sink === 'function') sink(chunk, count);
    else sink.writeChunk(chunk, count);
  }

  /** Forgets what is pending (the connection is gone). */
  clear(): void {
    this.#parts = null;
    this.#bytes = 0;
    this.#tick = null;
    this.#count = 0;
  }
}

/** `header` and `payload` as one view, when the bytes before `payload` in its buffer are `header`. */
function precededBy(payload: Uint8Array, header: Uint8Array): Uint8Array | undefined {
  const n = header.byteLength;
  const start = payload.byteOffset - n;
  if (start < 0) return undefined;
  const before = new Uint8Array(payload.buffer, start, n);
  for (let i = 0; i < n; i++) if (before[i] !== header[i]) return undefined;
  return new Uint8Array(payload.buffer, start, n + payload.byteLength);
}

function zeroed(size: number): Uint8Array {
  return new Uint8Array(size);
}

/** Buffers of this size or more are written alone, never copied (see {@link Coalescer}). */
export const DIRECT_BYTES = 16 * 1024;

/** One buffer holding `parts` back to back. */
export function concat(parts: readonly Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i]!, at);
    at += parts[i]!.byteLength;
  }
  return out;
}
