// `sockline` in a browser (and `sockline/browser`): `connect` over the runtime's WebSocket,
// and what an application uses with it.
export * from '../core/public-api.js';
export { connect } from './connect.js';
export { connectRaw } from './connect-raw.js';
