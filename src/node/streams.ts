/**
 * `sockline/streams` in Node: `streams` for `connect(url, { streams })`, and `connect` itself,
 * the one of `sockline` (in Node always the full client, every opt-in installed), so that the
 * same import line serves a browser app and a Node one.
 */
export * from '../core/streams/index.js';
export { connect } from './index.js';
