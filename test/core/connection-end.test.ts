import { describe, expect, it } from 'vitest';
import { endingClose } from '../../src/core/protocol/server/connection-end.js';
import { fromHex } from '../fixtures/frames.js';

describe('endingClose: the CLOSE a listener ends a connection with', () => {
  it('turns a limit into CLOSE 1013 with its reason and reconnectAfter (docs/protocol.md §4.11)', () => {
    expect(endingClose({ limit: 'server full', reconnectAfter: 2000 })).toEqual({
      frame: fromHex('3f 01 f507 0b 7365727665722066756c6c d00f'),
      code: 1013,
      reason: 'server full',
    });
  });

  it('turns a violation into CLOSE 4000 with its reason', () => {
    expect(endingClose({ violation: 'bad frame' })).toEqual({
      frame: fromHex('3f 00 a01f 09 626164206672616d65'),
      code: 4000,
      reason: 'bad frame',
    });
  });
});
