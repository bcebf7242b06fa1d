/**
 * Streams and large messages: WHATWG streams both ways, and messages over one frame (up to
 * `maxMessageSize`), for a client that asks for them:
 *
 * ```ts
 * import { connect, streams } from 'sockline/streams';
 *
 * const client = connect('wss://example.com/ws', { streams });
 * const upload = client.openStream({ name: file.name, size: file.size, type: file.type });
 * await file.stream().pipeTo(upload.writable);
 * client.on('stream', (download) => download.readable.pipeTo(sink));
 * ```
 *
 * Its own import so that an application that uses neither does not carry the code: without
 * it a client announces neither in its HELLO, and the server refuses to send it either.
 * The server (`sockline/node`) always has them. The `sockline/streams` entry adds the
 * `connect` of its runtime (src/browser/streams.ts, src/node/streams.ts): in a browser the
 * full client, which carries them (the compact client does not).
 */
import type { TransfersFactory } from '../protocol/endpoint/transfer.js';
import { SessionTransfers } from './transfers.js';

export type { IncomingStream, OutgoingStream, StreamMeta, StreamOptions } from './types.js';
export type { TransfersFactory } from '../protocol/endpoint/transfer.js';

/**
 * Streams and large messages for `connect(url, { streams })`. Pass it as it is: it is what
 * makes them for each session.
 */
export const streams: TransfersFactory = (host) => new SessionTransfers(host);
