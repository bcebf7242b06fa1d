export { ErrorCodes, SocklineError, isSocklineError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { systemClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { Emitter } from './emitter.js';
export type { Disposer, EventMap } from './emitter.js';
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
export { RawConnection } from './raw-connection.js';
