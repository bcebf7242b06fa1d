import type { Disposer, Listenable } from '../emitter.js';
import type { LinkState } from '../link/state.js';
import type { OutgoingStream, StreamMeta, StreamOptions } from '../streams/types.js';
import type { ClientEvents, ProtocolSendOptions, RequestHandler, RequestOptions } from './client.js';
import type { SubscriptionHandler } from './endpoint/subscriptions.js';

/**
 * The protocol client as an application sees it: what `connect(url)` returns in protocol
 * mode. Two implementations satisfy it with the same behaviour, events and error codes: the
 * full client of the core (every transport, streams, `handle()`, `for await`) and the compact
 * client of a browser bundle, which throws `ERR_NOT_SUPPORTED` from `handle()`,
 * `openStream()` and `for await`, naming the import that brings them (docs/api.md, opt-in
 * imports).
 *
 * @example
 * const client: SocklineClient = connect('wss://example.com/ws');
 * client.subscribe('chat/+', (msg, { topic }) => console.log(topic, msg));
 * const sum = await client.request<number>('sum', [1, 2]);
 */
export interface SocklineClient extends AsyncIterable<unknown>, Listenable<ClientEvents> {
  readonly state: LinkState;
  /** Resolves when the first session is ready; rejects if the client closes first. */
  readonly opened: Promise<void>;
  /** The current session's id, once a handshake has completed. */
  readonly sessionId: string | undefined;
  /** The last measured round-trip time to the server, in ms. */
  readonly rtt: number | undefined;
  /** Times the server asked the client to come back later (see the `deferred` event). */
  readonly deferrals: number;
  /** Bytes held for the server: messages not yet acknowledged plus the link's buffers. */
  readonly bufferedAmount: number;
  /** Sends a value to the server, exactly once and in order across reconnects. */
  send(value: unknown, options?: ProtocolSendOptions): 'sent' | 'queued' | 'dropped';
  /** Publishes to a topic: delivered to every subscriber, on any transport, exactly once. */
  publish(topic: string, value: unknown, options?: ProtocolSendOptions): 'sent' | 'queued' | 'dropped';
  /** Subscribes to a topic pattern (`+` one level, `#` the rest); returns the unsubscribe. */
  subscribe<T = unknown>(pattern: string, handler: SubscriptionHandler<T>): Disposer;
  /** Calls `method` on the server; settles once, never throws (misuse rejects). */
  request<T = unknown>(method: string, params?: unknown, options?: RequestOptions): Promise<T>;
  /** Answers the server's requests (`import 'sockline/handle'` in a browser bundle). */
  handle<P = unknown, R = unknown>(method: string, handler: RequestHandler<P, R>): Disposer;
  /** Opens a stream to the server (`streams` from `sockline/streams`). */
  openStream(meta?: StreamMeta, options?: StreamOptions): OutgoingStream;
  /** Measures the round trip to the server now; rejects if the connection drops first. */
  ping(): Promise<number>;
  /** Drops the connection and starts a new attempt now, retries reset. */
  reconnect(): void;
  /** The network is back: try now, or check a suspect connection. */
  wake(): void;
  /** The network went away: hold what matters until `wake()` checks the connection. */
  suspect(): void;
  /** The page is frozen: CLOSE 1001, the session is kept, nothing is retried until `wake()`. */
  suspend(): void;
  unref(): this;
  ref(): this;
  /** Closes gracefully (CLOSE, then the link); pending requests reject with `ERR_CLIENT_CLOSED`. */
  close(code?: number, reason?: string): Promise<void>;
  /** Messages (not publishes) as an async iterator (`import 'sockline/iterate'` in a browser bundle). */
  [Symbol.asyncIterator](): AsyncGenerator<unknown, void, undefined>;
}
