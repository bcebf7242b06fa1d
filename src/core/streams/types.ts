/**
 * The public shape of streams (docs/api.md, "Streams"): what `openStream` returns and what the
 * `stream` events hand over. Types only: the code is in `sockline/streams`.
 */

/**
 * What describes a stream, sent with it when it opens: a file's `name`, `size` and `type`,
 * and any field of the application's own. Encoded by the session's codec (JSON by default),
 * so it must be something the codec takes; at most one frame.
 */
export interface StreamMeta {
  name?: string;
  /** In bytes: what the writer says, not checked against what it writes. */
  size?: number;
  /** A media type, e.g. `application/pdf`. */
  type?: string;
  [field: string]: unknown;
}

/** Options of `openStream`. */
export interface StreamOptions {
  /** Aborts the stream when it fires, as `writable.abort(signal.reason)` would. */
  signal?: AbortSignal;
}

/**
 * A stream this side writes (`client.openStream(meta)`, `peer.openStream(meta)`). The peer
 * reads it from its `stream` event.
 *
 * Write the bytes to `writable` (or `pipeTo` it); `writer.ready` and each `write()` wait while
 * the peer's credit window is used up, so this side holds at most the chunk being written and
 * what the peer has not acknowledged. `writable.close()` resolves once the peer has every byte.
 * `writable.abort(reason)` ends the stream at both ends (the reader's `readable` errors with
 * `ERR_STREAM_ABORTED` carrying the reason); the reader cancelling it errors `writable` the same
 * way. A reconnect loses and repeats nothing; a lost session errors it with `ERR_SESSION_LOST`.
 */
export interface OutgoingStream {
  /**
   * Its number among the streams this side opened in the session, from 1: given when its
   * OPEN is written (0 until then, e.g. while the client is still connecting). The peer's
   * `IncomingStream` has the same number; to name a stream in the application, put a name in
   * its metadata.
   */
  readonly id: number;
  readonly meta: StreamMeta;
  readonly writable: WritableStream<Uint8Array>;
  /** Bytes written to the connection so far. */
  readonly bytesSent: number;
  /** Bytes the peer has received, for a progress bar. */
  readonly bytesAcknowledged: number;
  /**
   * Settles when the stream is over: resolves once the peer has every byte and the end,
   * rejects with the error that ended it otherwise (abort, cancel, lost session, close).
   */
  readonly done: Promise<void>;
}

/**
 * A stream the peer writes, as this side's `stream` event gives it. Read it from `readable`;
 * the writer gets credit as the bytes are read, so at most the stream window waits here
 * whatever the writer's speed. `readable.cancel(reason)` ends it at both ends (the writer's
 * `writable` errors with `ERR_STREAM_ABORTED` carrying the reason).
 */
export interface IncomingStream {
  /** Its number among the streams the peer opened in the session, from 1. */
  readonly id: number;
  readonly meta: StreamMeta;
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes received so far. */
  readonly bytesReceived: number;
}
