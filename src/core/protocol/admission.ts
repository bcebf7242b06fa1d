import { systemClock, type Clock } from '../clock.js';

/** How fast a server takes new handshakes: a token bucket. */
export interface AdmissionOptions {
  /** Handshakes admitted per second, on average. @default 500 */
  readonly rate: number;
  /** Handshakes admitted at once after a quiet spell (the bucket's size). @default 20 */
  readonly burst: number;
}

/** Decides, for each HELLO, whether it is handled now or told to come back later. */
export interface Admission {
  /** 0: handle the HELLO now. Otherwise the `reconnectAfter` to answer with, in ms (> 0). */
  admit(): number;
}

/** Defaults of {@link AdmissionOptions}. */
export const admissionDefaults = Object.freeze({ rate: 500, burst: 20 });

/**
 * A slot whose time came is kept this long for its client to come back; after that it is
 * forgotten (the client, if it comes later, queues again). Covers the client's timer, its
 * reconnect and a busy event loop.
 */
const CLAIM_GRACE = 1_000;

/** Drop used slots from the front of the queue once this many have piled up. */
const COMPACT_AT = 1_024;

/**
 * Admission control for handshakes: a token bucket of `burst` tokens refilled at `rate` per
 * second, and a queue. Every admitted HELLO takes a token, so over any interval of `t` ms at
 * most `burst + rate × t / 1000` HELLOs are admitted, whatever the clients do.
 *
 * A HELLO that finds no token is not turned away at random: it is given a **slot**, the next
 * free one at `1000 / rate` ms after the last slot given (or when the bucket next has a token),
 * and told to come back then (`reconnectAfter`, plus up to one slot of jitter). The returning
 * clients arrive as an even stream of `rate` HELLOs a second, each when a token is there for
 * it, instead of as a second wave: N clients are all back after about N / rate seconds.
 *
 * Order is kept: while slots are waiting, a HELLO that does not come for a slot that is due
 * queues behind them even if a token is there (HELLOs carry no ticket, so a HELLO that
 * arrives while a slot is due takes that slot). A client that finds no token at its slot
 * (the server was stalled and many came at once) queues again at the end. A slot further
 * than `maxWait` away is not given: that client is told to come back after a random
 * `[maxWait / 2, maxWait]`, and queues then. A refusal costs a number in the queue, nothing else.
 */
export class TokenBucketAdmission implements Admission {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxWait: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  #tokens: number;
  #updated: number;
  /** Times of the slots given and not yet used, ascending; `#head` is the first live one. */
  #slots: number[] = [];
  #head = 0;
  /** The time of the last slot given. */
  #last = -Infinity;
  #refused = 0;

  constructor(
    options: AdmissionOptions & { readonly maxWait: number },
    clock: Clock = systemClock,
    random: () => number = Math.random,
  ) {
    validateAdmission(options);
    if (!(options.maxWait > 0)) throw new RangeError(`Invalid option maxWait: ${String(options.maxWait)}`);
    this.#rate = options.rate;
    this.#burst = options.burst;
    this.#maxWait = options.maxWait;
    this.#clock = clock;
    this.#random = random;
    this.#tokens = options.burst;
    this.#updated = clock.now();
  }

  /** HELLOs told to come back later, since this gate was made. */
  get refused(): number {
    return this.#refused;
  }

  /** Slots given and not yet used (or forgotten). */
  get waiting(): number {
    return this.#slots.length - this.#head;
  }

  admit(): number {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#updated) * this.#rate) / 1000);
    this.#updated = now;
    const slots = this.#slots;
    while (this.#head < slots.length && slots[this.#head]! < now - CLAIM_GRACE) this.#head++;
    // A HELLO for a slot that is due (the oldest one), or one that finds no queue.
    const due = this.#head < slots.length && slots[this.#head]! <= now;
    if (due) this.#head++;
    this.#compact();
    if ((due || this.#head === slots.length) && this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    this.#refused++;
    const interval = 1000 / this.#rate;
    const slot = Math.max(this.#last + interval, now + (1 - this.#tokens) * interval);
    if (slot - now > this.#maxWait) return Math.ceil(this.#maxWait * (0.5 + 0.5 * this.#random()));
    slots.push(slot);
    this.#last = slot;
    return Math.max(1, Math.ceil(slot - now + this.#random() * interval));
  }

  #compact(): void {
    const slots = this.#slots;
    if (this.#head === slots.length) {
      slots.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AT) {
      slots.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/** Throws a RangeError naming the option when `rate` or `burst` is not a finite number ≥ its minimum. */
export function validateAdmission(options: AdmissionOptions): void {
  const { rate, burst } = options;
  if (typeof rate !== 'number' || !(rate > 0) || !Number.isFinite(rate))
    throw new RangeError(`Invalid option admission.rate: ${String(rate)}`);
  if (typeof burst !== 'number' || !(burst >= 1) || !Number.isFinite(burst))
    throw new RangeError(`Invalid option admission.burst: ${String(burst)}`);
}
