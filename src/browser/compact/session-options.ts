import { systemClock } from '../../core/clock.js';
import type { ProtocolConnectOptions } from '../../core/connect-options.js';
import { ErrorCodes, SocklineError } from '../../core/errors.js';
import { optionRangeError, optionTypeError } from '../../core/options/messages.js';
import type { Codec } from '../../core/protocol/codec.js';
import type { ResolvedProtocolOptions } from '../../core/protocol/options.js';
import { encoder, utf8 } from './codec.js';

/**
 * The options of protocol mode as the compact client reads them, defaults applied: those the
 * full client resolves that apply to it, with the frame size it reads and writes. The delivery
 * options (outbox, replay, ackDelay) are flat beside the others: a bundle keeps property names.
 */
export type CompactOptions = Pick<
  ResolvedProtocolOptions,
  | 'token'
  | 'codec'
  | 'requestTimeout'
  | 'maxInFlight'
  | 'resume'
  | 'maxHandshakeSize'
  | 'authRetries'
  | 'probeTimeout'
  | 'clock'
> &
  Readonly<ResolvedProtocolOptions['delivery']> & { readonly maxFrameSize: number };

/**
 * Option `name`: above 0 and finite, or `fallback` when absent; `Infinity` too where it means
 * unlimited (`unlimited` set), as the full client's resolvers have it.
 */
const positive = (name: string, value: number | undefined, fallback: number, unlimited?: 1): number => {
  if (value === undefined) return fallback;
  if (!(value > 0 && (unlimited || value < Infinity))) throw optionRangeError(name, value, '> 0');
  return value;
};

/** `maxFrameSize`: a whole number of bytes a u32 length could declare, as the full client's framing takes it. */
const frameSize = (value: number | undefined): number => {
  if (value === undefined) return 1 << 20;
  if (!(Number.isInteger(value) && value > 0 && value <= 0xffff_ffff))
    throw optionRangeError('maxFrameSize', value, 'a positive integer up to 4294967295');
  return value;
};

/**
 * Applies the defaults of protocol mode and checks the ranges, as `resolveProtocolOptions`
 * does; names and kinds are checked before (`checkConnectOptions`), the link's own by the link.
 */
export function compactOptions(options: ProtocolConnectOptions): CompactOptions {
  const { token, outbox: o = {}, replay: r = {} } = options;
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function')
    throw optionTypeError('token', 'a string or a function', token);
  return {
    token: typeof token === 'function' ? token : () => token,
    codec: options.codec ?? json,
    requestTimeout: positive('requestTimeout', options.requestTimeout, 1e4, 1),
    maxInFlight: positive('maxInFlight', options.maxInFlight, 1e3),
    resume: options.resume ?? true,
    maxHandshakeSize: positive('maxHandshakeSize', options.maxHandshakeSize, 16_384),
    authRetries: positive('authRetries', options.authRetries, 3),
    probeTimeout: positive('probeTimeout', options.probeTimeout, 2e3),
    maxFrameSize: frameSize(options.maxFrameSize),
    clock: options.clock ?? systemClock,
    maxMessages: positive('outbox.maxMessages', o.maxMessages, 1e3, 1),
    maxBytes: positive('outbox.maxBytes', o.maxBytes, 1 << 20, 1),
    overflow: o.overflow ?? 'reject',
    ttl: positive('outbox.ttl', o.ttl, Infinity, 1),
    replayMessages: positive('replay.maxMessages', r.maxMessages, 1e4),
    replayBytes: positive('replay.maxBytes', r.maxBytes, 8 << 20),
    ackDelay: positive('ackDelay', options.ackDelay, 20),
  };
}

/** Keys no JSON payload may hold, either way (docs/protocol.md §6.4): prototype pollution. */
const FORBIDDEN = /^(__proto__|constructor|prototype)$/;

/** Whether `text` nests arrays and objects deeper than 64 (brackets in strings do not count). */
function tooDeep(text: string): boolean {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '[' || c === '{') {
      if (++depth > 64) return true;
    } else if (c === ']' || c === '}') depth--;
  }
  return false;
}

/** Throws for a forbidden key; JSON.parse calls it with the key as escapes resolve it. */
function guard(key: string, value: unknown): unknown {
  if (FORBIDDEN.test(key)) throw new Error(`the key "${key}"`);
  return value;
}

/**
 * The JSON codec of docs/protocol.md §6.4, as `jsonCodec()` has it: nesting up to 64, no
 * `__proto__`, `constructor` or `prototype` key, fatal UTF-8. `encode` throws a TypeError for
 * what the peer would refuse or JSON cannot carry; `decode` throws `ERR_BAD_PAYLOAD`.
 */
export const json: Codec = {
  name: 'json',
  encode(value) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value, guard);
      if (text === undefined || tooDeep(text))
        throw new Error(text === undefined ? `no JSON for ${typeof value}` : 'nesting over 64');
    } catch (e) {
      throw new TypeError(`cannot encode as JSON: ${(e as Error).message}`, { cause: e });
    }
    return encoder.encode(text);
  },
  decode(bytes) {
    try {
      const text = utf8.decode(bytes);
      if (tooDeep(text)) throw new Error('nesting over 64');
      return JSON.parse(text, guard) as unknown;
    } catch (e) {
      throw new SocklineError(ErrorCodes.BAD_PAYLOAD, `not valid JSON: ${(e as Error).message}`, {
        cause: e,
      });
    }
  },
};
