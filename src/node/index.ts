export * from '../core/index.js';
export { connect } from './connect.js';
export type { ConnectOptions } from './connect.js';
export { TcpTransport } from './tcp-transport.js';
export type { TcpTransportOptions, TlsOptions } from './tcp-transport.js';
export { NodeWsTransport } from './ws-transport.js';
export type { NodeWsTransportOptions } from './ws-transport.js';
