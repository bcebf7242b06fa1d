import type { Clock } from '../clock.js';
import type { Transport } from '../transport.js';
import { toSocklineError, type Attempts, type LinkEmit } from './attempts.js';
import type { ResolvedLinkOptions } from './options.js';
import { Outbox, type QueuedMessage } from './outbox.js';
import type { LinkTimers } from './timers.js';
import type { LinkMessage, SendResult } from './types.js';

/**
 * The outbox of a link while it is down: the bounded queue itself, each message's `ttl`
 * (one timer, for the earliest expiry) and the flush into the next transport that opens.
 * Every message that leaves without being written is reported (`drop` with its reason, or
 * `expire`), so nothing leaves silently.
 *
 * @example
 * pending.add(message, ttl);           // 'queued' or 'dropped'
 * pending.flush(attempts, transport);  // on open, in order
 */
export class Pending extends Outbox<LinkMessage> {
  readonly #clock: Clock;
  readonly #timers: LinkTimers;
  readonly #emit: LinkEmit;

  constructor(options: Pick<ResolvedLinkOptions, 'outbox' | 'clock'>, timers: LinkTimers, emit: LinkEmit) {
    super(options.outbox);
    this.#clock = options.clock;
    this.#timers = timers;
    this.#emit = emit;
  }

  /** Queues a message for `ttl` ms. Throws `ERR_QUEUE_FULL` under the `reject` policy. */
  add(message: LinkMessage, ttl: number): SendResult {
    const item: QueuedMessage<LinkMessage> = {
      message,
      size: sizeOf(message),
      expiresAt: this.#clock.now() + ttl,
    };
    const dropped = this.push(item);
    for (const d of dropped) this.#emit('drop', d.message, 'overflow');
    if (dropped.includes(item)) return 'dropped';
    this.#armExpiry();
    return 'queued';
  }

  /** Writes the outbox in order. A message the transport cannot carry is dropped as `invalid`. */
  flush(attempts: Attempts, transport: Transport): void {
    this.#expireNow();
    let item = this.shift();
    while (item !== undefined && attempts.transport === transport) {
      try {
        attempts.write(item.message);
      } catch (err) {
        this.#emit('error', toSocklineError(err));
        this.#emit('drop', item.message, 'invalid');
      }
      item = this.shift();
    }
    this.#timers.clear('expiry');
  }

  /** The link closed: every waiting message is dropped as `closed`. */
  dropAll(): void {
    for (const item of this.clear()) this.#emit('drop', item.message, 'closed');
  }

  #armExpiry(): void {
    const next = this.nextExpiry;
    if (next === Infinity || this.#timers.has('expiry')) return;
    const delay = Math.max(0, next - this.#clock.now());
    this.#timers.set(
      'expiry',
      () => {
        this.#expireNow();
        this.#armExpiry();
      },
      delay,
    );
  }

  #expireNow(): void {
    for (const item of this.expire(this.#clock.now())) this.#emit('expire', item.message);
  }
}

/** Outbox accounting: bytes for binary, UTF-16 code units for text (encoded when written). */
function sizeOf(message: LinkMessage): number {
  return typeof message === 'string' ? message.length : message.byteLength;
}
