// `sockline/core`: what an application uses (see public-api.ts), and the runtime-neutral
// building blocks: the reconnecting link over transports of your own, the framings, the
// WHATWG-WebSocket transport, and the frame codec for tools that read the wire.
export * from './public-api.js';
export { Link } from './link/link.js';
export type {
  Connector,
  Handshake,
  HandshakeContext,
  HandshakeReceiver,
  LinkConfig,
  Wire,
  WireFactory,
  WireSink,
} from './link/link.js';
export { byteWires } from './link/byte-wires.js';
export { batchWire } from './link/batch-wire.js';
export { createLink } from './connect.js';
export type { TransportResolver } from './connect.js';
export { linkDefaults } from './link/options.js';
export { backoffDelay } from './link/backoff.js';
export type { BackoffOptions } from './link/backoff.js';
export { protocolDefaults } from './protocol/options.js';
export { systemClock } from './clock.js';
export { BaseTransport } from './transport-base.js';
export type {
  BaseTransportOptions,
  Transport,
  TransportCloseInfo,
  TransportFactory,
  TransportHandlers,
  TransportKind,
} from './transport.js';
export type { Scheme } from './url.js';
export { createFraming, framingDefaults, lengthFraming, linesFraming, noneFraming } from './framing/index.js';
export { BrowserWsTransport } from './websocket-transport.js';
export type {
  BrowserWsTransportOptions,
  WebSocketConstructor,
  WebSocketLike,
} from './websocket-transport.js';
export { jsonCodec } from './protocol/codec.js';
export { PROTOCOL_VERSION, SUPPORTED_VERSIONS } from './protocol/frames.js';
export type { Frame, PayloadKind } from './protocol/frames.js';
export { encodeFrame } from './protocol/frames-encode.js';
export { decodeFrame } from './protocol/frames-decode.js';
export { topicMatches } from './protocol/topics.js';
