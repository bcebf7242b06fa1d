import type { RawLinkOptions } from '../core/connect-link.js';
import type { ConnectTarget } from '../core/connect-options.js';
import type { Link } from '../core/link/api.js';
import { checkRawOptions } from '../core/options/connect-schema.js';
import { createCompactLink } from './compact/link.js';
import { watchLifecycle } from './lifecycle.js';

/**
 * Raw mode alone: `connect(target, { protocol: 'raw' })` without the session protocol in the
 * bundle. A reconnecting WebSocket to any server (`ws://`, `wss://`), with backoff and
 * jitter, a bounded outbox while down, backpressure and the page lifecycle (`online`,
 * visibility, the back/forward cache); each message arrives as it was sent.
 *
 * @example
 * import { connectRaw } from 'sockline';
 * const link = connectRaw('wss://example.com/echo');
 * link.on('message', (data) => console.log(data));
 * link.send('hello');
 */
export function connectRaw(target: ConnectTarget, options?: RawLinkOptions): Link {
  checkRawOptions(options);
  const link = createCompactLink(target, options);
  watchLifecycle(link);
  return link;
}
