import { optionModeError, optionRangeError, optionTypeError } from './messages.js';
import { checkOptions, isPlainObject, type Schema } from './validate.js';

const N = 'number';
const S = 'string';
const B = 'boolean';
const F = 'function';
const O = 'object';

/** The link's options (`LinkOptions`). */
const link: Schema = {
  reconnect: [
    'false',
    { initialDelay: N, maxDelay: N, multiplier: N, jitter: N, maxRetries: N, minUptime: N },
  ],
  connectTimeout: N,
  idleTimeout: [N, 'false'],
  closeTimeout: N,
  highWaterMark: N,
  outbox: { maxMessages: N, maxBytes: N, overflow: S, ttl: N },
  shouldReconnect: F,
  signal: O,
  clock: O,
  random: F,
};

/** The transports' options (`TransportOptions`), both modes. */
const transport: Schema = {
  ...link,
  protocol: S,
  maxFrameSize: N,
  tls: {
    ca: [S, 'bytes', 'array'],
    cert: [S, 'bytes'],
    key: [S, 'bytes'],
    servername: S,
    rejectUnauthorized: B,
  },
  keepAlive: [N, 'false'],
  maxDatagramSize: N,
  protocols: [S, 'array'],
  WebSocket: F,
  headers: 'strings',
  agent: O,
  localAddress: S,
  followRedirects: B,
};

/** `RawConnectOptions`. */
const raw: Schema = { ...transport, framing: [S, O], text: B };

/** `ProtocolConnectOptions`. */
const protocol: Schema = {
  ...transport,
  framing: S,
  reliable: B,
  token: [S, F],
  codec: O,
  requestTimeout: N,
  maxInFlight: N,
  resume: B,
  replay: { maxMessages: N, maxBytes: N },
  ackDelay: N,
  maxHandshakeSize: N,
  authRetries: N,
  probeTimeout: N,
  streams: F,
  maxMessageSize: N,
  maxStreams: N,
  streamWindow: N,
};

/**
 * Checks the options of `connect()` — the one check every entry point runs — and returns the
 * mode they ask for. Unknown names (with a did-you-mean), an option of the other mode, and
 * values of the wrong type throw a `TypeError` carrying `ERR_INVALID_OPTION`; ranges are
 * checked by the resolvers that apply the defaults.
 */
export function checkConnectOptions(options: unknown): 'raw' | 'sockline' {
  if (options === undefined) return 'sockline';
  if (!isPlainObject(options)) throw optionTypeError('options', 'an object', options);
  const mode = (options as { protocol?: unknown }).protocol ?? 'sockline';
  if (typeof mode !== 'string') throw optionTypeError('protocol', "'sockline' or 'raw'", mode);
  if (mode !== 'raw' && mode !== 'sockline') throw optionRangeError('protocol', mode, "'sockline' or 'raw'");
  const [own, other] = mode === 'raw' ? [raw, protocol] : [protocol, raw];
  for (const name of Object.keys(options)) {
    if (!Object.hasOwn(own, name) && Object.hasOwn(other, name)) throw optionModeError(name, mode);
  }
  checkOptions(options, own);
  return mode;
}

/**
 * The check of `connectRaw()`: raw mode's options only, with `protocol` absent or `'raw'`. It
 * knows nothing of protocol mode, so its schema stays out of a raw-only bundle: an option of
 * protocol mode (`token`) is an unknown option here.
 */
export function checkRawOptions(options: unknown): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) throw optionTypeError('options', 'an object', options);
  const mode = (options as { protocol?: unknown }).protocol;
  if (mode !== undefined && mode !== 'raw') throw optionRangeError('protocol', mode, "'raw'");
  checkOptions(options, raw);
}
