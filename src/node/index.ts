// `sockline` in Node (and `sockline/node`): `connect` over TCP, TLS, UDP and WebSocket, what an
// application uses with it, and the server.
// Node gets everything: option errors in full, and `for await` over links and clients.
import '../core/opt-in/verbose.js';
import '../core/opt-in/iterate.js';
import '../core/opt-in/handle.js';

export * from '../core/public-api.js';
export { connect, connectRaw } from './connect.js';
export { createServer, serverDefaults } from './server.js';
// Streams and large messages: always in the server; a Node client passes them to connect().
export { streams } from '../core/streams/index.js';
export type {
  Adapter,
  AdapterMetrics,
  AdapterState,
  AuthenticateInfo,
  CloseOptions,
  DisconnectReason,
  Peer,
  PeerEvents,
  ServerAddresses,
  ServerEvents,
  ServerHandler,
  ServerMetrics,
  ServerOptions,
  ServerTransport,
  SocklineServer,
} from './server.js';
export { MemorySessionStore } from '../core/protocol/server-session.js';
export type { HelloInfo, SessionStore } from '../core/protocol/server-session.js';
export type { AdmissionOptions } from '../core/protocol/admission.js';
export { defaultIdentify } from '../core/protocol/session-id.js';
export type { Identify } from '../core/protocol/session-id.js';
