// The CDN build (`<script>`, the `Sockline` global): the whole browser API, with what an
// app bundle opts into already in: option errors in full and `for await` over messages.
import '../core/opt-in/verbose.js';
import '../core/opt-in/iterate.js';
import '../core/opt-in/handle.js';
import { createRawConnection, type RawLinkOptions } from '../core/connect-link.js';
import type { ConnectTarget } from '../core/connect-options.js';
import type { Link } from '../core/link/api.js';
import { watchLifecycle } from './lifecycle.js';
import { browserTransports } from './transports.js';

export * from './index.js';

/**
 * `connect()` of the CDN build: always the full client and the general link (this build
 * has every opt-in), so it carries neither the compact client nor the compact link beside
 * them; the same behaviour.
 */
export { fullConnect as connect } from './full-connect.js';

/**
 * `connectRaw()` of the CDN build: the general link, which this build carries for
 * `connect()` already, rather than a second, compact one beside it; the same behaviour.
 */
export function connectRaw(target: ConnectTarget, options?: RawLinkOptions): Link {
  const link = createRawConnection(target, options, browserTransports);
  watchLifecycle(link);
  return link;
}
