import type { FragmentInfo } from './packet.js';

/** The limits a reassembly enforces (docs/udp.md §5.2). */
export interface ReassemblyLimits {
  readonly maxFragments: number;
  readonly maxMessageSize: number;
  readonly reassemblyTimeout: number;
}

/**
 * Rebuilds one fragmented message at a time from fragments that arrive in packet-number order
 * (the reliable channel delivers them so): fragment 0 starts a message, each next index
 * continues it, the last completes it. Anything else (a missing start, an index out of turn,
 * too many fragments, too many bytes, too old) drops the message being built.
 */
export class Reassembly {
  readonly #limits: ReassemblyLimits;
  #messageId = 0;
  #count = 0;
  #started = 0;
  #bytes = 0;
  #parts: Uint8Array[] | null = null;

  constructor(limits: ReassemblyLimits) {
    this.#limits = limits;
  }

  /** Forgets a message in progress; returns whether there was one (it is dropped). */
  reset(): boolean {
    const had = this.#parts !== null;
    this.#parts = null;
    this.#bytes = 0;
    return had;
  }

  /** Adds a fragment: the whole message when it completes one, else `partial` or `dropped`. */
  add(f: FragmentInfo, payload: Uint8Array, now: number): Uint8Array | 'partial' | 'dropped' {
    if (f.index === 0) {
      this.reset();
      if (f.count > this.#limits.maxFragments) return 'dropped';
      this.#messageId = f.messageId;
      this.#count = f.count;
      this.#started = now;
      this.#parts = [];
    } else if (
      this.#parts === null ||
      this.#messageId !== f.messageId ||
      this.#count !== f.count ||
      this.#parts.length !== f.index
    ) {
      this.reset();
      return 'dropped';
    }
    const parts = this.#parts;
    this.#bytes += payload.byteLength;
    const { maxMessageSize, reassemblyTimeout } = this.#limits;
    if (this.#bytes > maxMessageSize || now - this.#started > reassemblyTimeout) {
      this.reset();
      return 'dropped';
    }
    parts.push(payload);
    if (parts.length < this.#count) return 'partial';
    const whole = new Uint8Array(this.#bytes);
    let at = 0;
    for (const p of parts) {
      whole.set(p, at);
      at += p.byteLength;
    }
    this.reset();
    return whole;
  }
}
