import { FrameFlags, FrameTypes } from '../protocol/frames.js';

/**
 * Whether a session frame body (docs/protocol.md §3) is a volatile DATA or PUBLISH: one without
 * a sequence number, which the session never replays and which may therefore be lost. The
 * datagram layer sends those unreliably and every other frame reliably (docs/udp.md §5).
 */
export function isVolatileFrame(frame: Uint8Array): boolean {
  const type = frame[0];
  return (
    frame.byteLength >= 2 &&
    (type === FrameTypes.data || type === FrameTypes.publish) &&
    (frame[1]! & FrameFlags.SEQUENCED) === 0
  );
}
