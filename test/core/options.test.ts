import { describe, expect, it } from 'vitest';
import { checkConnectOptions } from '../../src/core/options/connect-schema.js';
import { didYouMean } from '../../src/core/options/messages.js';
import { checkOptions } from '../../src/core/options/validate.js';
import { resolveLinkOptions } from '../../src/core/link/options.js';
import { resolveProtocolOptions } from '../../src/core/protocol/options.js';
import { createFraming } from '../../src/core/framing/index.js';
// Option errors in full (did-you-mean, what was expected): the sockline/verbose opt-in.
import '../../src/core/opt-in/verbose.js';

/** The one check of connect()'s options, run by every entry point before anything starts. */

const invalid = (message: string | RegExp, Kind: typeof TypeError | typeof RangeError = TypeError) =>
  expect.objectContaining({
    name: Kind.name,
    code: 'ERR_INVALID_OPTION',
    message: expect.stringMatching(message),
  });

describe('checkConnectOptions', () => {
  it('accepts every option of each mode, and says which mode it is', () => {
    expect(checkConnectOptions(undefined)).toBe('sockline');
    expect(
      checkConnectOptions({
        reconnect: { initialDelay: 1, maxDelay: 2, multiplier: 2, jitter: 1, maxRetries: 3, minUptime: 4 },
        outbox: { maxMessages: 1, maxBytes: 1, overflow: 'reject', ttl: 1 },
        idleTimeout: false,
        token: () => 't',
        requestTimeout: 5_000,
        replay: { maxMessages: 1 },
        headers: { authorization: 'Bearer x' },
        tls: { ca: ['pem'], rejectUnauthorized: true },
        framing: 'length',
        reliable: true,
      }),
    ).toBe('sockline');
    expect(
      checkConnectOptions({ protocol: 'raw', framing: { type: 'lines', delimiter: '\r\n' }, text: false }),
    ).toBe('raw');
  });

  it.each([
    [{ reconect: false }, /^Unknown option reconect \(did you mean reconnect\?\)$/],
    [{ requestTimout: 5 }, /did you mean requestTimeout\?/],
    [{ websocket: class {} }, /did you mean WebSocket\?/],
    [
      { reconnect: { maxRetry: 3 } },
      /^Unknown option reconnect\.maxRetry \(did you mean reconnect\.maxRetries\?\)$/,
    ],
    [{ banana: 1 }, /^Unknown option banana$/],
  ])('refuses an unknown name with a did-you-mean: %j', (options, message) => {
    expect(() => checkConnectOptions(options)).toThrow(invalid(message));
  });

  it.each([
    [{ reconnect: 'yes' }, "Invalid option reconnect: expected false or an object, got 'yes'"],
    [{ connectTimeout: '5000' }, "Invalid option connectTimeout: expected a number, got '5000'"],
    [{ idleTimeout: true }, 'Invalid option idleTimeout: expected a number or false, got true'],
    [{ token: 42 }, 'Invalid option token: expected a string or a function, got 42'],
    [{ headers: { a: 1 } }, 'Invalid option headers: expected an object of strings, got an object'],
    [{ outbox: { overflow: 1 } }, 'Invalid option outbox.overflow: expected a string, got 1'],
    [{ protocol: 'raw', text: 'yes' }, "Invalid option text: expected a boolean, got 'yes'"],
  ])('refuses a value of the wrong type: %j', (options, message) => {
    expect(() => checkConnectOptions(options)).toThrow(invalid(`^${message.replace(/[().?*+]/g, '\\$&')}$`));
  });

  it('refuses an option of the other mode, naming the mode it belongs to', () => {
    expect(() => checkConnectOptions({ protocol: 'raw', token: 't' })).toThrow(
      invalid('token: it is an option of protocol mode, not of raw mode'),
    );
    expect(() => checkConnectOptions({ text: true })).toThrow(
      invalid('text: it is an option of raw mode, not of protocol mode'),
    );
  });

  it('refuses an unknown mode and options that are not an object', () => {
    expect(() => checkConnectOptions({ protocol: 'mqtt' })).toThrow(invalid("protocol: 'mqtt'", RangeError));
    expect(() => checkConnectOptions('raw')).toThrow(invalid('expected an object'));
    expect(() => checkConnectOptions([])).toThrow(invalid('expected an object, got an array'));
  });

  it('does not mistake Object.prototype names for options', () => {
    expect(() => checkConnectOptions({ constructor: 1 })).toThrow(invalid('Unknown option constructor'));
    expect(() => checkOptions(JSON.parse('{"__proto__": 1}'), {})).toThrow(
      invalid('Unknown option __proto__'),
    );
  });
});

describe('range checks carry the code too', () => {
  it.each([
    [() => resolveLinkOptions({ connectTimeout: 0 }), 'connectTimeout: 0'],
    [() => resolveLinkOptions({ reconnect: { jitter: 2 } }), 'reconnect.jitter: 2 (expected 0 to 1)'],
    [() => resolveLinkOptions({ outbox: { overflow: 'drop' as never } }), "outbox.overflow: 'drop'"],
    [() => resolveProtocolOptions({ requestTimeout: -1 }), 'requestTimeout: -1'],
    [() => createFraming({ type: 'length', maxFrameSize: 0 }), 'maxFrameSize: 0'],
  ])('%#: %s', (resolve, message) => {
    expect(resolve).toThrow(invalid(message.replace(/[().?*+]/g, '\\$&'), RangeError));
  });
});

describe('didYouMean', () => {
  const names = ['reconnect', 'connectTimeout', 'idleTimeout', 'WebSocket', 'protocols', 'protocol'];
  it.each([
    ['reconnnect', 'reconnect'],
    ['conectTimeout', 'connectTimeout'],
    ['websocket', 'WebSocket'],
    ['protocl', 'protocol'],
    ['xyz', undefined],
    ['timeout', undefined],
  ])('%s → %s', (name, hint) => {
    expect(didYouMean(name, names)).toBe(hint);
  });
});
