export * from '../core/index.js';
export { connect } from './connect.js';
// Streams and large messages: always in the server; a Node client passes them to connect().
export { streams } from '../core/streams/index.js';
export { TcpTransport } from './tcp-transport.js';
export type { TcpTransportOptions } from './tcp-transport.js';
export { UdpTransport } from './udp-transport.js';
export type { UdpTransportOptions } from './udp-transport.js';
export { NodeWsTransport } from './ws-transport.js';
export type { NodeWsTransportOptions } from './ws-transport.js';

// The server side of the session protocol (runtime-neutral code, exported where servers run).
export {
  createSessionState,
  localHub,
  MemorySessionStore,
  publishTo,
  ServerSession,
  serverSessionDefaults,
  SessionState,
} from '../core/protocol/server-session.js';
export { TopicIndex } from '../core/protocol/topic-index.js';
export { defaultIdentify } from '../core/protocol/session-id.js';
export type { Identify } from '../core/protocol/session-id.js';
export type {
  HelloInfo,
  Hub,
  ServerConnection,
  ServerRequestHandler,
  ServerSessionOptions,
  SessionObserver,
  SessionStore,
  WriteGate,
} from '../core/protocol/server-session.js';
export type { Admission, AdmissionOptions } from '../core/protocol/admission.js';

// The server: every transport in one process.
export { createServer, memoryAdapter, Peer, serverDefaults, SocklineServer } from './server.js';
export type {
  Adapter,
  AdapterHost,
  AdapterMetrics,
  AdapterState,
  BusEntry,
  SessionSharing,
  AuthenticateInfo,
  CloseOptions,
  DisconnectReason,
  PeerEvents,
  ServerAddresses,
  ServerEvents,
  ServerHandler,
  ServerMetrics,
  ServerOptions,
  ServerTransport,
} from './server.js';
export { createUdpListener } from './udp-listener.js';
export { udpSessionTransport } from './udp-session.js';
