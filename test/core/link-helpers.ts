import { vi } from 'vitest';
import { Link, type LinkConfig } from '../../src/core/link/link.js';
import { byteWires } from '../../src/core/link/byte-wires.js';
import { resolveLinkOptions, type LinkOptions } from '../../src/core/link/options.js';
import { createFraming, type Framing, type FramingName } from '../../src/core/framing/index.js';
import { MemoryServer, type MemoryServerEnd } from '../../src/core/memory-transport.js';
import type { TransportKind } from '../../src/core/transport.js';

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | string): string =>
  typeof b === 'string' ? b : new TextDecoder().decode(b);

/** A length-prefixed frame, as the default framing writes it. */
export function frame(payload: string | Uint8Array): Uint8Array {
  const body = typeof payload === 'string' ? bytes(payload) : payload;
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

export interface Harness {
  server: MemoryServer;
  link: Link;
  /** Server-side ends in the order they connected. */
  ends: MemoryServerEnd[];
  /** Every chunk the server received, concatenated per connection. */
  received: Uint8Array[][];
  events: string[];
}

/**
 * A link over the memory transport with fake timers. Deterministic randomness (0.5) so
 * backoff delays are exact: with full jitter, delay = ceiling / 2.
 */
export function harness(
  options: LinkOptions & { kind?: TransportKind; text?: boolean; framing?: FramingName | Framing } = {},
): Harness {
  const server = new MemoryServer({ kind: options.kind ?? 'stream' });
  const ends: MemoryServerEnd[] = [];
  const received: Uint8Array[][] = [];
  server.onConnection = (end) => {
    const chunks: Uint8Array[] = [];
    ends.push(end);
    received.push(chunks);
    end.onData = (d) => chunks.push(typeof d === 'string' ? bytes(d) : d);
  };
  const config: LinkConfig = {
    ...resolveLinkOptions({ random: () => 0.5, ...options }),
    connector: (handlers) =>
      server.connect(new URL('tcp://memory:1'), handlers, {
        highWaterMark: options.highWaterMark ?? 1 << 20,
      }),
    framing: createFraming(options.framing ?? 'length'),
    wire: byteWires,
    text: options.text ?? false,
  };
  const link = new Link(config);
  const events: string[] = [];
  link.on('state', ({ to }) => events.push(to));
  return { server, link, ends, received, events };
}

/** Lets microtasks and zero-delay deliveries run without moving the fake clock. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(0);
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
