/**
 * What stands between the link and a transport that needs more than whole messages written
 * as they are: framing on a byte stream, a size limit on datagrams, messages joined into one
 * write. A WebSocket needs none of it, so the link's own path writes to the transport
 * directly and a browser bundle carries no wire at all; the Node transports bring theirs
 * (`byteWires`), a protocol that batches brings its own (`batchWire`).
 */
import type { LinkMessage } from './types.js';
import type { LinkConfig } from './types.js';
import type { Transport } from '../transport.js';

/** The link as a wire sees it, for one transport. */
export interface WireSink {
  /** Writes to the transport while it is still the link's current one (backpressure noted). */
  send(data: Uint8Array | string, volatile?: boolean): void;
  /** Hands a message on: as text (`true`), as bytes (`false`) or as it came (`undefined`). */
  deliver(message: LinkMessage, text: boolean | undefined): void;
}

/** One transport's wire: made when the transport opens, dropped with it. */
export interface Wire {
  /** Bytes held here and not yet given to the transport. */
  readonly bytes: number;
  /**
   * Writes one message in the form the transport carries. Throws for a message the
   * transport can never carry (`ERR_FRAME_TOO_LARGE`, `ERR_DATAGRAM_TOO_LARGE`,
   * `ERR_BAD_PAYLOAD`), and then writes nothing.
   */
  write(message: LinkMessage, volatile: boolean): void;
  /** Bytes from the transport, when the wire cuts them into messages; throws when they break the framing. */
  read?(data: Uint8Array): void;
  /** Writes what is held now (before a close). */
  flush(): void;
  /** Forgets what is held (the transport is gone). */
  clear(): void;
  /** The transport ended: throws `ERR_TRUNCATED` when a partial message was held. */
  end?(): void;
}

/** The wire for a transport that just opened, or null where the link writes to it directly. */
export type WireFactory = (transport: Transport, sink: WireSink, config: LinkConfig) => Wire | null;
