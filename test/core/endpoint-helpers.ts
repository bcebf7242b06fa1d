import type { Clock } from '../../src/core/clock.js';
import type { SocklineError } from '../../src/core/errors.js';
import { jsonCodec } from '../../src/core/protocol/codec.js';
import type { OutgoingMessage } from '../../src/core/protocol/endpoint/delivery.js';
import { Endpoint, type EndpointHost, type Welcomed } from '../../src/core/protocol/endpoint/endpoint.js';
import { createAnswers } from '../../src/core/protocol/endpoint/answers.js';
import { sessionDefaults, type EndpointConfig } from '../../src/core/protocol/endpoint/options.js';
import {
  Capabilities,
  PROTOCOL_VERSION,
  type CloseFrame,
  type Frame,
  type PayloadKind,
  type WelcomeFrame,
} from '../../src/core/protocol/frames.js';
import { allFrames, clientFrames, decodeFrame } from '../../src/core/protocol/frames-decode.js';
import { encodeFrame } from '../../src/core/protocol/frames-encode.js';

/** The capability bits of this version's client HELLO. */
export const CLIENT_CAPABILITIES =
  Capabilities.RELIABLE |
  Capabilities.PUBSUB |
  Capabilities.RPC |
  Capabilities.BATCH |
  Capabilities.SUBREFUSE;

/** A clock that only tells the time: the endpoint has no timers, so `setTimeout` must never run. */
export interface FakeClock extends Clock {
  t: number;
}

export function fakeClock(start = 1_000): FakeClock {
  const clock: FakeClock = {
    t: start,
    now: () => clock.t,
    setTimeout: () => {
      throw new Error('the endpoint must not start a timer');
    },
    clearTimeout: () => {
      throw new Error('the endpoint must not clear a timer');
    },
  };
  return clock;
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const json = (v: unknown): Uint8Array => text(JSON.stringify(v));

/** A frame body, as the peer would send it. */
export const bytes = (frame: Frame): Uint8Array => encodeFrame(frame);

/** A DATA frame carrying `value` as JSON. */
export function data(value: unknown, seq?: number, ack?: number): Uint8Array {
  return bytes({
    type: 'data',
    kind: 'value',
    payload: json(value),
    ...(seq !== undefined ? { seq } : {}),
    ...(ack !== undefined ? { ack } : {}),
  });
}

export function welcome(fields: Partial<WelcomeFrame> = {}): WelcomeFrame {
  return {
    type: 'welcome',
    version: PROTOCOL_VERSION,
    sessionId: 's1',
    resumed: false,
    heartbeatInterval: 1_000,
    heartbeatTimeout: 500,
    lastSeq: 0,
    maxFrameSize: 1 << 20,
    maxInFlight: 100,
    resumeWindow: 60_000,
    maxMessageSize: 0,
    maxStreams: 0,
    ...fields,
  };
}

/** What an endpoint wrote and told, in order. */
export class Recorder implements EndpointHost {
  /** Every frame written, decoded. */
  readonly frames: Frame[] = [];
  /** Whether each frame of `frames` was written `volatile` (it may be lost). */
  readonly volatile: boolean[] = [];
  /** Every `wake(at)`. */
  readonly wakes: number[] = [];
  /** Events as short strings, for order checks. */
  readonly events: string[] = [];
  readonly messages: unknown[] = [];
  readonly published: Array<{
    topic: string;
    kind: PayloadKind;
    payload: Uint8Array;
    seq: number | undefined;
  }> = [];
  readonly errors: SocklineError[] = [];
  readonly drops: Array<{ message: OutgoingMessage; reason: string }> = [];
  readonly handlers = new Map<string, (params: unknown) => unknown>();
  ended: { code: number; error: SocklineError } | undefined;
  closedBy: CloseFrame | undefined;
  /** Set to make `write` report backpressure. */
  accepting = true;

  constructor(readonly role: 'client' | 'server') {}

  write(frame: Uint8Array, _seq?: number, volatile?: boolean): boolean {
    this.frames.push(decodeFrame(frame));
    this.volatile.push(volatile === true);
    return this.accepting;
  }

  wake(at: number): void {
    this.wakes.push(at);
  }

  end(code: number, error: SocklineError): void {
    this.ended = { code, error };
    this.events.push(`end ${code}`);
  }

  closed(frame: CloseFrame): void {
    this.closedBy = frame;
    this.events.push(`closed ${frame.code}`);
  }

  message(value: unknown, seq: number | undefined): void {
    this.messages.push(value);
    this.events.push(`message ${seq ?? '-'}`);
  }

  handler(method: string): ((params: unknown) => unknown) | undefined {
    return this.handlers.get(method);
  }

  error(error: SocklineError): void {
    this.errors.push(error);
  }

  dropped(message: OutgoingMessage, reason: string): void {
    this.drops.push({ message, reason });
  }

  /** Frames written since the last call, then forgets them. */
  take(): Frame[] {
    this.volatile.length = 0;
    return this.frames.splice(0);
  }
}

/** The host of a client endpoint. */
export class ClientRecorder extends Recorder {
  constructor() {
    super('client');
  }
}

/**
 * What the client role does with a WELCOME its handshake read: the endpoint applies it (the
 * session events are recorded as the client would emit them), then opens.
 */
export function welcomeClient(endpoint: Endpoint, host: Recorder, frame: WelcomeFrame = welcome()): Welcomed {
  const result = endpoint.welcomed(frame);
  host.events.push(`session ${frame.sessionId} ${result.resumed ? 'resumed' : 'fresh'}`);
  if (result.previousId !== undefined) host.events.push(`lost ${result.previousId} resent ${result.resent}`);
  endpoint.open();
  return result;
}

/** The host of a server endpoint. */
export class ServerRecorder extends Recorder {
  readonly subscribedTo: string[] = [];
  /** Subscriptions held at most: one more is refused with this reason. */
  maxSubscriptions = Infinity;
  /** Every `handlerFailed(method, error)`. */
  readonly failures: Array<{ method: string; error: unknown }> = [];

  constructor() {
    super('server');
  }

  publish(topic: string, kind: PayloadKind, payload: Uint8Array, seq: number | undefined): void {
    this.published.push({ topic, kind, payload, seq });
    this.events.push(`publish ${topic}`);
  }

  subscribed(pattern: string): string | undefined {
    if (this.subscribedTo.length >= this.maxSubscriptions) {
      this.events.push(`refused ${pattern}`);
      return `at most ${this.maxSubscriptions}`;
    }
    this.subscribedTo.push(pattern);
    this.events.push(`subscribed ${pattern}`);
    return undefined;
  }

  handlerFailed(method: string, error: unknown): void {
    this.failures.push({ method, error });
    this.events.push(`failed ${method}`);
  }

  unsubscribed(pattern: string): void {
    this.subscribedTo.splice(this.subscribedTo.indexOf(pattern), 1);
    this.events.push(`unsubscribed ${pattern}`);
  }
}

/** Small delivery limits for tests: 100 messages or 1 MiB each way, the default ack delay. */
export const limits = Object.freeze({
  maxMessages: 100,
  maxBytes: 1 << 20,
  overflow: 'reject' as const,
  replayMessages: 100,
  replayBytes: 1 << 20,
  ackDelay: sessionDefaults.ackDelay,
});

export function clientConfig(clock: Clock, overrides: Partial<EndpointConfig> = {}): EndpointConfig {
  return {
    role: 'client',
    frames: clientFrames,
    codec: jsonCodec(),
    clock,
    delivery: { ...limits, maxFrameSize: 1 << 20 },
    requestTimeout: 5_000,
    maxInFlight: 10,
    maxAnswering: Infinity,
    answers: createAnswers,
    exposeErrors: false,
    resume: true,
    maxHandshakeSize: sessionDefaults.maxHandshakeSize,
    announce: null,
    transfers: null,
    limits: { maxFrameSize: 1 << 20, maxMessageSize: 64 << 20, maxStreams: 16, streamWindow: 1 << 20 },
    budget: null,
    ...overrides,
  };
}

export function serverConfig(clock: Clock, overrides: Partial<EndpointConfig> = {}): EndpointConfig {
  return {
    role: 'server',
    frames: allFrames,
    codec: jsonCodec(),
    clock,
    delivery: { ...limits, overflow: 'drop-oldest', maxFrameSize: 1 << 20 },
    requestTimeout: 5_000,
    maxInFlight: 10,
    maxAnswering: 2,
    answers: createAnswers,
    exposeErrors: false,
    resume: true,
    maxHandshakeSize: sessionDefaults.maxHandshakeSize,
    announce: {
      heartbeatInterval: 1_000,
      heartbeatTimeout: 500,
      maxFrameSize: 1 << 20,
      resumeWindow: 60_000,
    },
    transfers: null,
    limits: { maxFrameSize: 1 << 20, maxMessageSize: 64 << 20, maxStreams: 16, streamWindow: 1 << 20 },
    budget: null,
    ...overrides,
  };
}

/** A client endpoint that sent HELLO and read `welcomeFrame` (opened unless the host says otherwise). */
export function openClient(
  clock: FakeClock,
  overrides: Partial<EndpointConfig> = {},
  welcomeFrame: WelcomeFrame = welcome(),
): { endpoint: Endpoint; host: ClientRecorder } {
  const host = new ClientRecorder();
  const endpoint = new Endpoint(clientConfig(clock, overrides), host);
  endpoint.hello(undefined);
  welcomeClient(endpoint, host, welcomeFrame);
  return { endpoint, host };
}

/** A server endpoint that welcomed a client (of HELLO `capabilities`) and opened. */
export function openServer(
  clock: FakeClock,
  overrides: Partial<EndpointConfig> = {},
  capabilities = CLIENT_CAPABILITIES,
): { endpoint: Endpoint; host: ServerRecorder } {
  const host = new ServerRecorder();
  const endpoint = new Endpoint(serverConfig(clock, overrides), host);
  endpoint.accepted('s1', 0, capabilities, undefined);
  endpoint.open();
  return { endpoint, host };
}

/** The payload of a DATA/PUBLISH/RESPONSE frame, decoded as JSON. */
export function valueOf(frame: Frame): unknown {
  if (!('payload' in frame)) throw new Error(`${frame.type} has no payload`);
  return JSON.parse(new TextDecoder().decode(frame.payload));
}
