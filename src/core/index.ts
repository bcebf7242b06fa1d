export { ErrorCodes, RemoteError, SocklineError, isSocklineError } from './errors.js';
export type { ErrorCode, OptionError } from './errors.js';
export { systemClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { Emitter } from './emitter.js';
export type { Disposer, EventMap, Listener } from './emitter.js';
export { BaseTransport } from './transport-base.js';
export type {
  BaseTransportOptions,
  Transport,
  TransportCloseInfo,
  TransportFactory,
  TransportHandlers,
  TransportKind,
} from './transport.js';
export { parseUrl } from './url.js';
export type { Scheme } from './url.js';
export { createFraming, framingDefaults, lengthFraming, linesFraming, noneFraming } from './framing/index.js';
export type {
  Framing,
  FrameDecoder,
  FrameSink,
  FrameWriter,
  FramingName,
  FramingSpec,
  LengthFramingOptions,
  LinesFramingOptions,
  NoneFramingOptions,
} from './framing/index.js';
export { Link } from './link/link.js';
export type {
  Connector,
  DeferredInfo,
  DropReason,
  Handshake,
  HandshakeContext,
  HandshakeReceiver,
  LinkConfig,
  LinkEvents,
  LinkMessage,
  ReconnectingInfo,
  SendOptions,
  SendResult,
} from './link/link.js';
export { LinkStates } from './link/state.js';
export type { LinkState } from './link/state.js';
export { backoffDelay } from './link/backoff.js';
export type { BackoffOptions } from './link/backoff.js';
export { linkDefaults, resolveLinkOptions } from './link/options.js';
export type { DisconnectInfo, LinkOptions, OutboxOptions, ReconnectOptions } from './link/options.js';
export type { OutboxLimits, OverflowPolicy } from './link/outbox.js';
export { createLink } from './connect.js';
export type { TransportResolver } from './connect.js';
export type {
  ConnectOptions,
  ConnectTarget,
  ProtocolConnectOptions,
  RawConnectOptions,
  TransportOptions,
  TlsOptions,
  UrlInput,
  UrlProvider,
  WebSocketConstructorLike,
} from './connect-options.js';
export { MemoryServer } from './memory-transport.js';
export type { MemoryFaults, MemoryServerEnd } from './memory-transport.js';
export { BrowserWsTransport } from './websocket-transport.js';
export type {
  BrowserWsTransportOptions,
  WebSocketConstructor,
  WebSocketLike,
} from './websocket-transport.js';
export { SocklineClient } from './protocol/client.js';
export type {
  ClientEvents,
  MessageMeta,
  ProtocolSendOptions,
  RequestHandler,
  RequestOptions,
  SubscriptionHandler,
} from './protocol/client.js';
export type { IncomingStream, OutgoingStream, StreamMeta, StreamOptions } from './streams/types.js';
export type { TransfersFactory } from './protocol/endpoint/transfer.js';
export { protocolDefaults, resolveProtocolOptions } from './protocol/options.js';
export type { ProtocolOptions, TokenProvider } from './protocol/options.js';
export type { DeliveryLimits } from './protocol/endpoint/delivery.js';
export { jsonCodec } from './protocol/codec.js';
export type { Codec } from './protocol/codec.js';
export { CloseCodes, PROTOCOL_VERSION, SUPPORTED_VERSIONS } from './protocol/frames.js';
export type { Frame, PayloadKind } from './protocol/frames.js';
export { encodeFrame } from './protocol/frames-encode.js';
export { decodeFrame } from './protocol/frames-decode.js';
export { topicMatches } from './protocol/topics.js';
