/**
 * What an application uses, the same in every runtime: `sockline` (the browser and the Node
 * build) exports it beside its own `connect`, and `sockline/core` beside the building blocks.
 * The client and the link are exported as types: an application gets them from `connect()`.
 */
export { ErrorCodes, RemoteError, SocklineError, isSocklineError } from './errors.js';
export type { ErrorCode, OptionError } from './errors.js';
export { CloseCodes } from './protocol/frames.js';
export type {
  ClientEvents,
  MessageMeta,
  ProtocolSendOptions,
  RequestHandler,
  RequestOptions,
  SocklineClient,
  SubscriptionHandler,
} from './protocol/client.js';
export type {
  DeferredInfo,
  DropReason,
  LinkEvents,
  LinkMessage,
  ReconnectingInfo,
  SendOptions,
  SendResult,
} from './link/link.js';
export type { Link } from './link/api.js';
export type { LinkState } from './link/state.js';
export type { DisconnectInfo, LinkOptions, OutboxOptions, ReconnectOptions } from './link/options.js';
export type { OverflowPolicy } from './link/outbox.js';
export type {
  ConnectOptions,
  ConnectTarget,
  ProtocolConnectOptions,
  RawConnectOptions,
  TlsOptions,
  TransportOptions,
  UrlInput,
  UrlProvider,
  WebSocketConstructorLike,
} from './connect-options.js';
export type { RawLinkOptions } from './connect-link.js';
export type { ProtocolOptions, TokenProvider } from './protocol/options.js';
export type { IncomingStream, OutgoingStream, StreamMeta, StreamOptions } from './streams/types.js';
export type { TransfersFactory } from './protocol/endpoint/transfer.js';
export type { Codec } from './protocol/codec.js';
export type { Clock, TimerHandle } from './clock.js';
export type { Disposer, Emitter, Listenable } from './emitter.js';
export type {
  FrameDecoder,
  FrameSink,
  FrameWriter,
  Framing,
  FramingName,
  FramingSpec,
  LengthFramingOptions,
  LinesFramingOptions,
  NoneFramingOptions,
} from './framing/index.js';
