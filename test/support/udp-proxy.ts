import * as dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

/**
 * A fault-injecting UDP proxy for tests (udp4, 127.0.0.1, ephemeral port). Every
 * client address gets its own upstream socket, so the target sees one stable
 * source address per client; `rebind()` swaps those sockets to simulate a NAT
 * rebinding. Faults are random but seeded: the same seed and the same datagrams
 * (in the same order per direction) give the same decisions and the same stats.
 *
 * "up" is client -> target, "down" is target -> client.
 */

export type UdpDirection = 'up' | 'down';

export interface UdpFaults {
  /** Probability (0..1) that a datagram is dropped. */
  loss: number;
  /** Probability that a datagram is sent twice. */
  duplicate: number;
  /** Probability that a datagram is held back and released after the next one in
   *  the same direction, or after `reorderDelay` ms, whichever comes first. At most
   *  one datagram per direction is held: holding a new one releases the old one. */
  reorder: number;
  /** How long a held-back datagram waits at most (ms). */
  reorderDelay: number;
  /** Delay added to every datagram (ms). */
  delay: number;
  /** Probability that a datagram is cut at a random shorter length (0..len-1). */
  truncate: number;
  /** Probability that one random byte is flipped (XOR with a random non-zero mask). */
  corrupt: number;
  /** Which directions the faults apply to. */
  direction: UdpDirection | 'both';
}

export interface UdpProxyOptions extends Partial<UdpFaults> {
  seed: number;
  /** Sees every datagram as it reaches the proxy, before any fault (a wire tap for tests
   *  that must read or replay real traffic). */
  tap?: (direction: UdpDirection, datagram: Buffer) => void;
}

export interface UdpDirectionStats {
  /** Datagrams that reached the proxy. */
  received: number;
  /** Datagrams sent on (a duplicate counts as two). */
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  truncated: number;
  corrupted: number;
}

export interface UdpProxy {
  readonly seed: number;
  /** Mutable fault switches; apply to datagrams received from then on. */
  readonly faults: UdpFaults;
  readonly stats: { up: UdpDirectionStats; down: UdpDirectionStats };
  readonly port: number;
  /** `udp://127.0.0.1:<port>` */
  readonly url: string;
  /** Number of client addresses seen. */
  readonly clients: number;
  /** Give every known client a NEW upstream socket (new source port as seen by the
   *  target); the old ones are closed, so replies to them are lost. */
  rebind(): void;
  close(): Promise<void>;
}

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Client {
  address: string;
  port: number;
  upstream: dgram.Socket;
}

interface Held {
  send: () => void;
  timer: NodeJS.Timeout;
}

const emptyStats = (): UdpDirectionStats => ({
  received: 0,
  forwarded: 0,
  dropped: 0,
  duplicated: 0,
  reordered: 0,
  truncated: 0,
  corrupted: 0,
});

export async function startUdpProxy(
  target: { host: string; port: number },
  options: UdpProxyOptions,
): Promise<UdpProxy> {
  const { seed, tap, ...initial } = options;
  const faults: UdpFaults = {
    loss: 0,
    duplicate: 0,
    reorder: 0,
    reorderDelay: 50,
    delay: 0,
    truncate: 0,
    corrupt: 0,
    direction: 'both',
    ...initial,
  };
  const stats = { up: emptyStats(), down: emptyStats() };
  // One generator per direction, so the interleaving of the two directions (which
  // depends on timing) cannot change the decisions.
  const rng: Record<UdpDirection, () => number> = {
    up: mulberry32(seed),
    down: mulberry32(seed ^ 0x9e3779b9),
  };
  const held: Record<UdpDirection, Held | null> = { up: null, down: null };
  const timers = new Set<NodeJS.Timeout>();
  const clients = new Map<string, Client>();
  const sockets = new Set<dgram.Socket>();
  let closed = false;
  let closing: Promise<void> | null = null;

  const server = dgram.createSocket('udp4');
  sockets.add(server);
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.bind(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  function safeSend(socket: dgram.Socket, data: Buffer, toPort: number, toHost: string): void {
    if (closed || !sockets.has(socket)) return;
    try {
      socket.send(data, toPort, toHost, () => {});
    } catch {
      // socket closed under us: the datagram is lost, as on a real network
    }
  }

  function later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  }

  function newUpstream(client: Omit<Client, 'upstream'>): dgram.Socket {
    const upstream = dgram.createSocket('udp4');
    sockets.add(upstream);
    upstream.on('error', () => {});
    upstream.on('message', (msg) => {
      if (sockets.has(upstream)) {
        handle('down', msg, (data) => safeSend(server, data, client.port, client.address));
      }
    });
    upstream.bind(0, '127.0.0.1');
    return upstream;
  }

  const closingSockets = new Set<Promise<void>>();
  function closeSocket(socket: dgram.Socket): Promise<void> {
    sockets.delete(socket);
    const done = new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    closingSockets.add(done);
    void done.then(() => closingSockets.delete(done));
    return done;
  }

  function handle(dir: UdpDirection, msg: Buffer, send: (data: Buffer) => void): void {
    if (closed) return;
    const s = stats[dir];
    s.received += 1;
    tap?.(dir, msg);
    // Always draw the same number of values per datagram, so that one fault's
    // probability never shifts another fault's decisions.
    const r = rng[dir];
    const [rLoss, rTrunc, rTruncLen, rCorrupt, rCorruptPos, rCorruptMask, rDup, rReorder] = [
      r(),
      r(),
      r(),
      r(),
      r(),
      r(),
      r(),
      r(),
    ] as [number, number, number, number, number, number, number, number];
    const active = faults.direction === 'both' || faults.direction === dir;
    if (!active) {
      deliver(dir, msg, 1, false, send);
      return;
    }
    if (rLoss < faults.loss) {
      s.dropped += 1;
      return;
    }
    let data = msg;
    if (rTrunc < faults.truncate && data.length > 0) {
      data = Buffer.from(data.subarray(0, Math.floor(rTruncLen * data.length)));
      s.truncated += 1;
    }
    if (rCorrupt < faults.corrupt && data.length > 0) {
      data = Buffer.from(data);
      const at = Math.floor(rCorruptPos * data.length);
      data[at] = data[at]! ^ (1 + Math.floor(rCorruptMask * 255));
      s.corrupted += 1;
    }
    let copies = 1;
    if (rDup < faults.duplicate) {
      copies = 2;
      s.duplicated += 1;
    }
    const hold = rReorder < faults.reorder;
    if (faults.delay > 0) later(faults.delay, () => deliver(dir, data, copies, hold, send));
    else deliver(dir, data, copies, hold, send);
  }

  function deliver(
    dir: UdpDirection,
    data: Buffer,
    copies: number,
    hold: boolean,
    send: (data: Buffer) => void,
  ): void {
    if (closed) return;
    const s = stats[dir];
    const out = (): void => {
      for (let i = 0; i < copies; i++) {
        s.forwarded += 1;
        send(data);
      }
    };
    const previous = held[dir];
    if (previous) {
      // The datagram held back before this one is released right after it (or, if
      // this one is held back too, right now, so only one is ever held).
      held[dir] = null;
      clearTimeout(previous.timer);
      timers.delete(previous.timer);
    }
    if (hold) {
      s.reordered += 1;
      previous?.send();
      const entry: Held = {
        send: out,
        timer: later(faults.reorderDelay, () => {
          if (held[dir] === entry) held[dir] = null;
          out();
        }),
      };
      held[dir] = entry;
      return;
    }
    out();
    previous?.send();
  }

  server.on('message', (msg, rinfo) => {
    if (closed) return;
    const key = `${rinfo.address}:${rinfo.port}`;
    let client = clients.get(key);
    if (!client) {
      const base = { address: rinfo.address, port: rinfo.port };
      client = { ...base, upstream: newUpstream(base) };
      clients.set(key, client);
    }
    const c = client;
    // Resolve the upstream socket at send time, so a rebind() between receipt and
    // a delayed send already uses the new socket.
    handle('up', msg, (data) => safeSend(c.upstream, data, target.port, target.host));
  });

  return {
    seed,
    faults,
    stats,
    port,
    url: `udp://127.0.0.1:${port}`,
    get clients() {
      return clients.size;
    },
    rebind() {
      if (closed) return;
      for (const client of clients.values()) {
        const old = client.upstream;
        client.upstream = newUpstream(client);
        void closeSocket(old);
      }
    },
    close() {
      closing ??= (async () => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        held.up = held.down = null;
        await Promise.all([...[...sockets].map(closeSocket), ...closingSockets]);
        clients.clear();
      })();
      return closing;
    },
  };
}
