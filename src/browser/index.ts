export * from '../core/index.js';
export { connect } from './connect.js';
export { BrowserWsTransport } from './ws-transport.js';
export type { BrowserWsTransportOptions, WebSocketConstructor, WebSocketLike } from './ws-transport.js';
