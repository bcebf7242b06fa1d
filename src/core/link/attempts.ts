import { ErrorCodes, SocklineError } from '../errors.js';
import type { Transport, TransportCloseInfo, TransportHandlers } from '../transport.js';
import type { RetryPolicy } from './retry-policy.js';
import type { LinkState } from './state.js';
import type { LinkTimers } from './timers.js';
import type { HandshakeReceiver, LinkConfig, LinkEvents, LinkMessage } from './types.js';
import type { Wire, WireSink } from './wire.js';

/** How the parts of a link report to the application: the link's own `emit`. */
export type LinkEmit = <E extends keyof LinkEvents>(event: E, ...args: Parameters<LinkEvents[E]>) => void;

/** What the attempts tell the link they belong to. */
export interface AttemptsHost {
  /** The link's state now: a transport that opens counts only while `connecting`. */
  state(): LinkState;
  /** The transport is open (and the handshake, if any, done): the link is `open`. */
  ready(transport: Transport): void;
  /** The current transport ended (already detached): the link decides what follows. */
  closed(info: TransportCloseInfo): void;
  /** The transport's buffer fell below its low-water mark after a write that filled it. */
  drained(): void;
}

const encoder = new TextEncoder();
/** Fatal: text that is not UTF-8 is refused, never turned into U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The link's transports, one attempt at a time: opening one through the connector (with the
 * attempt's `connectTimeout`), the callbacks it reports to, the handshake that runs on it, the
 * wire between it and the link, the messages both ways, and liveness (`idleTimeout`: a peer
 * gone without a FIN, a NAT that forgot the flow). Each attempt has an id; callbacks
 * of an older transport no longer match it and are ignored, so a late event of a replaced
 * socket can never touch the link. What follows the end of a transport (retry, close) is the
 * link's decision: it is told through {@link AttemptsHost.closed}.
 *
 * @example
 * attempts.start();                      // the link is `connecting`
 * attempts.write(message);               // once it is `open`
 * attempts.kill(attempts.id, error);     // ends the attempt the usual way
 */
export class Attempts {
  readonly #config: LinkConfig;
  readonly #timers: LinkTimers;
  readonly #retry: RetryPolicy;
  readonly #host: AttemptsHost;
  readonly #emit: LinkEmit;
  /** Identifies the current attempt; callbacks from older transports are ignored. */
  id = 0;
  transport: Transport | null = null;
  /**
   * What the current transport needs between it and the link (framing, a size limit, joined
   * writes); null: messages go to the transport as they are (a WebSocket).
   */
  #wire: Wire | null = null;
  /** Set while a handshake runs on the current transport: it gets the messages. */
  #receiver: HandshakeReceiver | null = null;
  /** A write found the transport's buffer full: `drain` follows when it empties. */
  needDrain = false;
  #paused = false;
  /** The liveness deadline: no inbound byte for this long (ms) ends the connection; `false`: none. */
  idleTimeout: number | false;
  /** When the last byte came, and when the idle timer was meant to fire (clock ms). */
  #heard = 0;
  #idleDue = 0;

  constructor(
    config: LinkConfig,
    timers: LinkTimers,
    retry: RetryPolicy,
    host: AttemptsHost,
    emit: LinkEmit,
  ) {
    this.#config = config;
    this.#timers = timers;
    this.#retry = retry;
    this.idleTimeout = config.idleTimeout;
    this.#host = host;
    this.#emit = emit;
  }

  /** Bytes waiting in the transport's buffer and in its wire. */
  get bufferedAmount(): number {
    return (this.transport?.bufferedAmount ?? 0) + (this.#wire?.bytes ?? 0);
  }

  /** Starts a new attempt (the link is `connecting`). */
  start(): void {
    const id = ++this.id;
    this.#timers.set(
      'connect',
      () => {
        const ms = this.#config.connectTimeout;
        const error = new SocklineError(
          ErrorCodes.CONNECT_TIMEOUT,
          this.#receiver === null
            ? `not connected within ${ms} ms`
            : `connected, but the peer did not answer the handshake within ${ms} ms`,
        );
        this.kill(id, error);
      },
      this.#config.connectTimeout,
    );
    let result: Transport | Promise<Transport>;
    try {
      result = this.#config.connector(this.#handlers(id), this.#retry.failures);
    } catch (err) {
      this.#closed(id, { error: toSocklineError(err), wasOpen: false });
      return;
    }
    if (isPromise(result)) {
      result.then(
        (t) => this.#adopt(id, t),
        (err: unknown) => this.#closed(id, { error: toSocklineError(err), wasOpen: false }),
      );
    } else {
      this.#adopt(id, result);
    }
  }

  /** Stops reading from the transport (and from the ones that replace it). */
  pause(): void {
    this.#paused = true;
    this.transport?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.transport?.resume();
  }

  /** Writes what the wire holds (joined writes of this tick) before the transport is closed. */
  flush(): void {
    this.#wire?.flush();
  }

  /**
   * Ends attempt `id` with `error` (none for a deferral), through the transport's own close
   * when there is one, so the transport is torn down and the usual close path (error,
   * disconnect, retry) runs once.
   */
  kill(id: number, error: SocklineError | undefined): void {
    if (id !== this.id) return;
    this.transport?.destroy(error);
    // No transport yet (an async connector still pending), or one that did not report.
    if (id === this.id) this.#closed(id, error ? { error, wasOpen: false } : { wasOpen: false });
  }

  /** Ends the current transport without the reconnect logic (the caller decides what follows). */
  discard(): void {
    this.detach()?.destroy();
  }

  /** Forgets the current transport and its timers; its late callbacks no longer match. */
  detach(): Transport | null {
    const transport = this.transport;
    this.id++;
    this.transport = null;
    this.#wire?.clear();
    this.#wire = null;
    this.#receiver = null;
    this.#timers.clear('connect');
    this.#timers.clear('uptime');
    this.#timers.clear('idle');
    return transport;
  }

  /**
   * Writes a message to the current transport in the form it carries: through its wire when
   * it has one, else as it is. `volatile` goes to the transport: the message may be lost.
   */
  write(message: LinkMessage, volatile = false): void {
    const wire = this.#wire;
    if (wire !== null) wire.write(message, volatile);
    else if (!this.transport!.send(message, volatile)) this.needDrain = true;
  }

  /**
   * Starts the liveness check for `ms` (none for 0). One timer, re-armed only when it fires:
   * receiving costs a clock read.
   */
  watch(ms: number): void {
    if (ms <= 0) return;
    this.#idleDue = this.#config.clock.now() + ms;
    this.#timers.set('idle', this.#checkIdle, ms);
  }

  #checkIdle = (): void => {
    const limit = this.idleTimeout;
    if (limit === false || this.#host.state() !== 'open') return;
    const now = this.#config.clock.now();
    if (now - this.#idleDue > limit) {
      // The timer fired far too late: the runtime was suspended or throttled (a hidden tab,
      // a laptop asleep). That says nothing about the peer, so start measuring again.
      this.#heard = now;
    }
    const silent = now - this.#heard;
    if (silent < limit) {
      this.watch(limit - silent);
      return;
    }
    this.kill(
      this.id,
      new SocklineError(
        ErrorCodes.IDLE_TIMEOUT,
        `nothing received for ${silent} ms (idleTimeout ${limit} ms)`,
      ),
    );
  };

  #adopt(id: number, transport: Transport): void {
    if (id !== this.id) {
      // The attempt was abandoned (close, reconnect, timeout) while it was being created.
      transport.destroy();
      return;
    }
    this.transport = transport;
    if (this.#timers.unrefd) transport.unref();
  }

  /** Per-attempt callbacks: created once per attempt, never per message. */
  #handlers(id: number): TransportHandlers {
    return {
      onOpen: () => {
        if (id === this.id) this.#open();
      },
      onData: (data) => {
        if (id === this.id) this.#data(data);
      },
      onDrain: () => {
        if (id === this.id && this.needDrain) {
          this.needDrain = false;
          this.#host.drained();
        }
      },
      onSoftError: (error) => {
        if (id === this.id) this.#emit('error', error);
      },
      onClose: (info) => this.#closed(id, info),
    };
  }

  #open(): void {
    if (this.#host.state() !== 'connecting') return;
    const transport = this.transport;
    if (transport === null) return;
    if (this.#paused) transport.pause();
    const sink: WireSink = {
      send: (data, volatile) => {
        if (this.transport === transport && !transport.send(data, volatile)) this.needDrain = true;
      },
      deliver: (message, text) => this.#deliver(message, text),
    };
    this.#wire = this.#config.wire?.(transport, sink, this.#config) ?? null;
    this.needDrain = false;
    this.#heard = this.#config.clock.now();
    const handshake = this.#config.handshake;
    if (!handshake) {
      this.#ready(transport);
      return;
    }
    const id = this.id;
    const receiver = handshake({
      send: (message) => {
        if (id === this.id && this.transport !== null) this.write(message);
      },
      complete: () => {
        if (id === this.id && this.#receiver !== null) this.#ready(transport);
      },
      batch: (wire) => {
        if (id === this.id && transport.kind === 'message') this.#wire = wire(sink);
      },
      fail: (error, retry) => {
        if (id !== this.id) return;
        // Final or not, the error is reported and the attempt ends the usual way; a final
        // one then closes the link instead of retrying.
        this.#retry.refused = !retry;
        this.kill(id, error);
      },
      defer: (ms, reason) => {
        if (id !== this.id) return;
        this.#retry.defer(ms, reason);
        this.kill(id, undefined);
      },
    });
    // The handshake may have failed the attempt already (its HELLO could not be written).
    if (id === this.id && this.transport === transport) this.#receiver = receiver;
  }

  #ready(transport: Transport): void {
    this.#receiver = null;
    this.#timers.clear('connect');
    this.#host.ready(transport);
  }

  #closed(id: number, info: TransportCloseInfo): void {
    if (id !== this.id) return;
    const wire = this.#wire;
    this.detach();
    // A stream that ended inside a frame: reported, and nothing partial is delivered.
    try {
      wire?.end?.();
    } catch (err) {
      this.#emit('error', toSocklineError(err));
    }
    this.#host.closed(info);
  }

  /** Hands a message on as text (`true`), as bytes (`false`) or as it came (`undefined`). */
  #deliver(message: LinkMessage, text: boolean | undefined): void {
    let out = message;
    if (text === true && typeof message !== 'string') {
      try {
        out = utf8.decode(message);
      } catch (cause) {
        // One bad message is refused; the stream itself is intact (its framing held).
        this.#emit('error', new SocklineError(ErrorCodes.BAD_PAYLOAD, NOT_UTF8, { cause }));
        return;
      }
    } else if (text === false && typeof message === 'string') {
      out = encoder.encode(message);
    }
    const receiver = this.#receiver;
    if (receiver !== null) receiver.message(out);
    else this.#emit('message', out);
  }

  #data(data: Uint8Array | string): void {
    this.#heard = this.#config.clock.now();
    const wire = this.#wire;
    if (wire?.read === undefined || typeof data === 'string') {
      this.#deliver(data, this.#config.text);
      return;
    }
    try {
      wire.read(data);
    } catch (err) {
      // A framing violation poisons the stream: nothing after it can be trusted.
      const id = this.id;
      const error = toSocklineError(err);
      this.#receiver?.unreadable(error);
      this.kill(id, error);
    }
  }
}

/** Anything thrown or rejected, as the error the link reports (`ERR_TRANSPORT` unless typed). */
export function toSocklineError(err: unknown): SocklineError {
  if (err instanceof SocklineError) return err;
  const error = err instanceof Error ? err : new Error(String(err));
  return new SocklineError(ErrorCodes.TRANSPORT, error.message, { cause: err });
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

const NOT_UTF8 = 'discarded a message that is not UTF-8 (text: true)';
