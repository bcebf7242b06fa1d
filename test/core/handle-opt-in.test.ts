import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settle, world } from './roles-helpers.js';

/**
 * `client.handle` is an opt-in (`sockline/handle`): a browser bundle that never answers the
 * server's requests leaves the handler code out. The import is dynamic, so the first case
 * runs before it is installed.
 */
beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the handle opt-in', () => {
  it('without sockline/handle, handle() throws ERR_NOT_SUPPORTED and a request of the server is answered ERR_UNKNOWN_METHOD', async () => {
    const w = world();
    const client = w.connect();
    expect(() => client.handle('whoami', () => 'client')).toThrow(
      expect.objectContaining({
        code: 'ERR_NOT_SUPPORTED',
        message: expect.stringContaining("'sockline/handle'"),
      }),
    );
    await settle();
    await client.opened;
    await expect(w.session().endpoint.request('whoami', null)).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_METHOD',
      message: 'no handler for "whoami"',
    });
    await client.close();
  });

  it('with sockline/handle, the handler answers the server', async () => {
    await import('../../src/core/opt-in/handle.js');
    const w = world();
    const client = w.connect();
    client.handle('whoami', () => 'client');
    await settle();
    await client.opened;
    await expect(w.session().endpoint.request('whoami', null)).resolves.toBe('client');
    await client.close();
  });
});
