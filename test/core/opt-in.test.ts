import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkConnectOptions } from '../../src/core/options/connect-schema.js';
import { resolveLinkOptions } from '../../src/core/link/options.js';
import { bytes, harness, settle, text } from './link-helpers.js';

/**
 * What an app gets without the opt-in imports (a browser bundle of `sockline`), and the same
 * behaviour as before once it imports them. Imports are dynamic: each case runs before the
 * next one installs anything, in the order written.
 */
describe('opt-in imports', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('without sockline/verbose an option error is short: the name and the bad value, with its code', () => {
    expect(() => checkConnectOptions({ reconect: false })).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: 'ERR_INVALID_OPTION',
        message: 'Unknown option reconect',
      }),
    );
    expect(() => checkConnectOptions({ connectTimeout: '5000' })).toThrow(
      expect.objectContaining({ message: "Invalid option connectTimeout: '5000'" }),
    );
    expect(() => checkConnectOptions({ reconnect: { maxRetry: 3 } })).toThrow(
      'Unknown option reconnect.maxRetry',
    );
    expect(() => checkConnectOptions({ protocol: 'raw', token: 't' })).toThrow(
      'Invalid option token in raw mode',
    );
    expect(() => checkConnectOptions({ headers: { a: 1 } })).toThrow('Invalid option headers: object');
    expect(() => resolveLinkOptions({ reconnect: { jitter: 2 } })).toThrow(
      expect.objectContaining({
        name: 'RangeError',
        code: 'ERR_INVALID_OPTION',
        message: 'Invalid option reconnect.jitter: 2',
      }),
    );
  });

  it('without sockline/iterate, for await over a link throws ERR_NOT_SUPPORTED naming the import', async () => {
    const h = harness({ framing: 'lines', text: true });
    expect(() => h.link[Symbol.asyncIterator]()).toThrow(
      expect.objectContaining({
        code: 'ERR_NOT_SUPPORTED',
        message: expect.stringContaining("'sockline/iterate'"),
      }),
    );
    await h.link.close();
  });

  it('sockline/verbose brings back what was expected and the did-you-mean', async () => {
    await import('../../src/core/opt-in/verbose.js');
    expect(() => checkConnectOptions({ reconect: false })).toThrow(
      /^Unknown option reconect \(did you mean reconnect\?\)$/,
    );
    expect(() => checkConnectOptions({ connectTimeout: '5000' })).toThrow(
      "Invalid option connectTimeout: expected a number, got '5000'",
    );
    expect(() => resolveLinkOptions({ reconnect: { jitter: 2 } })).toThrow(
      'Invalid option reconnect.jitter: 2 (expected 0 to 1)',
    );
  });

  it('sockline/iterate makes a link iterable with for await', async () => {
    await import('../../src/core/opt-in/iterate.js');
    const h = harness({ framing: 'lines', text: true });
    await settle();
    h.ends[0]!.send(bytes('a\nb\n'));
    const seen: string[] = [];
    for await (const m of h.link) {
      seen.push(text(m));
      if (seen.length === 2) void h.link.close();
    }
    expect(seen).toEqual(['a', 'b']);
  });
});
