import type { Listenable } from '../emitter.js';
import type { SocklineError } from '../errors.js';
import type { LinkState } from './state.js';
import type { LinkEvents, LinkMessage, SendOptions, SendResult } from './types.js';

/**
 * The reconnecting link as an application sees it: what `connect(url, { protocol: 'raw' })`
 * and `connectRaw()` return. Two implementations satisfy it: the general link of the core
 * (every transport, every runtime) and the compact one of the browser build (a WHATWG
 * `WebSocket` only), with the same behaviour.
 *
 * @example
 * const link: Link = connectRaw('wss://example.com/echo');
 * link.on('message', (m) => console.log(m));
 * await link.opened;
 * link.send('hello');
 */
export interface Link extends AsyncIterable<LinkMessage>, Listenable<LinkEvents> {
  /** Resolves when the link first opens; rejects if it closes before that. */
  readonly opened: Promise<void>;
  readonly state: LinkState;
  /** Bytes waiting: in the transport's buffer plus in the outbox. */
  readonly bufferedAmount: number;
  /** The largest frame this link writes or reads on a byte stream (1 MiB by default). */
  readonly maxFrameSize: number;
  /** Bytes of `bufferedAmount` above which a write reports backpressure (a `drain` follows). */
  readonly highWaterMark: number;
  /** Messages waiting in the outbox for the link to open. */
  readonly queued: number;
  /** Times the peer asked the link to come back later (see the `deferred` event). */
  readonly deferrals: number;
  /**
   * Sends a message: written now if the link is open, queued if it is down (bounded by the
   * outbox), dropped if `volatile` and down. Throws `ERR_QUEUE_FULL` under the `reject`
   * policy, `ERR_CLIENT_CLOSED` after `close()`, and for a message the transport can never
   * carry; never on I/O errors.
   */
  send(message: LinkMessage, options?: SendOptions): SendResult;
  /** Resolves when the link is open and its buffer is below the high-water mark. */
  writable(): Promise<void>;
  /** Stops reading from the transport (a no-op where the transport cannot pause: WebSocket). */
  pause(): void;
  resume(): void;
  /** As on `net.Socket`: lets a Node process exit while only this link is alive. */
  unref(): this;
  ref(): this;
  /** Drops the current connection or attempt and starts a new attempt at once, retries reset. */
  reconnect(): void;
  /** Skips the backoff wait when the link is waiting to reconnect (the network is back). */
  wake(): void;
  /** Ends the connection and waits in `reconnecting`, without retrying, until `wake()`. */
  suspend(error?: SocklineError): void;
  /** Closes the link; idempotent; resolves once it is `closed`. */
  close(): Promise<void>;
  /** The next reconnect waits `ms` instead of the backoff delay, as a deferral. Used once. */
  deferReconnect(ms: number, reason?: string): void;
  /** Changes the liveness deadline; `false` turns it off. */
  setIdleTimeout(ms: number | false): void;
  /** Messages as an async iterator (needs `import 'sockline/iterate'`). */
  [Symbol.asyncIterator](): AsyncGenerator<LinkMessage, void, undefined>;
}
