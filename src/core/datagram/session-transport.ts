import type { Clock, TimerHandle } from '../clock.js';
import { ErrorCodes, SocklineError } from '../errors.js';
import { backoffDelay, type BackoffOptions } from '../link/backoff.js';
import { BaseTransport } from '../transport-base.js';
import type { Transport, TransportHandlers } from '../transport.js';
import { DatagramChannel, type DatagramChannelOptions } from './channel.js';
import { CONNECTION_ID_SIZE, decodePacket, encodePacket, type Packet } from './packet.js';

export interface DatagramSessionOptions extends Partial<DatagramChannelOptions> {
  /** Opens the datagram transport to wrap, reporting to the handlers given. */
  readonly open: (handlers: TransportHandlers) => Transport;
  readonly clock: Clock;
  /** Random bytes for the connection id. @default `crypto.getRandomValues` where the runtime has it */
  readonly randomBytes?: (size: number) => Uint8Array;
  /** Random source for the jitter of INITIAL repeats, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * Share of an INITIAL repeat's delay that is random. Clients that start together (a fleet
 * reconnecting, a load generator) would otherwise repeat together, and a server socket that
 * dropped part of one burst would get the same burst again at every step of the backoff.
 */
const INITIAL_JITTER = 0.5;

const encoder = new TextEncoder();

/**
 * The client side of the datagram layer (docs/udp.md §4): wraps a `datagram` transport (UDP)
 * and presents a `message` transport to the Link, so the session protocol runs unchanged.
 *
 * It opens after the stateless-cookie exchange: INITIAL (no cookie) → COOKIE → INITIAL with
 * the cookie → ACCEPT; INITIALs are repeated with backoff until then (the Link's
 * `connectTimeout` bounds the whole exchange). The session's HELLO is the first message after
 * the open, in a PACKET like every other frame. What the session sends `volatile` travels
 * unreliably unless the channel is `reliable`; every other frame is acknowledged and
 * retransmitted, so the session's sequenced messages arrive exactly once, in order. The
 * server's ACCEPT says whether the channel is reliable; the client's `reliable` option is
 * only its proposal.
 *
 * @example
 * const t = new DatagramSessionTransport(handlers, {
 *   clock: systemClock,
 *   reliable: true,
 *   open: (inner) => new UdpTransport(url, inner, { highWaterMark: 65536, maxMessageSize: 1200 }),
 * });
 */
export class DatagramSessionTransport extends BaseTransport {
  readonly kind = 'message' as const;
  readonly connectionId: Uint8Array;
  readonly #options: DatagramSessionOptions;
  readonly #clock: Clock;
  readonly #inner: Transport;
  #cookie: Uint8Array = new Uint8Array(0);
  #channel: DatagramChannel | null = null;
  #phase: 'connecting' | 'handshake' | 'open' | 'closing' = 'connecting';
  #retryTimer: TimerHandle | undefined;
  /** INITIALs sent since the last COOKIE (or since the start). */
  #attempt = 0;
  readonly #backoff: BackoffOptions;

  constructor(handlers: TransportHandlers, options: DatagramSessionOptions) {
    super(handlers);
    this.#options = options;
    this.#clock = options.clock;
    this.#backoff = {
      initialDelay: options.initialRto ?? 250,
      maxDelay: options.maxRto ?? 2000,
      multiplier: 2,
      jitter: INITIAL_JITTER,
    };
    this.connectionId = (options.randomBytes ?? defaultRandomBytes)(CONNECTION_ID_SIZE);
    if (this.connectionId.byteLength !== CONNECTION_ID_SIZE)
      throw new RangeError('randomBytes returned the wrong size');
    // The limit depends on the mode the server picks in ACCEPT, so it is read live. BaseTransport
    // declares it as a plain field, which an accessor in a subclass could not override.
    Object.defineProperty(this, 'maxMessageSize', {
      get: (): number => this.#channel?.maxMessageSize ?? Infinity,
    });
    this.#inner = options.open({
      onOpen: this.#onInnerOpen,
      onData: this.#onInnerData,
      onDrain: () => {},
      onSoftError: (error) => this.emitSoftError(error),
      onClose: (info) =>
        this.finish({ ...(info.error ? { error: info.error } : {}), code: info.code, reason: info.reason }),
    });
  }

  get bufferedAmount(): number {
    return (this.#channel?.bufferedAmount ?? 0) + this.#inner.bufferedAmount;
  }

  /** Whether the server accepted a reliable channel (undefined before the open). */
  get reliable(): boolean | undefined {
    return this.#channel?.reliable;
  }

  /** The channel's counters (undefined before the open). */
  get stats(): DatagramChannel['stats'] | undefined {
    return this.#channel?.stats;
  }

  /** `volatile`: the session says the message may be lost (see the class comment). */
  send(data: Uint8Array | string, volatile = false): boolean {
    const channel = this.#channel;
    if (this.finished || this.#phase !== 'open' || channel === null) return false;
    return channel.send(typeof data === 'string' ? encoder.encode(data) : data, volatile);
  }

  /** Graceful: waits (bounded by `closeTimeout`) for outstanding packets to be acked, then sends CLOSE. */
  close(): void {
    if (this.finished || this.#phase === 'closing') return;
    const channel = this.#channel;
    this.#phase = 'closing';
    if (channel === null) {
      this.destroy();
      return;
    }
    channel.close();
  }

  override pause(): void {
    this.#inner.pause();
  }
  override resume(): void {
    this.#inner.resume();
  }
  override ref(): void {
    this.#inner.ref();
  }
  override unref(): void {
    this.#inner.unref();
  }

  protected detach(): void {
    this.#clearRetry();
    if (this.#channel !== null && this.#phase === 'open')
      this.#write({ type: 'close', cid: this.connectionId });
    this.#channel?.destroy();
    this.#inner.destroy();
  }

  #onInnerOpen = (): void => {
    this.#phase = 'handshake';
    this.#sendInitial();
  };

  #sendInitial = (): void => {
    this.#retryTimer = undefined;
    if (this.finished || this.#phase !== 'handshake') return;
    const reliable = this.#options.reliable ?? false;
    this.#write({ type: 'initial', cid: this.connectionId, reliable, cookie: this.#cookie });
    const delay = backoffDelay(this.#attempt++, this.#backoff, this.#options.random ?? Math.random);
    this.#retryTimer = this.#clock.setTimeout(this.#sendInitial, delay);
  };

  #onInnerData = (data: Uint8Array | string): void => {
    if (typeof data === 'string') return;
    let packet: Packet;
    try {
      packet = decodePacket(data);
    } catch {
      return; // garbage, a truncated or corrupted datagram: UDP may deliver those (docs/udp.md §6)
    }
    if (!sameBytes(packet.cid, this.connectionId)) return;
    switch (packet.type) {
      case 'cookie':
        if (this.#phase !== 'handshake') return;
        this.#cookie = packet.cookie.slice();
        this.#clearRetry();
        this.#attempt = 0;
        this.#sendInitial();
        return;
      case 'accept':
        if (this.#phase === 'handshake') this.#accept(packet.reliable);
        return;
      case 'packet':
      case 'ack':
        this.#channel?.receive(packet);
        return;
      case 'pathChallenge':
        if (this.#channel !== null)
          this.#write({ type: 'pathResponse', cid: this.connectionId, nonce: packet.nonce });
        return;
      case 'close':
        if (this.#channel === null) return;
        this.#channel.destroy();
        this.finish({ code: 1000, reason: 'closed by the peer' });
        return;
      default:
        return;
    }
  };

  #accept(reliable: boolean): void {
    this.#clearRetry();
    const {
      open: _open,
      clock: _clock,
      randomBytes: _randomBytes,
      random: _random,
      ...channelOptions
    } = this.#options;
    this.#channel = new DatagramChannel(
      this.connectionId,
      {
        ...channelOptions,
        reliable,
        maxDatagramSize: channelOptions.maxDatagramSize ?? this.#inner.maxMessageSize,
      },
      this.#clock,
      {
        transmit: (datagram) => void this.#inner.send(datagram),
        deliver: (message) => this.emitData(message),
        drain: () => this.emitDrain(),
        fail: (error) => this.finish({ error }),
        flushed: () => {
          this.#write({ type: 'close', cid: this.connectionId });
          this.#phase = 'closing';
          this.#channel = null;
          this.#inner.close();
        },
      },
    );
    this.#phase = 'open';
    this.emitOpen();
  }

  #write(packet: Packet): void {
    try {
      this.#inner.send(encodePacket(packet));
    } catch (err) {
      // Only a datagram over the inner transport's limit throws: a configuration mistake.
      this.finish({
        error: new SocklineError(ErrorCodes.DATAGRAM_TOO_LARGE, String((err as Error).message), {
          cause: err,
        }),
      });
    }
  }

  #clearRetry(): void {
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Web Crypto where the runtime has it (browsers, Node ≥ 19); Math.random as a last resort. */
function defaultRandomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const crypto = (globalThis as { crypto?: { getRandomValues?: (b: Uint8Array) => Uint8Array } }).crypto;
  if (crypto?.getRandomValues) return crypto.getRandomValues(bytes);
  for (let i = 0; i < size; i++) bytes[i] = Math.floor(Math.random() * 256);
  return bytes;
}
