import type { Peer, SocklineServer } from '../server.js';
import type { ServerTransport } from '../server-options.js';

/**
 * The chat that `sockline serve` hosts, built only on sockline's primitives: messages are
 * publishes on `chat/<room>/messages` (exactly once, in order, across reconnects, on every
 * transport); a client enters with the `chat.join` request; the server tracks who is present
 * from its session events and publishes the list on `chat/<room>/presence`.
 */
export const chatTopics = {
  messages: (room: string): string => `chat/${room}/messages`,
  presence: (room: string): string => `chat/${room}/presence`,
};

/** What a client publishes on `chat/<room>/messages`. */
export interface ChatMessage {
  /** Unique per sender: `<session id>-<n>`. */
  readonly id: string;
  readonly from: string;
  readonly text: string;
  /** Sender's clock, ms since the epoch. */
  readonly at: number;
}

/** One member of a room, as published on `chat/<room>/presence`. */
export interface ChatMember {
  readonly id: string;
  readonly name: string;
  readonly transport: ServerTransport;
  /** False while the member's connection is down and its session waits to be resumed. */
  readonly connected: boolean;
}

export interface ChatPresence {
  readonly room: string;
  readonly members: ChatMember[];
}

/** Params of the `chat.join` request. */
export interface ChatJoin {
  readonly room: string;
  readonly name: string;
}

const ROOM = /^[A-Za-z0-9_.-]{1,64}$/;
/** How often connected/away changes are looked for, in ms. */
const PRESENCE_POLL = 1_000;

function badRequest(message: string): Error {
  return Object.assign(new TypeError(message), { code: 'ERR_BAD_REQUEST' });
}

function parseJoin(params: unknown): ChatJoin {
  const p = params as Partial<ChatJoin> | null;
  if (typeof p?.room !== 'string' || !ROOM.test(p.room))
    throw badRequest('chat.join needs a room of 1-64 letters, digits, "_", "." or "-"');
  if (typeof p.name !== 'string' || p.name.trim().length === 0 || p.name.length > 32)
    throw badRequest('chat.join needs a name of 1-32 characters');
  return { room: p.room, name: p.name.trim() };
}

/** Who is in which room, by session id: kept by the caller so it outlives a server restart. */
export type ChatRegistry = Map<
  string,
  { room: string; name: string; transport: ServerTransport; connected: boolean }
>;

/**
 * Hosts the chat on `server`. A client calls `chat.join` after every handshake; the answer is
 * the room's member list. Membership is kept by session id in `registry`: pass the same one to
 * the server that replaces this one (with the same session store) and members who resume
 * are back in their rooms at once. `emptied` is told of a room its last member left. Returns a
 * function that stops it.
 */
export function hostChat(
  server: SocklineServer,
  registry: ChatRegistry = new Map(),
  emptied: (room: string) => void = () => {},
): () => void {
  const presence = (room: string): ChatPresence => ({
    room,
    members: [...registry]
      .filter(([, m]) => m.room === room)
      .map(([id, m]) => ({ id, name: m.name, transport: m.transport, connected: m.connected })),
  });
  const announce = (room: string): void => {
    const p = presence(room);
    server.publish(chatTopics.presence(room), p);
    if (p.members.length === 0) emptied(room);
  };
  /** Refreshes a member's transport and connected flag from its Peer; true when they changed. */
  const refresh = (id: string): boolean => {
    const m = registry.get(id);
    if (m === undefined) return false;
    const peer: Peer | undefined = server.peers.get(id);
    const transport = peer?.transport ?? m.transport;
    const connected = peer?.connected ?? false;
    if (transport === m.transport && connected === m.connected) return false;
    Object.assign(m, { transport, connected });
    return true;
  };

  server.handle('chat.join', (params, peer) => {
    const { room, name } = parseJoin(params);
    const previous = registry.get(peer.id);
    if (previous !== undefined && previous.room !== room) {
      peer.leave(previous.room);
      registry.delete(peer.id);
      announce(previous.room);
    }
    registry.set(peer.id, { room, name, transport: peer.transport, connected: peer.connected });
    peer.join(room);
    announce(room);
    return { id: peer.id, ...presence(room) };
  });

  // A session resumed from the store after a restart: back in its room before it asks.
  const offConnection = server.on('connection', (peer) => {
    const m = registry.get(peer.id);
    if (m === undefined) return;
    peer.join(m.room);
    if (refresh(peer.id)) announce(m.room);
  });

  const offDisconnect = server.on('disconnect', (peer, { reason }) => {
    const m = registry.get(peer.id);
    // A closing server keeps sessions for its successor: the members come back with them.
    if (m === undefined || reason === 'server-close') return;
    registry.delete(peer.id);
    announce(m.room);
  });

  const poll = setInterval(() => {
    const changed = new Set<string>();
    for (const [id, m] of registry) {
      // A member who never came back after a restart: its session expired in the store.
      if (!server.peers.has(id) && server.store.get(id) === undefined) {
        registry.delete(id);
        changed.add(m.room);
      } else if (refresh(id)) changed.add(m.room);
    }
    for (const room of changed) announce(room);
  }, PRESENCE_POLL);
  poll.unref();

  return () => {
    clearInterval(poll);
    offConnection();
    offDisconnect();
  };
}
