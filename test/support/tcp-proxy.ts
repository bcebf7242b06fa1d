import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A fault-injecting TCP byte proxy for tests: listens on 127.0.0.1 with an
 * ephemeral port and, for every client connection, opens one connection to the
 * target and pipes bytes both ways. Faults can be switched at runtime by mutating
 * `proxy.faults` or calling the methods. It is a byte proxy, so WebSocket (or TLS)
 * traffic goes through it unchanged.
 *
 * "up" is client -> target, "down" is target -> client.
 */

export type Direction = 'up' | 'down';

export interface TcpFaults {
  /** Delay in ms added to every chunk in each direction (order is kept). 0 = off. */
  latency: number;
  /** Bytes per second per connection and direction. 0 = unlimited. */
  bandwidth: number;
  /** Split every chunk into pieces of at most N bytes, written separately with a
   *  setImmediate between them. 0 = off. */
  chunkSize: number;
  /** Destroy new client connections as soon as they are accepted. */
  refuse: boolean;
  /** Keep every socket open but forward nothing (data and FIN are held back: data is
   *  discarded, a FIN is delivered once the black hole is switched off). */
  blackHole: boolean;
  /** Keep every socket open and forward nothing, but hold the data (and FINs) back instead
   *  of discarding it: switched off, everything goes through in order. This is a network
   *  partition as TCP lives it (its retransmissions fill the gap once the path is back). */
  stall: boolean;
  /** Discard what arrives in this direction only, the other one flowing: with 'down', requests
   *  reach the target and its replies are lost on the way back. null = off. */
  lose: Direction | null;
}

export type TcpProxyOptions = Partial<TcpFaults>;

export interface TcpProxy {
  /** Mutable fault switches; changes apply to data received from then on (and
   *  `blackHole` also to data still queued). */
  readonly faults: TcpFaults;
  readonly port: number;
  /** `tcp://127.0.0.1:<port>` */
  readonly url: string;
  /** `ws://127.0.0.1:<port><path>` */
  wsUrl(path?: string): string;
  /** Number of client/target pairs with at least one socket still open. */
  readonly pairs: number;
  /** Bytes forwarded client -> target (over the proxy's lifetime). */
  readonly bytesUp: number;
  /** Bytes forwarded target -> client (over the proxy's lifetime). */
  readonly bytesDown: number;
  /** Gracefully end (FIN) both sockets of every open pair; queued data is dropped. */
  cutAll(): void;
  /** Reset (RST) both sockets of every open pair. */
  resetAll(): void;
  /**
   * Every open pair forwards nothing more, either way, and neither side is told (no FIN, no
   * RST): a path that vanished, as when a NAT forgets its mapping while the device is offline.
   * Pairs opened afterwards are not affected.
   */
  freezeAll(): void;
  /**
   * Arm a cut: after exactly `bytes` more bytes have been forwarded in `direction`
   * (counted over all pairs; for 'both' the two directions are summed), the pair
   * that forwarded the last byte is frozen (nothing more is forwarded either way)
   * and, `settle` ms (default 20) after the last byte was handed to the kernel,
   * reset (RST) on both sides. Re-arming replaces the previous arm. The promise
   * resolves when the reset happens (or when the proxy is closed first).
   *
   * Why `settle`: libuv reports a RST that arrives together with unread data as a
   * plain EOF (data, then 'end', no ECONNRESET), so the reset waits for the
   * receiver to read the last bytes first. With `settle: 0` the receiver may see
   * 'end' instead of ECONNRESET.
   */
  cutAfter(bytes: number, direction?: Direction | 'both', options?: { settle?: number }): Promise<void>;
  /** Close the listener and destroy every pair. Idempotent. */
  close(): Promise<void>;
}

interface Chunk {
  data: Buffer | null; // null = end of stream (FIN)
  due: number;
}

interface Lane {
  dir: Direction;
  src: net.Socket;
  dst: net.Socket;
  queue: Chunk[];
  queuedBytes: number;
  pumping: boolean;
  paused: boolean;
  nextFreeAt: number; // bandwidth shaping
  ended: boolean;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  up: Lane;
  down: Lane;
  dead: boolean;
  timers: Set<NodeJS.Timeout>;
  wakers: Set<() => void>;
}

const HIGH_WATER = 1 << 20;
const LOW_WATER = 1 << 18;

function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  try {
    // No RST is possible before the connection exists, and libuv refuses one (and
    // would then never close the handle) while a shutdown (FIN) is still pending.
    if (socket.connecting || (socket.writableEnded && !socket.writableFinished)) socket.destroy();
    else socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export async function startTcpProxy(
  target: { host: string; port: number },
  options: TcpProxyOptions = {},
): Promise<TcpProxy> {
  const faults: TcpFaults = {
    latency: 0,
    bandwidth: 0,
    chunkSize: 0,
    refuse: false,
    blackHole: false,
    stall: false,
    lose: null,
    ...options,
  };
  const pairs = new Set<Pair>();
  const emptyWaiters: (() => void)[] = [];
  let bytesUp = 0;
  let bytesDown = 0;
  let closing: Promise<void> | null = null;
  let cut: { remaining: number; direction: Direction | 'both'; settle: number; fire: () => void } | null =
    null;
  const pendingCuts = new Set<{ timer: NodeJS.Timeout; fire: () => void }>();

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    client.on('error', () => {});
    if (closing || faults.refuse) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    upstream.on('error', () => {});
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    const lane = (dir: Direction, src: net.Socket, dst: net.Socket): Lane => ({
      dir,
      src,
      dst,
      queue: [],
      queuedBytes: 0,
      pumping: false,
      paused: false,
      nextFreeAt: 0,
      ended: false,
    });
    const pair: Pair = {
      client,
      upstream,
      up: lane('up', client, upstream),
      down: lane('down', upstream, client),
      dead: false,
      timers: new Set(),
      wakers: new Set(),
    };
    pairs.add(pair);
    let closed = 0;
    const onClose = (): void => {
      closed += 1;
      if (closed === 2) {
        pairs.delete(pair);
        kill(pair);
        if (pairs.size === 0) for (const w of emptyWaiters.splice(0)) w();
      }
    };
    client.on('close', onClose);
    upstream.on('close', onClose);
    for (const l of [pair.up, pair.down]) {
      l.src.on('data', (data: Buffer) => enqueue(pair, l, data));
      l.src.on('end', () => enqueue(pair, l, null));
      l.src.on('close', (hadError) => {
        if (hadError) {
          // Propagate an abrupt loss (RST, error) as a reset of the other side.
          kill(pair);
          reset(l.dst);
        } else if (!l.ended) {
          // Closed without a FIN seen by us: forward a FIN after what is queued.
          enqueue(pair, l, null);
        }
      });
    }
  });
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  function kill(pair: Pair): void {
    pair.dead = true;
    for (const t of pair.timers) clearTimeout(t);
    pair.timers.clear();
    const wakers = [...pair.wakers];
    pair.wakers.clear();
    for (const w of wakers) w();
  }

  function sleep(pair: Pair, ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (pair.dead) return resolve();
      const wake = (): void => {
        clearTimeout(t);
        pair.timers.delete(t);
        pair.wakers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      pair.timers.add(t);
      pair.wakers.add(wake);
    });
  }

  function tick(pair: Pair): Promise<void> {
    return new Promise((resolve) => {
      if (pair.dead) return resolve();
      const wake = (): void => {
        clearImmediate(i);
        pair.wakers.delete(wake);
        resolve();
      };
      const i = setImmediate(wake);
      pair.wakers.add(wake);
    });
  }

  function drained(pair: Pair, socket: net.Socket): Promise<void> {
    return new Promise((resolve) => {
      if (pair.dead || socket.destroyed) return resolve();
      const wake = (): void => {
        socket.off('drain', wake);
        socket.off('close', wake);
        pair.wakers.delete(wake);
        resolve();
      };
      socket.on('drain', wake);
      socket.on('close', wake);
      pair.wakers.add(wake);
    });
  }

  function enqueue(pair: Pair, l: Lane, data: Buffer | null): void {
    if (pair.dead || l.ended) return;
    if (data === null) l.ended = true;
    else if (faults.blackHole || faults.lose === l.dir) return;
    l.queue.push({ data, due: Date.now() + Math.max(0, faults.latency) });
    if (data) {
      l.queuedBytes += data.length;
      if (l.queuedBytes > HIGH_WATER && !l.paused) {
        l.paused = true;
        l.src.pause();
      }
    }
    if (!l.pumping) void pump(pair, l);
  }

  function pieceSize(): number {
    let size = Infinity;
    if (faults.chunkSize > 0) size = Math.max(1, Math.floor(faults.chunkSize));
    // With a bandwidth limit, shape in slices of about 1/50 s worth of bytes.
    if (faults.bandwidth > 0) size = Math.min(size, Math.max(1, Math.ceil(faults.bandwidth / 50)));
    return size;
  }

  async function pump(pair: Pair, l: Lane): Promise<void> {
    l.pumping = true;
    try {
      while (!pair.dead && l.queue.length > 0) {
        while (faults.stall && !pair.dead) await sleep(pair, 5);
        if (pair.dead) return;
        const chunk = l.queue[0]!;
        const wait = chunk.due - Date.now();
        if (wait > 0) await sleep(pair, wait);
        if (pair.dead) return;
        if (chunk.data === null) {
          // A FIN waits while the black hole is on.
          while (faults.blackHole && !pair.dead) await sleep(pair, 10);
          if (pair.dead) return;
          l.queue.shift();
          if (!l.dst.destroyed) l.dst.end();
          continue;
        }
        l.queue.shift();
        l.queuedBytes -= chunk.data.length;
        if (l.paused && l.queuedBytes < LOW_WATER) {
          l.paused = false;
          l.src.resume();
        }
        let data = chunk.data;
        while (data.length > 0) {
          if (pair.dead) return;
          if (faults.blackHole) break; // discard the rest of this chunk
          while (faults.stall && !pair.dead) await sleep(pair, 5);
          // Every re-chunked piece goes out in its own event-loop turn, so that a
          // receiver (even one in this process) reads it on its own.
          if (faults.chunkSize > 0) await tick(pair);
          if (pair.dead || faults.blackHole) break;
          const size = pieceSize();
          if (faults.bandwidth > 0) {
            const delay = l.nextFreeAt - Date.now();
            if (delay >= 1) await sleep(pair, delay);
            if (pair.dead || faults.blackHole) break;
          }
          let piece = data.subarray(0, size);
          // An armed cut may end the stream inside this piece.
          const armed = cut && (cut.direction === 'both' || cut.direction === l.dir) ? cut : null;
          if (armed && piece.length >= armed.remaining) {
            piece = piece.subarray(0, armed.remaining);
            cut = null;
            count(l.dir, piece.length);
            // Freeze the pair: from now on nothing more is forwarded either way.
            kill(pair);
            const fire = (): void => {
              const pending = {
                timer: setTimeout(() => {
                  pendingCuts.delete(pending);
                  reset(pair.client);
                  reset(pair.upstream);
                  armed.fire();
                }, armed.settle),
                fire: armed.fire,
              };
              pendingCuts.add(pending);
            };
            if (piece.length === 0 || l.dst.destroyed) fire();
            else l.dst.write(piece, () => fire());
            return;
          }
          if (armed) armed.remaining -= piece.length;
          data = data.subarray(piece.length);
          if (l.dst.destroyed) continue;
          const ok = l.dst.write(piece);
          count(l.dir, piece.length);
          if (faults.bandwidth > 0) {
            l.nextFreeAt = Math.max(Date.now(), l.nextFreeAt) + (piece.length * 1000) / faults.bandwidth;
          }
          if (!ok) await drained(pair, l.dst);
        }
      }
    } finally {
      l.pumping = false;
    }
  }

  function count(dir: Direction, n: number): void {
    if (dir === 'up') bytesUp += n;
    else bytesDown += n;
  }

  const proxy: TcpProxy = {
    faults,
    port,
    url: `tcp://127.0.0.1:${port}`,
    wsUrl: (path = '/') => `ws://127.0.0.1:${port}${path.startsWith('/') ? path : `/${path}`}`,
    get pairs() {
      return pairs.size;
    },
    get bytesUp() {
      return bytesUp;
    },
    get bytesDown() {
      return bytesDown;
    },
    cutAll() {
      for (const pair of pairs) {
        kill(pair);
        for (const s of [pair.client, pair.upstream]) {
          if (s.destroyed) continue;
          s.end();
          // Do not wait forever for the far side's FIN.
          const t = setTimeout(() => s.destroy(), 1000);
          t.unref();
          s.once('close', () => clearTimeout(t));
        }
      }
    },
    resetAll() {
      for (const pair of pairs) {
        kill(pair);
        reset(pair.client);
        reset(pair.upstream);
      }
    },
    freezeAll() {
      for (const pair of pairs) kill(pair);
    },
    cutAfter(bytes, direction = 'both', { settle = 20 } = {}) {
      return new Promise<void>((resolve) => {
        cut = { remaining: Math.max(0, Math.floor(bytes)), direction, settle, fire: resolve };
      });
    },
    close() {
      closing ??= (async () => {
        cut = null;
        for (const pending of pendingCuts) {
          clearTimeout(pending.timer);
          pending.fire();
        }
        pendingCuts.clear();
        const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        const allPairsClosed = new Promise<void>((resolve) => {
          if (pairs.size === 0) resolve();
          else emptyWaiters.push(resolve);
        });
        for (const pair of pairs) {
          kill(pair);
          pair.client.destroy();
          pair.upstream.destroy();
        }
        await Promise.all([listenerClosed, allPairsClosed]);
      })();
      return closing;
    },
  };
  return proxy;
}
