import type { SocklineError } from '../../src/core/errors.js';
import { Endpoint } from '../../src/core/protocol/endpoint/endpoint.js';
import type { EndpointConfig } from '../../src/core/protocol/endpoint/options.js';
import type { ReceiveBudget } from '../../src/core/protocol/endpoint/transfer.js';
import { decodeFrame, isStreamFrame } from '../../src/core/protocol/frames-decode.js';
import {
  decodeStreamFrame,
  encodeStreamFrame,
  type StreamFrame,
} from '../../src/core/protocol/frames-stream.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';
import type { Frame } from '../../src/core/protocol/frames.js';
import { streams } from '../../src/core/streams/index.js';
import type { IncomingStream } from '../../src/core/streams/types.js';
import {
  ClientRecorder,
  CLIENT_CAPABILITIES,
  clientConfig,
  fakeClock,
  ServerRecorder,
  serverConfig,
  welcome,
  type FakeClock,
  type Recorder,
} from './endpoint-helpers.js';
import { Capabilities } from '../../src/core/protocol/frames.js';

/** A frame as the peer would see it: a core frame, or a stream frame. */
export type AnyFrame = Frame | StreamFrame;

export function decodeAny(bytes: Uint8Array): AnyFrame {
  return isStreamFrame(bytes) ? decodeStreamFrame(bytes) : decodeFrame(bytes);
}

/** What one side of a {@link Pair} records besides what its Recorder does. */
interface Side {
  readonly endpoint: Endpoint;
  readonly host: Recorder & { streams: IncomingStream[]; wrote: AnyFrame[] };
  /** Frame bodies written and not yet delivered to the other side. */
  readonly wire: Uint8Array[];
}

/** Limits of both sides, small enough for tests: 1 MiB frames, 8 MiB messages, 2 streams, 256 KiB windows. */
export const testLimits = Object.freeze({
  maxFrameSize: 1 << 20,
  maxMessageSize: 8 << 20,
  maxStreams: 2,
  streamWindow: 256 << 10,
});

/** Lets the promise jobs of WHATWG streams run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/**
 * A client endpoint and a server endpoint with streams, joined in memory: what one writes
 * the other receives when `flush()` runs. `cut()` loses what is on the wire and detaches both;
 * `resume()` attaches them again the way the handshake does. `room` is what both
 * connections report they take before their high-water mark (chunks wait while it is 0).
 */
export class Pair {
  readonly clock: FakeClock = fakeClock();
  readonly client: Side;
  readonly server: Side;
  room = Infinity;
  /** Every frame either side wrote, in order, with who wrote it. */
  readonly log: Array<{ from: 'client' | 'server'; frame: AnyFrame }> = [];

  constructor(
    options: {
      client?: Partial<EndpointConfig>;
      server?: Partial<EndpointConfig>;
      budget?: ReceiveBudget;
      clientStreams?: boolean;
    } = {},
  ) {
    const limits = { ...testLimits };
    const clientStreams = options.clientStreams !== false;
    this.client = this.#side(
      new ClientRecorder(),
      clientConfig(this.clock, {
        transfers: clientStreams ? streams : null,
        limits,
        delivery: { ...clientConfig(this.clock).delivery, replayBytes: 4 << 20 },
        ...options.client,
      }),
      'client',
    );
    this.server = this.#side(
      new ServerRecorder(),
      serverConfig(this.clock, {
        transfers: streams,
        limits,
        budget: options.budget ?? null,
        maxAnswering: 10,
        delivery: { ...serverConfig(this.clock).delivery, replayBytes: 4 << 20 },
        ...options.server,
      }),
      'server',
    );
    this.client.endpoint.hello(undefined);
    this.#handshake(false, clientStreams);
  }

  #side(host: Recorder, config: EndpointConfig, name: 'client' | 'server'): Side {
    const side = host as Side['host'];
    side.streams = [];
    side.wrote = [];
    const wire: Uint8Array[] = [];
    const write = host.write.bind(host);
    host.write = (frame: Uint8Array): boolean => {
      const decoded = decodeAny(frame);
      side.wrote.push(decoded);
      this.log.push({ from: name, frame: decoded });
      wire.push(frame);
      // The Recorder decodes core frames only.
      if (!isStreamFrame(frame)) write(frame);
      return true;
    };
    (host as unknown as { room(): number }).room = () => this.room;
    (host as unknown as { stream(s: unknown): boolean }).stream = (stream) => {
      side.streams.push(stream as IncomingStream);
      return true;
    };
    const endpoint = new Endpoint(config, host);
    return { endpoint, host: side, wire };
  }

  #handshake(resumed: boolean, clientStreams: boolean): void {
    const { client, server } = this;
    const limits = server.endpoint === undefined ? testLimits : testLimits;
    server.endpoint.accepted(
      's1',
      resumed ? client.endpoint.delivery.received : 0,
      CLIENT_CAPABILITIES | (clientStreams ? Capabilities.LARGE | Capabilities.STREAMS : 0),
      clientStreams
        ? {
            maxFrameSize: limits.maxFrameSize,
            maxMessageSize: limits.maxMessageSize,
            maxStreams: limits.maxStreams,
          }
        : undefined,
    );
    client.endpoint.welcomed(
      welcome({
        resumed,
        lastSeq: resumed ? server.endpoint.delivery.received : 0,
        maxFrameSize: limits.maxFrameSize,
        maxMessageSize: limits.maxMessageSize,
        maxStreams: limits.maxStreams,
      }),
    );
    server.endpoint.open();
    client.endpoint.open();
  }

  /**
   * Delivers what is on the wire, both ways, until nothing moves (`max` frames at most per
   * round), letting promise jobs run between rounds; ticks the clock by `ackDelay` so acks go.
   */
  async flush(rounds = 200): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      const moved = this.client.wire.length + this.server.wire.length;
      for (const frame of this.client.wire.splice(0)) this.server.endpoint.receive(frame);
      for (const frame of this.server.wire.splice(0)) this.client.endpoint.receive(frame);
      await settle();
      this.clock.t += 20;
      this.client.endpoint.tick(this.clock.t);
      this.server.endpoint.tick(this.clock.t);
      if (moved === 0 && this.client.wire.length + this.server.wire.length === 0) return;
    }
  }

  /** The connection drops: what was on its way is lost, both sides detach. */
  cut(error: SocklineError): void {
    this.client.wire.length = 0;
    this.server.wire.length = 0;
    this.client.endpoint.detach(error);
    this.server.endpoint.detach(error);
  }

  /** A new connection resumes the session. */
  resume(): void {
    this.client.endpoint.hello(undefined);
    this.#handshake(true, true);
  }
}

/** Bytes 0..n-1 mod 251, recognizable at any offset. */
export function pattern(n: number, from = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (from + i) % 251;
  return out;
}

/** Reads a whole stream into one buffer. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value!);
    total += value!.byteLength;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Whether two byte arrays hold the same bytes (`toEqual` is far too slow for megabytes). */
export function sameBytes(a: unknown, b: Uint8Array): boolean {
  return a instanceof Uint8Array && Buffer.compare(a, b) === 0;
}

/** The OPEN of a message stream `id` (sequence number `seq`) carrying a DATA of `size` bytes. */
export function messageOpen(seq: number, id: number, size: number): Uint8Array {
  const empty = new Uint8Array(0);
  const header = encodeFrame({ type: 'data', kind: 'binary', payload: empty });
  return encodeStreamFrame({
    type: 'open',
    seq,
    id,
    message: { size, header },
    kind: 'binary',
    payload: empty,
  });
}
