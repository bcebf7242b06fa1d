import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../core/clock.js';
import {
  DatagramChannel,
  type DatagramChannelOptions,
  type DatagramChannelStats,
} from '../core/datagram/channel.js';
import {
  cidKey,
  decodePacket,
  encodePacket,
  NONCE_SIZE,
  peekConnectionId,
  type Packet,
} from '../core/datagram/packet.js';
import { isSocklineError } from '../core/errors.js';
import type { ServerConnection } from '../core/protocol/server-session.js';

/** Options of {@link createUdpListener}. */
export interface UdpListenerOptions {
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Force the channel mode; undefined follows each client's INITIAL. @default undefined */
  readonly reliable?: boolean;
  /** Key of the cookie HMAC. @default 32 random bytes per listener */
  readonly secret?: Uint8Array;
  /** Peers kept at most; admitting one more evicts the least recently heard. @default 10000 */
  readonly maxPeers?: number;
  /** A peer silent this long (ms) is dropped. @default 30000 */
  readonly idleTimeout?: number;
  /** How long a cookie stays valid, in ms (one-second resolution). @default 10000 */
  readonly cookieLifetime?: number;
  /**
   * The socket's receive buffer (`SO_RCVBUF`), in bytes. One socket takes every client's
   * datagrams: when a fan-out makes hundreds of clients answer at once, the answers wait here
   * while the server is still sending, and what does not fit is dropped by the kernel (and
   * retransmitted later). The kernel caps the size (Linux: `net.core.rmem_max`); the size in
   * force is `listener.bufferSizes.receive`. @default 4194304
   */
  readonly recvBufferSize?: number;
  /** The socket's send buffer (`SO_SNDBUF`), in bytes; capped like the receive buffer (Linux: `net.core.wmem_max`). @default 4194304 */
  readonly sendBufferSize?: number;
  /** Channel limits and timings for every peer (maxDatagramSize, window, RTO bounds...). */
  readonly channel?: Partial<Omit<DatagramChannelOptions, 'reliable'>>;
  /** A client's address was validated and its connection id admitted. */
  readonly onPeer: (peer: UdpPeer) => void;
}

/** Defaults for {@link UdpListenerOptions}. */
export const udpListenerDefaults = Object.freeze({
  port: 0,
  host: '127.0.0.1',
  maxPeers: 10_000,
  idleTimeout: 30_000,
  cookieLifetime: 10_000,
  recvBufferSize: 4 << 20,
  sendBufferSize: 4 << 20,
});

/** One client of a UDP listener: a `ServerConnection` for `ServerSession`, plus callbacks. */
export interface UdpPeer extends ServerConnection {
  /** 16 hex digits. */
  readonly connectionId: string;
  /** The validated path the peer is reached on; changes after a successful path challenge. */
  readonly remote: { readonly address: string; readonly port: number };
  readonly reliable: boolean;
  readonly stats: DatagramChannelStats;
  /** One whole frame from the client. */
  onFrame: ((frame: Uint8Array) => void) | null;
  /** Exactly once: CLOSE from the client, `close()` done, idle expiry, eviction, listener closed. */
  onClose: (() => void) | null;
}

/** Counters of a listener, for tests and monitoring. */
export interface UdpListenerStats {
  cookiesSent: number;
  badCookies: number;
  malformed: number;
  unknownConnection: number;
  pathChallenges: number;
  migrations: number;
  evicted: number;
  expired: number;
  oversize: number;
  bytesIn: number;
  bytesOut: number;
}

export interface UdpListener {
  readonly port: number;
  readonly url: string;
  /** Admitted peers right now. */
  readonly peers: number;
  readonly stats: UdpListenerStats;
  /** The socket buffer sizes in force, in bytes, as the kernel reports them (Linux doubles the size asked for). */
  readonly bufferSizes: { readonly receive: number; readonly send: number };
  close(): Promise<void>;
}

interface PeerEntry extends UdpPeer {
  remote: { address: string; port: number };
  channel: DatagramChannel;
  lastHeard: number;
  candidate: { address: string; port: number; nonce: Buffer; received: number; sent: number } | null;
  finish(sendClose: boolean): void;
}

const COOKIE_MAC_SIZE = 16;

/**
 * A UDP listener for the datagram layer (docs/udp.md §4): stateless cookies before any peer
 * state, peers found by connection id (not address), path validation before a migration, a
 * bounded LRU peer table with idle expiry.
 *
 * @example
 * const listener = await createUdpListener({
 *   onPeer(peer) {
 *     const session = new ServerSession(peer, sessionOptions);
 *     peer.onFrame = (f) => session.receive(f);
 *     peer.onClose = () => session.closed();
 *   },
 * });
 */
export async function createUdpListener(options: UdpListenerOptions): Promise<UdpListener> {
  const o = { ...udpListenerDefaults, ...options };
  for (const name of [
    'maxPeers',
    'idleTimeout',
    'cookieLifetime',
    'recvBufferSize',
    'sendBufferSize',
  ] as const) {
    if (!(o[name] > 0)) throw new RangeError(`Invalid option ${name}: ${String(o[name])}`);
  }
  const secret = options.secret ?? randomBytes(32);
  const peers = new Map<string, PeerEntry>();
  const stats: UdpListenerStats = {
    cookiesSent: 0,
    badCookies: 0,
    malformed: 0,
    unknownConnection: 0,
    pathChallenges: 0,
    migrations: 0,
    evicted: 0,
    expired: 0,
    oversize: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  const socket = dgram.createSocket({
    type: o.host.includes(':') ? 'udp6' : 'udp4',
    recvBufferSize: o.recvBufferSize,
    sendBufferSize: o.sendBufferSize,
  });
  socket.on('error', () => {}); // per-datagram errors (ICMP) say nothing about the listener
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(o.port, o.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const { port } = socket.address() as AddressInfo;
  const bufferSizes = { receive: socket.getRecvBufferSize(), send: socket.getSendBufferSize() };
  let closed = false;

  const sendTo = (bytes: Uint8Array, address: string, toPort: number): void => {
    if (closed) return;
    stats.bytesOut += bytes.byteLength;
    socket.send(bytes, toPort, address, () => {});
  };

  const cookieFor = (cid: Uint8Array, address: string, fromPort: number, seconds: number): Buffer => {
    const ts = Buffer.alloc(4);
    ts.writeUInt32BE(seconds >>> 0);
    const mac = createHmac('sha256', secret)
      .update(`${address}|${fromPort}|`)
      .update(cid)
      .update(ts)
      .digest()
      .subarray(0, COOKIE_MAC_SIZE);
    return Buffer.concat([ts, mac]);
  };

  const cookieValid = (cookie: Uint8Array, cid: Uint8Array, address: string, fromPort: number): boolean => {
    if (cookie.byteLength !== 4 + COOKIE_MAC_SIZE) return false;
    const seconds = ((cookie[0]! << 24) | (cookie[1]! << 16) | (cookie[2]! << 8) | cookie[3]!) >>> 0;
    const age = Math.floor(Date.now() / 1000) - seconds;
    if (age < 0 || age * 1000 > o.cookieLifetime) return false;
    return timingSafeEqual(cookieFor(cid, address, fromPort, seconds), cookie);
  };

  const admit = (cid: Uint8Array, reliable: boolean, address: string, fromPort: number): void => {
    if (peers.size >= o.maxPeers) {
      const oldest = peers.values().next().value as PeerEntry;
      stats.evicted++;
      oldest.finish(true);
    }
    const key = cidKey(cid);
    const id = Buffer.from(cid); // a copy: `cid` is a view of the datagram
    let ended = false;
    const peer: PeerEntry = {
      connectionId: key,
      remote: { address, port: fromPort },
      reliable,
      lastHeard: Date.now(),
      candidate: null,
      onFrame: null,
      onClose: null,
      get stats() {
        return peer.channel.stats;
      },
      channel: new DatagramChannel(id, { ...options.channel, reliable }, systemClock, {
        transmit: (d) => sendTo(d, peer.remote.address, peer.remote.port),
        deliver: (m) => peer.onFrame?.(m),
        drain: () => {},
        fail: () => peer.finish(true),
        flushed: () => peer.finish(true),
      }),
      send(frame, volatile) {
        if (ended) return false;
        try {
          return peer.channel.send(frame, volatile === true);
        } catch (err) {
          // A frame over the channel's message limit cannot be carried; the session must not
          // be torn down by it, so it is dropped and counted.
          if (isSocklineError(err, 'ERR_DATAGRAM_TOO_LARGE')) {
            stats.oversize++;
            return false;
          }
          throw err;
        }
      },
      close() {
        if (!ended) peer.channel.close();
      },
      finish(sendClose) {
        if (ended) return;
        ended = true;
        peer.channel.destroy();
        if (sendClose)
          sendTo(encodePacket({ type: 'close', cid: id }), peer.remote.address, peer.remote.port);
        if (peers.get(key) === peer) peers.delete(key);
        const onClose = peer.onClose;
        peer.onFrame = peer.onClose = null;
        onClose?.();
      },
    };
    peers.set(key, peer);
    sendTo(encodePacket({ type: 'accept', cid: id, reliable }), address, fromPort);
    options.onPeer(peer);
  };

  const onInitial = (p: Extract<Packet, { type: 'initial' }>, address: string, fromPort: number): void => {
    const existing = peers.get(cidKey(p.cid));
    if (existing !== undefined) {
      // Our ACCEPT was lost: answer again, but only on the path already validated.
      if (existing.remote.address === address && existing.remote.port === fromPort) {
        sendTo(encodePacket({ type: 'accept', cid: p.cid, reliable: existing.reliable }), address, fromPort);
      }
      return;
    }
    if (p.cookie.byteLength === 0) {
      // Stateless: nothing is kept. The COOKIE (31 bytes) is smaller than any INITIAL (≥ 64).
      stats.cookiesSent++;
      const cookie = cookieFor(p.cid, address, fromPort, Math.floor(Date.now() / 1000));
      sendTo(encodePacket({ type: 'cookie', cid: p.cid, cookie }), address, fromPort);
      return;
    }
    if (!cookieValid(p.cookie, p.cid, address, fromPort)) {
      stats.badCookies++;
      return;
    }
    admit(p.cid, o.reliable ?? p.reliable, address, fromPort);
  };

  /** A packet of a known connection from another address: challenge that path, drop the packet. */
  const challenge = (peer: PeerEntry, p: Packet, size: number, address: string, fromPort: number): void => {
    const c = peer.candidate;
    if (p.type === 'pathResponse') {
      if (c !== null && c.address === address && c.port === fromPort && c.nonce.equals(p.nonce)) {
        peer.remote = { address, port: fromPort };
        peer.candidate = null;
        peer.lastHeard = Date.now();
        stats.migrations++;
      }
      return;
    }
    if (c === null || c.address !== address || c.port !== fromPort) {
      peer.candidate = { address, port: fromPort, nonce: randomBytes(NONCE_SIZE), received: 0, sent: 0 };
    }
    const candidate = peer.candidate!;
    candidate.received += size;
    const packet = encodePacket({ type: 'pathChallenge', cid: p.cid, nonce: candidate.nonce });
    // Anti-amplification on an unvalidated path: at most 3× what it sent us.
    if (candidate.sent + packet.byteLength > 3 * candidate.received) return;
    candidate.sent += packet.byteLength;
    stats.pathChallenges++;
    sendTo(packet, address, fromPort);
  };

  socket.on('message', (msg, rinfo) => {
    if (closed) return;
    stats.bytesIn += msg.byteLength;
    const cid = peekConnectionId(msg);
    if (cid === undefined) {
      stats.malformed++;
      return;
    }
    let p: Packet;
    try {
      p = decodePacket(msg);
    } catch {
      stats.malformed++;
      return;
    }
    if (p.type === 'initial') {
      onInitial(p, rinfo.address, rinfo.port);
      return;
    }
    const key = cidKey(cid);
    const peer = peers.get(key);
    if (peer === undefined) {
      stats.unknownConnection++;
      return;
    }
    if (peer.remote.address !== rinfo.address || peer.remote.port !== rinfo.port) {
      challenge(peer, p, msg.byteLength, rinfo.address, rinfo.port);
      return;
    }
    peer.lastHeard = Date.now();
    peers.delete(key); // re-insert: the Map's order is least recently heard first
    peers.set(key, peer);
    if (p.type === 'packet' || p.type === 'ack') peer.channel.receive(p);
    else if (p.type === 'close') peer.finish(false);
  });

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const peer of peers.values()) {
        if (now - peer.lastHeard < o.idleTimeout) break;
        stats.expired++;
        peer.finish(true);
      }
    },
    Math.min(1000, Math.max(10, o.idleTimeout / 4)),
  );
  sweep.unref();

  return {
    port,
    url: `udp://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    get peers() {
      return peers.size;
    },
    stats,
    bufferSizes,
    async close() {
      if (closed) return;
      clearInterval(sweep);
      for (const peer of [...peers.values()]) peer.finish(true);
      closed = true;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
