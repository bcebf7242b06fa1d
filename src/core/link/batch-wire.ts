import { Coalescer } from '../coalesce.js';
import type { Wire, WireSink } from './wire.js';

/**
 * The wire of a message transport whose peer takes several messages as one (a protocol's
 * BATCH, agreed in its handshake): the binary messages written in one tick go as one, made
 * by `join`. Text cannot be joined to bytes: what is held goes first, then the text alone.
 *
 * @example
 * context.batch(batchWire(encodeBatch));
 */
export function batchWire(
  join: (messages: readonly Uint8Array[], bytes: number) => Uint8Array,
): (sink: WireSink) => Wire {
  return (sink) => {
    const coalescer = new Coalescer((chunk) => sink.send(chunk), join);
    return {
      get bytes() {
        return coalescer.bytes;
      },
      write(message, volatile) {
        if (typeof message !== 'string') {
          coalescer.push(message);
          return;
        }
        coalescer.flush();
        sink.send(message, volatile);
      },
      flush: () => coalescer.flush(),
      clear: () => coalescer.clear(),
    };
  };
}
