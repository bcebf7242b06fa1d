import type { ByteSlab } from '../../byte-slab.js';
import type { PayloadKind } from '../frames.js';
import { encodeMessage, messageFits } from '../frames-encode.js';

/**
 * A message of the sequenced stream: numbered, kept until the peer acknowledges it,
 * replayed on resume, delivered exactly once. {@link Delivery} never looks inside one: it
 * asks this module for the frame of a message with a given seq and ack, for its size and for
 * the largest frame it can take, so a new kind of sequenced frame is a case here (and in
 * the receiver's dispatch), not a change of the delivery machinery.
 *
 * A DATA message (`topic` undefined) or a PUBLISH (docs/protocol.md §4.4, §4.5); or, with
 * `other`, any other sequenced frame (a REQUEST, a RESPONSE, the frames of streams and large
 * messages), which makes its own bytes.
 */
export interface OutgoingMessage {
  readonly topic: string | undefined;
  readonly kind: PayloadKind;
  /** The payload; for `other` frames, the bytes it counts for in the queues' bounds. */
  readonly payload: Uint8Array;
  /** What the application passed, handed back in `drop` events. */
  readonly original: unknown;
  /** Where a shared bus placed the message (its stream position), when it came from one. */
  readonly source?: string | undefined;
  /** A frame other than DATA or PUBLISH. Such a frame never waits in the pending queue. */
  readonly other?: SequencedFrame | undefined;
}

/** A sequenced frame other than DATA or PUBLISH: how it is written, and who hears of its ack. */
export interface SequencedFrame {
  /** The frame body with sequence number `seq` and a piggybacked `ack`. */
  encode(seq: number, ack: number | undefined): Uint8Array;
  /** The peer acknowledged it: its session has it, whatever happens to the connection. */
  acknowledged?(): void;
}

/**
 * What {@link Delivery} writes besides the messages of its pending queue, pulled one at a
 * time while the replay buffer has room, taking turns with that queue so neither waits for
 * the other for more than one frame.
 */
export interface SequencedSource {
  /**
   * The next frame to number and write, or undefined for none now. Bulk frames (stream
   * chunks) wait while the connection has no room (`Delivery.room()`, until its buffer
   * drains), so a message sent meanwhile is not queued behind more of them.
   */
  next(): OutgoingMessage | undefined;
}

/**
 * What a server connection may hold unsent before stream chunks wait for it to drain: a
 * message sent meanwhile is queued behind at most this much (and one chunk). Its socket
 * reports a drain well below it. (A client uses its link's own high-water mark.)
 */
export const BULK_WATERMARK = 256 << 10;

/**
 * The frame body of `message` as sequence number `seq`, with a piggybacked `ack` if one is
 * owed; a DATA or PUBLISH frame is cut from `slab`.
 */
export function sequencedFrame(
  message: OutgoingMessage,
  seq: number,
  ack: number | undefined,
  slab: ByteSlab,
): Uint8Array {
  const other = message.other;
  if (other !== undefined) return other.encode(seq, ack);
  return encodeMessage(message.topic, seq, ack, message.kind, message.payload, slab);
}

/** What `message` counts for in the byte bounds of the queues: its payload. */
export function sequencedSize(message: OutgoingMessage): number {
  return message.payload.byteLength;
}

/** Whether every frame of `message` (whatever its seq and ack) is at most `limit` bytes. */
export function sequencedFits(message: OutgoingMessage, limit: number): boolean {
  return message.other !== undefined || messageFits(message.topic, message.payload, limit);
}
