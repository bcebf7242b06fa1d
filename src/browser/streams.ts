/**
 * `sockline/streams` in a browser: `streams` for `connect(url, { streams })`, and the `connect`
 * that carries them, the full client over WebSocket. An app that imports `connect` from here
 * carries one client:
 *
 * ```ts
 * import { connect, streams } from 'sockline/streams';
 *
 * const client = connect('wss://example.com/ws', { streams });
 * ```
 *
 * Importing this entry also makes `connect` from `sockline` return the full client, so an app
 * that imports `connect` from `sockline` and `streams` from here works too; it carries the
 * compact client as well, which it never uses.
 */
import '../core/opt-in/full-client.js';
export * from '../core/streams/index.js';

/**
 * `connect()` of `sockline` with the full client, the one that takes `streams`: the same
 * options, events and page lifecycle, over WebSocket (`ws://`, `wss://`).
 *
 * @example
 * const client = connect('wss://example.com/ws', { streams });
 * await file.stream().pipeTo(client.openStream({ name: file.name }).writable);
 */
export { fullConnect as connect } from './full-connect.js';
