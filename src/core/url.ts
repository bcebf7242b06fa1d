import { ErrorCodes, SocklineError } from './errors.js';

/** The URL schemes sockline knows, without the colon. */
export type Scheme = 'tcp' | 'tls' | 'udp' | 'ws' | 'wss';

const SCHEMES: ReadonlySet<string> = new Set<Scheme>(['tcp', 'tls', 'udp', 'ws', 'wss']);

/** Parses and validates a connection URL; a port is required except for ws/wss. */
export function parseUrl(input: string | URL): { url: URL; scheme: Scheme } {
  let url: URL;
  try {
    url = typeof input === 'string' ? new URL(input) : input;
  } catch (cause) {
    throw new SocklineError(ErrorCodes.INVALID_URL, `Invalid URL: ${String(input)}`, { cause });
  }
  const scheme = url.protocol.slice(0, -1);
  const { href } = url;
  const problem = !SCHEMES.has(scheme)
    ? `Unknown URL scheme "${url.protocol}" in ${href}: use tcp, tls, udp, ws or wss`
    : url.hostname === ''
      ? `URL has no host: ${href}`
      : url.port === '' && scheme !== 'ws' && scheme !== 'wss'
        ? `URL needs a port for ${scheme}://: ${href}`
        : '';
  if (problem !== '') throw new SocklineError(ErrorCodes.INVALID_URL, problem);
  return { url, scheme: scheme as Scheme };
}
