/**
 * The server side of the session protocol, one concept per file under `server/`: the role on
 * one connection (`server-session.ts`), the session kept across connections
 * (`session-state.ts`), where sessions wait for a resume (`session-store.ts`), the one
 * scheduler of every connection's deadlines (`deadlines.ts`), and the options (`options.ts`).
 */
export { ServerSession } from './server/server-session.js';
export { createSessionState, SessionState } from './server/session-state.js';
export type { ServerConnection, SessionCarrier, SessionObserver, WriteGate } from './server/session-state.js';
export { localHub, MemorySessionStore, publishTo } from './server/session-store.js';
export type { SessionStore } from './server/session-store.js';
export { resolveServerSession, serverSessionDefaults } from './server/options.js';
export type {
  HelloInfo,
  Hub,
  ResolvedServerSession,
  ServerRequestHandler,
  ServerSessionHooks,
  ServerSessionOptions,
} from './server/options.js';
export type { OutgoingMessage, SentFrame } from './endpoint/delivery.js';
