/**
 * The transport contract as one suite, run against every transport (see transports.test.ts).
 *
 * Cases are grouped by capability rather than skipped: a case that cannot apply to a kind is
 * not declared for it, and each such place says why. Real sockets only ever run on real
 * timers; the "settle" waits below let late socket events arrive, they never time anything.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, isSocklineError, SocklineError } from '../../src/core/errors.js';
import type {
  Transport,
  TransportCloseInfo,
  TransportHandlers,
  TransportKind,
} from '../../src/core/transport.js';

export interface OpenOptions {
  /** @default 1048576 */
  highWaterMark?: number;
}

/**
 * What one transport under test provides to the suite. It is created synchronously, while the
 * suite declares its cases (which cases exist depends on `kind`); servers start in `start()`.
 */
export interface ContractTarget {
  readonly kind: TransportKind;
  /** Starts the servers; called once before the cases run. */
  start(): Promise<void>;
  /** Opens a transport to an echo server (text stays text, binary stays binary for message kinds). */
  open(handlers: TransportHandlers, options?: OpenOptions): Transport;
  /** Opens a transport to an address where nothing listens (or that refuses connections). */
  openUnreachable(handlers: TransportHandlers): Transport;
  /**
   * Makes the server end ('end') or abort ('reset') its side of every open connection.
   * Absent for connectionless kinds: a UDP peer cannot close anything we could observe.
   */
  dropConnections?(how: 'end' | 'reset'): void;
  /** Whether an abort by the peer reaches `onClose` with an error. */
  readonly abortIsError: boolean;
  /** Stops the servers. */
  close(): Promise<void>;
}

type EventType = 'open' | 'data' | 'drain' | 'softError' | 'close';
interface Event {
  type: EventType;
  value?: unknown;
}

/** A plain `Uint8Array` copy (a Node `Buffer` compares differently in some matchers). */
const bytesOf = (data: Uint8Array | string | undefined): Uint8Array =>
  typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data ?? []);

/** Records every handler call in order, and lets a test wait for a condition on them. */
export class Recorder {
  readonly events: Event[] = [];
  /** Bytes delivered so far (strings counted as UTF-8), kept as it goes so waits stay cheap. */
  byteCount = 0;
  readonly #counts: Record<EventType, number> = { open: 0, data: 0, drain: 0, softError: 0, close: 0 };
  readonly #waiters = new Set<() => void>();
  readonly handlers: TransportHandlers = {
    onOpen: () => this.#push('open'),
    onData: (data) => this.#push('data', data),
    onDrain: () => this.#push('drain'),
    onSoftError: (error) => this.#push('softError', error),
    onClose: (info) => this.#push('close', info),
  };

  #push(type: EventType, value?: unknown): void {
    this.events.push({ type, value });
    this.#counts[type]++;
    if (type === 'data') this.byteCount += bytesOf(value as Uint8Array | string).length;
    for (const check of this.#waiters) check();
  }

  count(type: EventType): number {
    return this.#counts[type];
  }

  /** Everything `onData` delivered, in order. */
  get data(): Array<Uint8Array | string> {
    return this.events.filter((e) => e.type === 'data').map((e) => e.value as Uint8Array | string);
  }

  /** The bytes `onData` delivered, concatenated (strings as UTF-8). */
  get bytes(): Uint8Array {
    const parts = this.data.map(bytesOf);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }

  get closeInfo(): TransportCloseInfo | undefined {
    return this.events.find((e) => e.type === 'close')?.value as TransportCloseInfo | undefined;
  }

  /** Events recorded after the first `onClose`: the contract says there are none. */
  get afterClose(): Event[] {
    const i = this.events.findIndex((e) => e.type === 'close');
    return i < 0 ? [] : this.events.slice(i + 1);
  }

  until(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!condition()) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
      check();
    });
  }

  opened(): Promise<void> {
    return this.until(() => this.count('open') > 0 || this.count('close') > 0).then(() => {
      if (this.count('open') === 0) throw new Error('closed before it opened', { cause: this.closeInfo });
    });
  }

  async closed(): Promise<TransportCloseInfo> {
    await this.until(() => this.count('close') > 0);
    return this.closeInfo!;
  }

  /** Resolves once `n` bytes (stream) or `n` messages (other kinds) have arrived. */
  received(kind: TransportKind, n: number): Promise<void> {
    return this.until(() => (kind === 'stream' ? this.byteCount : this.count('data')) >= n);
  }
}

/** Lets late socket events (if any) arrive before a test checks that none did. */
export const settle = (ms = 50): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Deterministic bytes 0..250 repeated, so a reordering or a loss shows up in a comparison. */
export function pattern(length: number, seed = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i + seed) % 251;
  return out;
}

/**
 * Byte-for-byte equality that stays fast on large arrays (a deep `toEqual` walks each element
 * through the generic matcher) and still says where they differ.
 */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  let at = 0;
  const n = Math.min(actual.length, expected.length);
  while (at < n && actual[at] === expected[at]) at++;
  expect({ length: actual.length, firstDifference: at }).toEqual({
    length: expected.length,
    firstDifference: expected.length,
  });
}

const isTransportError = (error: SocklineError | undefined): boolean =>
  error !== undefined && isSocklineError(error, 'ERR_TRANSPORT') && error instanceof Error;

/**
 * Declares the contract cases for one transport. `setup` runs while the cases are declared;
 * its servers start before the first case and stop after the last; every transport a case
 * opens is destroyed after that case.
 */
export function describeTransportContract(name: string, setup: () => ContractTarget): void {
  describe(`${name} transport contract`, () => {
    const target = setup();
    const opened: Transport[] = [];

    beforeAll(() => target.start());
    afterEach(() => {
      for (const t of opened.splice(0)) t.destroy();
    });
    afterAll(() => target.close());

    function open(rec: Recorder, options?: OpenOptions): Transport {
      const t = target.open(rec.handlers, options);
      opened.push(t);
      // No handler runs inside the factory: the caller must be able to store the transport first.
      expect(rec.events).toEqual([]);
      return t;
    }

    async function openAndWait(rec: Recorder, options?: OpenOptions): Promise<Transport> {
      const t = open(rec, options);
      await rec.opened();
      return t;
    }

    describe('echo', () => {
      it('opens, then echoes bytes in order', async () => {
        const rec = new Recorder();
        const t = await openAndWait(rec);
        expect(t.kind).toBe(target.kind);
        // A stream may cut the echo anywhere, so accumulate; message kinds keep boundaries,
        // so keep datagrams under the UDP default size.
        const payload = pattern(target.kind === 'stream' ? 256 * 1024 : 1000);
        expect(t.send(payload)).toBe(true);
        await rec.received(target.kind, target.kind === 'stream' ? payload.length : 1);
        expectSameBytes(rec.bytes, payload);
        if (target.kind !== 'stream') expect(rec.data[0]).toBeInstanceOf(Uint8Array);
        if (target.kind !== 'stream') expect(rec.count('data')).toBe(1);
      });

      // What a kind keeps differs, so each kind gets the case that says what it keeps.
      const binary = new Uint8Array([0, 1, 2, 0xff, 0x80]);
      const utf8Bytes = new TextEncoder().encode('plain ascii bytes');
      const text = 'héllo ✓ 𝄞';
      const textBytes = new TextEncoder().encode(text);
      const sendThree = async (rec: Recorder): Promise<void> => {
        const t = await openAndWait(rec);
        expect([t.send(binary), t.send(utf8Bytes), t.send(text)]).toEqual([true, true, true]);
      };

      if (target.kind === 'stream') {
        it('carries bytes and strings as one ordered byte stream (strings as UTF-8)', async () => {
          const rec = new Recorder();
          await sendThree(rec);
          await rec.received('stream', binary.length + utf8Bytes.length + textBytes.length);
          expect(rec.bytes).toEqual(new Uint8Array([...binary, ...utf8Bytes, ...textBytes]));
        });
      }
      if (target.kind === 'message') {
        it('keeps message boundaries, and text stays text and binary stays binary', async () => {
          const rec = new Recorder();
          await sendThree(rec);
          await rec.received('message', 3);
          const [a, b, c] = rec.data;
          expect(a).toBeInstanceOf(Uint8Array);
          expect(bytesOf(a)).toEqual(binary);
          expect(b).toBeInstanceOf(Uint8Array); // binary that happens to be valid UTF-8 stays binary
          expect(bytesOf(b)).toEqual(utf8Bytes);
          expect(c).toBe(text);
        });
      }
      if (target.kind === 'datagram') {
        it('keeps datagram boundaries; a string goes out as its UTF-8 bytes', async () => {
          const rec = new Recorder();
          await sendThree(rec);
          await rec.received('datagram', 3);
          // A datagram has no text type: everything comes back as bytes.
          expect(rec.data.map(bytesOf)).toEqual([binary, utf8Bytes, textBytes]);
        });
      }
    });

    describe('close', () => {
      it('reports onClose exactly once, with wasOpen true, after close()', async () => {
        const rec = new Recorder();
        const t = await openAndWait(rec);
        t.close();
        const info = await rec.closed();
        expect(info.wasOpen).toBe(true);
        expect(info.error).toBeUndefined();
        await settle();
        expect(rec.count('close')).toBe(1);
        expect(rec.afterClose).toEqual([]);
      });

      it('ends at once on destroy(error), reporting that error', async () => {
        const rec = new Recorder();
        const t = await openAndWait(rec);
        const error = new SocklineError(ErrorCodes.ABORTED, 'given up');
        t.destroy(error);
        expect(rec.closeInfo).toEqual({ error, wasOpen: true });
        await settle();
        expect(rec.count('close')).toBe(1);
      });

      for (const calls of [
        ['close', 'close'],
        ['destroy', 'close', 'destroy'],
      ] as const) {
        it(`aborts the attempt once, without an error, on ${calls.join('(), ')}() before open`, async () => {
          const rec = new Recorder();
          const t = open(rec);
          for (const call of calls) t[call]();
          t.ref();
          t.unref();
          const info = await rec.closed();
          expect(info.wasOpen).toBe(false);
          expect(info.error).toBeUndefined();
          t.close();
          t.destroy();
          await settle();
          expect(rec.events.map((e) => e.type)).toEqual(['close']);
        });
      }

      it('close() and destroy() are idempotent while closing and after onClose', async () => {
        const rec = new Recorder();
        const t = await openAndWait(rec);
        t.close();
        t.close();
        t.destroy(); // a graceful close that is taking long may always be cut short
        t.destroy();
        await rec.closed();
        t.close();
        t.destroy();
        t.ref();
        t.unref();
        await settle();
        expect(rec.count('close')).toBe(1);
        expect(rec.closeInfo?.wasOpen).toBe(true);
      });

      it('send() returns false without throwing once close() was called, and after onClose', async () => {
        const rec = new Recorder();
        const t = await openAndWait(rec);
        t.close();
        expect(t.send(pattern(10))).toBe(false);
        expect(t.send('text')).toBe(false);
        await rec.closed();
        expect(t.send(pattern(10))).toBe(false);
        expect(t.send('text')).toBe(false);
        await settle();
        expect(rec.count('close')).toBe(1);
        expect(rec.closeInfo?.error).toBeUndefined(); // a late send is no I/O error
      });

      for (const how of ['destroy', 'close'] as const) {
        it(`fires no callback after onClose while the peer keeps sending (${how}())`, async () => {
          const rec = new Recorder();
          const t = await openAndWait(rec);
          for (let i = 0; i < 50; i++) t.send(pattern(1000, i));
          await rec.until(() => rec.count('data') > 0);
          t[how]();
          await rec.closed();
          await settle();
          expect(rec.count('close')).toBe(1);
          expect(rec.afterClose).toEqual([]);
        });
      }

      if (target.kind !== 'datagram') {
        // Connection-oriented kinds only (the target declares dropConnections): a UDP peer
        // has no connection to end, so there is nothing it could close.
        for (const how of ['end', 'reset'] as const) {
          it(`reports onClose exactly once, with wasOpen true, when the peer ${how === 'end' ? 'closes' : 'aborts'}`, async () => {
            if (!target.dropConnections) throw new Error(`${name} must provide dropConnections`);
            const rec = new Recorder();
            const t = await openAndWait(rec);
            // One round trip first, so the server has surely accepted the connection (a TLS
            // server sees it only once its side of the handshake is done).
            t.send(pattern(1));
            await rec.received(target.kind, 1);
            target.dropConnections(how);
            const info = await rec.closed();
            expect(info.wasOpen).toBe(true);
            if (how === 'end') expect(info.error).toBeUndefined();
            else if (target.abortIsError) expect(isTransportError(info.error)).toBe(true);
            await settle();
            expect(rec.count('close')).toBe(1);
            expect(rec.afterClose).toEqual([]);
          });
        }
      }
    });

    describe('failure to open', () => {
      if (target.kind !== 'datagram') {
        it('reports a failed attempt once, with wasOpen false and ERR_TRANSPORT, when nothing listens', async () => {
          const rec = new Recorder();
          opened.push(target.openUnreachable(rec.handlers));
          expect(rec.events).toEqual([]);
          const info = await rec.closed();
          expect(info.wasOpen).toBe(false);
          expect(isTransportError(info.error)).toBe(true);
          await settle();
          expect(rec.events.map((e) => e.type)).toEqual(['close']);
        });
      } else {
        // UDP has no handshake, so nothing can fail while opening: it opens, and the ICMP port
        // unreachable that answers the first datagram comes back as a soft error instead.
        it('reports a peer where nothing listens as a soft error, and stays open and usable', async () => {
          const rec = new Recorder();
          const t = target.openUnreachable(rec.handlers);
          opened.push(t);
          await rec.opened();
          t.send(pattern(10));
          await rec.until(() => rec.count('softError') > 0);
          const error = rec.events.find((e) => e.type === 'softError')?.value as SocklineError;
          expect(isTransportError(error)).toBe(true);
          expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
          expect(rec.count('close')).toBe(0);
          expect(() => t.send(pattern(10))).not.toThrow();
          t.close();
          expect((await rec.closed()).wasOpen).toBe(true);
        });
      }
    });

    describe('backpressure', () => {
      it('send() returns false above highWaterMark, then onDrain fires and nothing is lost', async () => {
        const rec = new Recorder();
        const t = await openAndWait(rec, { highWaterMark: 1 });
        // Small writes: a stream socket takes them synchronously until the kernel buffers
        // fill (nobody reads the echo while this loop runs), then they queue in user space.
        const chunk = pattern(Math.min(1024, t.maxMessageSize));
        let sent = 0;
        let accepted = true;
        for (let i = 0; i < 65536 && accepted; i++) {
          accepted = t.send(chunk);
          sent++;
        }
        expect(accepted).toBe(false);
        expect(t.bufferedAmount).toBeGreaterThan(1);
        await rec.until(() => rec.count('drain') > 0);
        expect(rec.count('drain')).toBe(1);
        expect(t.bufferedAmount).toBeLessThanOrEqual(1);
        if (target.kind === 'datagram') return; // UDP may drop under load; loopback rarely does, but may
        await rec.received(target.kind, target.kind === 'stream' ? sent * chunk.length : sent);
        expect(rec.byteCount).toBe(sent * chunk.length);
      });
    });
  });
}
