import type { RawLinkOptions } from '../../core/connect-link.js';
import type { DisconnectInfo, ResolvedLinkOptions } from '../../core/link/options.js';
import { systemClock } from '../../core/clock.js';
import {
  optionModeError,
  optionRangeError,
  optionTypeError,
  unknownOptionError,
} from '../../core/options/messages.js';
import type { WebSocketConstructor } from '../../core/websocket-transport.js';

/**
 * What the compact link reads of its options: the link's and those a WebSocket honours
 * (`protocols`, `WebSocket`); `text` applies to raw mode. Names and types are the caller's
 * to check (`connectRaw()` checks raw mode's); ranges are checked here, once.
 */
export type CompactLinkOptions = Omit<RawLinkOptions, 'protocol' | 'framing'>;

/**
 * `CompactLinkOptions` with the defaults of `linkDefaults` applied and every range checked:
 * the link's resolved options (`shouldReconnect` may be left out), and the WebSocket's.
 */
export interface CompactConfig extends Omit<ResolvedLinkOptions, 'shouldReconnect'> {
  readonly shouldReconnect: ((info: DisconnectInfo) => boolean) | undefined;
  readonly protocols: string | string[] | undefined;
  readonly text: boolean | undefined;
  readonly WebSocket: WebSocketConstructor;
}

/**
 * Checks option `name` (a number) against `min`..`max` and returns it, or `fallback` when it
 * is undefined. `Infinity` passes only where `max` is `Infinity` (unlimited).
 */
const num = (
  name: string,
  value: number | undefined,
  fallback: number,
  min = 0,
  max = Number.MAX_VALUE,
): number => {
  if (value === undefined) return fallback;
  if (!(value >= min && value <= max)) throw optionRangeError(name, value);
  return value;
};

/** Applies the defaults (those of `linkDefaults`) and checks the ranges, as `resolveLinkOptions` does. */
export function resolveCompact(options: CompactLinkOptions, WebSocket: WebSocketConstructor): CompactConfig {
  const { reconnect: r, outbox: o = {}, idleTimeout: idle = false } = options;
  const overflow = o.overflow ?? 'reject';
  if (!/^(reject|drop-(oldest|newest))$/.test(overflow)) throw optionRangeError('outbox.overflow', overflow);
  let reconnect: CompactConfig['reconnect'] = false;
  if (r !== false) {
    const initialDelay = num('reconnect.initialDelay', r?.initialDelay, 500);
    reconnect = {
      initialDelay,
      // Never below initialDelay, which would make the first delay the longest.
      maxDelay: num('reconnect.maxDelay', r?.maxDelay, Math.max(1e4, initialDelay), initialDelay),
      multiplier: num('reconnect.multiplier', r?.multiplier, 2, 1),
      jitter: num('reconnect.jitter', r?.jitter, 1, 0, 1),
      maxRetries: num('reconnect.maxRetries', r?.maxRetries, Infinity, 0, Infinity),
      minUptime: num('reconnect.minUptime', r?.minUptime, 5e3),
    };
  }
  return {
    reconnect,
    connectTimeout: num('connectTimeout', options.connectTimeout, 1e4, Number.MIN_VALUE, Infinity),
    idleTimeout: idle === false ? idle : num('idleTimeout', idle, 0, Number.MIN_VALUE),
    closeTimeout: num('closeTimeout', options.closeTimeout, 5e3),
    highWaterMark: num('highWaterMark', options.highWaterMark, 1 << 20),
    outbox: {
      maxMessages: num('outbox.maxMessages', o.maxMessages, 1e3, 0, Infinity),
      maxBytes: num('outbox.maxBytes', o.maxBytes, 1 << 20, 0, Infinity),
      overflow,
      ttl: num('outbox.ttl', o.ttl, Infinity, Number.MIN_VALUE, Infinity),
    },
    shouldReconnect: options.shouldReconnect,
    signal: options.signal,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    protocols: options.protocols,
    text: options.text,
    WebSocket,
  };
}

/**
 * What an option may hold: a string of kinds (`n` number, `s` string, `b` boolean, `f`
 * function, `o` any object, `F` false, `a` array, `u` Uint8Array, `h` an object of strings),
 * or those and a nested schema for a plain object.
 */
type Spec = string | readonly [string, Schema];
interface Schema {
  readonly [name: string]: Spec;
}

const WORDS: Readonly<Record<string, string>> = {
  n: 'a number',
  s: 'a string',
  b: 'a boolean',
  f: 'a function',
  o: 'an object',
  F: 'false',
  a: 'an array',
  u: 'a Uint8Array',
  h: 'an object of strings',
};

/** Both modes' options: the link's and the transports' (`TransportOptions`). */
const TRANSPORT: Schema = {
  reconnect: [
    'F',
    { initialDelay: 'n', maxDelay: 'n', multiplier: 'n', jitter: 'n', maxRetries: 'n', minUptime: 'n' },
  ],
  connectTimeout: 'n',
  idleTimeout: 'nF',
  closeTimeout: 'n',
  highWaterMark: 'n',
  outbox: ['', { maxMessages: 'n', maxBytes: 'n', overflow: 's', ttl: 'n' }],
  shouldReconnect: 'f',
  signal: 'o',
  clock: 'o',
  random: 'f',
  protocol: 's',
  maxFrameSize: 'n',
  tls: ['', { ca: 'sua', cert: 'su', key: 'su', servername: 's', rejectUnauthorized: 'b' }],
  keepAlive: 'nF',
  maxDatagramSize: 'n',
  protocols: 'sa',
  WebSocket: 'f',
  headers: 'h',
  agent: 'o',
  localAddress: 's',
  followRedirects: 'b',
};

/** Raw mode's options, as `connect-schema.ts` has them (`RawConnectOptions`). */
const RAW: Schema = { ...TRANSPORT, framing: 'so', text: 'b' };

/**
 * Protocol mode's own options (`ProtocolConnectOptions` less the transports'). Joined to the
 * transports' in `checkConnect()`, so a bundle that checks raw mode only (`connectRaw()`)
 * carries none of them.
 */
const PROTOCOL_OWN: Schema = {
  framing: 's',
  reliable: 'b',
  token: 'sf',
  codec: 'o',
  requestTimeout: 'n',
  maxInFlight: 'n',
  resume: 'b',
  replay: ['', { maxMessages: 'n', maxBytes: 'n' }],
  ackDelay: 'n',
  maxHandshakeSize: 'n',
  authRetries: 'n',
  probeTimeout: 'n',
  streams: 'f',
  maxMessageSize: 'n',
  maxStreams: 'n',
  streamWindow: 'n',
};

/** `{…}` or `Object.create(null)`: not an array, a class instance or a function. */
const isPlain = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
};

const isKind = (value: unknown, kind: string): boolean =>
  kind === 'F'
    ? value === false
    : kind === 'a'
      ? Array.isArray(value)
      : kind === 'u'
        ? value instanceof Uint8Array
        : kind === 'o'
          ? typeof value === 'object' && value !== null
          : kind === 'h'
            ? isPlain(value) && Object.values(value).every((v) => typeof v === 'string')
            : // `n`, `s`, `b`, `f`: the word without its article is the `typeof` name.
              typeof value === WORDS[kind]!.slice(2);

/**
 * Checks an options object against `schema` as `checkOptions` (core/options/validate.ts)
 * does, with the same errors: an unknown name or a value of the wrong kind throws a
 * `TypeError` carrying `ERR_INVALID_OPTION`; `undefined` counts as absent.
 */
export function checkSchema(value: unknown, schema: Schema, path = ''): void {
  if (!isPlain(value)) throw optionTypeError(path || 'options', 'an object', value);
  const prefix = path && `${path}.`;
  for (const name of Object.keys(value)) {
    const spec = Object.hasOwn(schema, name) ? schema[name] : undefined;
    if (spec === undefined) throw unknownOptionError(name, prefix, Object.keys(schema));
    const option = value[name];
    const [kinds, nested] = typeof spec === 'string' ? [spec] : spec;
    if (option === undefined || [...kinds].some((kind) => isKind(option, kind))) continue;
    if (nested && isPlain(option)) checkSchema(option, nested, prefix + name);
    else {
      const expected = [...kinds].map((kind) => WORDS[kind]);
      throw optionTypeError(
        prefix + name,
        [...expected, ...(nested ? ['an object'] : [])].join(' or '),
        option,
      );
    }
  }
}

/**
 * The check of `connect()` in a browser bundle, both modes, as `checkConnectOptions`
 * (core/options/connect-schema.ts) does it, with the same errors: returns the mode asked for.
 * Protocol mode frames its own messages, so its `framing` can only be `'length'`.
 */
export function checkConnect(options: unknown): 'raw' | 'sockline' {
  if (options === undefined) return 'sockline';
  if (!isPlain(options)) throw optionTypeError('options', 'an object', options);
  const mode = options.protocol ?? 'sockline';
  if (typeof mode !== 'string') throw optionTypeError('protocol', MODES, mode);
  if (mode !== 'raw' && mode !== 'sockline') throw optionRangeError('protocol', mode, MODES);
  const protocol = { ...TRANSPORT, ...PROTOCOL_OWN };
  const [own, other] = mode === 'raw' ? [RAW, protocol] : [protocol, RAW];
  for (const name of Object.keys(options)) {
    if (!Object.hasOwn(own, name) && Object.hasOwn(other, name)) throw optionModeError(name, mode);
  }
  checkSchema(options, own);
  const framing = options.framing;
  if (mode !== 'raw' && framing !== undefined && framing !== 'length') {
    throw optionRangeError('framing', framing, "'length' (protocol mode frames its own messages)");
  }
  return mode;
}

const MODES = "'sockline' or 'raw'";

/**
 * The check of `connectRaw()` (as `checkRawOptions` does it): raw mode's options only, with
 * `protocol` absent or `'raw'`. Protocol mode's schema stays out of a raw-only bundle: an
 * option of protocol mode (`token`) is an unknown option here.
 */
export function checkRaw(options: unknown): void {
  if (options === undefined) return;
  const mode = isPlain(options) ? options.protocol : undefined;
  if (mode !== undefined && mode !== 'raw') throw optionRangeError('protocol', mode, "'raw'");
  checkSchema(options, RAW);
}

/** The options of `send()`: their ttl, or `fallback`. As `sendTtl` (core/link/send-options.ts). */
export function sendTtl(options: unknown, fallback: number): number {
  if (options === undefined) return fallback;
  checkSchema(options, { volatile: 'b', ttl: 'n' });
  const ttl = (options as { ttl?: number }).ttl ?? fallback;
  if (!(ttl > 0)) throw optionRangeError('ttl', ttl, '> 0');
  return ttl;
}
