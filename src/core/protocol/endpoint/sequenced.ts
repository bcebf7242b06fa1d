import type { ByteSlab } from '../../byte-slab.js';
import type { PayloadKind } from '../frames.js';
import { encodeMessage, messageFrameBound } from '../frames-encode.js';

/**
 * A message of the sequenced stream: numbered, kept until the peer acknowledges it,
 * replayed on resume, delivered exactly once. {@link Delivery} never looks inside one: it
 * asks this module for the frame of a message with a given seq and ack, for its size and for
 * the largest frame it can take, so a new kind of sequenced frame is a case here (and in
 * the receiver's dispatch), not a change of the delivery machinery.
 *
 * Today: a DATA message (`topic` undefined) or a PUBLISH (docs/protocol.md §4.4, §4.5).
 */
export interface OutgoingMessage {
  readonly topic: string | undefined;
  readonly kind: PayloadKind;
  readonly payload: Uint8Array;
  /** What the application passed, handed back in `drop` events. */
  readonly original: unknown;
  /** Where a shared bus placed the message (its stream position), when it came from one. */
  readonly source?: string | undefined;
}

/**
 * The frame body of `message` as sequence number `seq`, with a piggybacked `ack` if one is
 * owed, cut from `slab`.
 */
export function sequencedFrame(
  message: OutgoingMessage,
  seq: number,
  ack: number | undefined,
  slab: ByteSlab,
): Uint8Array {
  return encodeMessage(message.topic, seq, ack, message.kind, message.payload, slab);
}

/** What `message` counts for in the byte bounds of the queues: its payload. */
export function sequencedSize(message: OutgoingMessage): number {
  return message.payload.byteLength;
}

/**
 * Whether every frame of `message` (whatever its seq and ack) is at most `limit` bytes. A
 * cheap over-estimate first (a UTF-16 unit is at most 3 bytes of UTF-8), the exact bound only
 * for a message near the limit.
 */
export function sequencedFits(message: OutgoingMessage, limit: number): boolean {
  const topic = message.topic;
  const rough = 20 + message.payload.byteLength + (topic === undefined ? 0 : 3 * topic.length);
  return rough <= limit || messageFrameBound(topic, message.payload) <= limit;
}
