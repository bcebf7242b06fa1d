import { optionRangeError } from '../options/messages.js';
import { checkOptions } from '../options/validate.js';
import type { SendOptions } from './types.js';

/** What `send()` accepts as options (checked on each call that passes some). */
const SEND_OPTIONS = { volatile: 'boolean', ttl: 'number' } as const;

/**
 * Checks the options of a `send()` (a link's or a client's) and returns the message's ttl:
 * the option, or `fallback`. Throws `ERR_INVALID_OPTION` for an unknown name, a wrong type or
 * a ttl that is not above 0.
 */
export function sendTtl(options: SendOptions | undefined, fallback: number): number {
  if (options === undefined) return fallback;
  checkOptions(options, SEND_OPTIONS);
  const ttl = options.ttl ?? fallback;
  if (!(ttl > 0)) throw optionRangeError('ttl', ttl, '> 0');
  return ttl;
}
