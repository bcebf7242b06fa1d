import { ErrorCodes, SocklineError } from './errors.js';
import { Link, type Handshake } from './link/link.js';
import { SocklineClient } from './protocol/client.js';
import { resolveProtocolOptions, type ProtocolOptions } from './protocol/options.js';
import { resolveLinkOptions } from './link/options.js';
import type { ConnectOptions, ConnectTarget, UrlInput } from './connect-options.js';
import type { Framing } from './framing/types.js';
import type { Transport, TransportHandlers } from './transport.js';
import { parseUrl, type Scheme } from './url.js';

/** What a runtime (Node, browser) plugs into `connect()`: which schemes it can open, and how. */
export interface TransportResolver {
  /** Throws `ERR_UNSUPPORTED_SCHEME` (with advice) for a scheme this runtime cannot open. */
  check(scheme: Scheme): void;
  open(url: URL, scheme: Scheme, handlers: TransportHandlers, options: ConnectOptions): Transport;
  /**
   * The framing for byte-stream transports, or null in a runtime that has none (browsers):
   * injected so a browser bundle carries no decoder it can never use.
   */
  framing(options: ConnectOptions): Framing | null;
}

/**
 * Builds the reconnecting link behind `connect()`. Static URLs are validated at once, so a
 * typo throws here instead of retrying forever; providers and lists are resolved per attempt.
 */
export function createLink(
  target: ConnectTarget,
  options: ConnectOptions,
  resolver: TransportResolver,
  handshake: Handshake | null = null,
): Link {
  const pick = targetPicker(target, resolver);
  const resolved = resolveLinkOptions(options);
  const framing = resolver.framing(options);
  const text = handshake === null && (options.text ?? framing?.name === 'lines');
  let rotation = 0;
  return new Link({
    ...resolved,
    framing,
    text,
    handshake,
    connector: (handlers, attempt) => {
      const input = pick(rotation++, attempt);
      const open = (value: UrlInput): Transport => {
        const { url, scheme } = parseUrl(value);
        resolver.check(scheme);
        return resolver.open(url, scheme, handlers, options);
      };
      return typeof input === 'string' || input instanceof URL ? open(input) : input.then(open);
    },
  });
}

/**
 * `connect()` for every runtime: protocol mode (the default) wraps the link in a session;
 * `protocol: 'raw'` returns the link itself.
 */
export function createConnection(
  target: ConnectTarget,
  options: ConnectOptions & ProtocolOptions,
  resolver: TransportResolver,
): Link | SocklineClient {
  const protocol = options.protocol ?? 'sockline';
  if (protocol === 'raw') return createLink(target, options, resolver);
  if (protocol !== 'sockline') {
    throw new RangeError(`Invalid option protocol: ${String(protocol)}`);
  }
  if (options.framing !== undefined && options.framing !== 'length') {
    throw new RangeError("Invalid option framing: protocol mode uses 'length'");
  }
  const protocolOptions = resolveProtocolOptions(options);
  return new SocklineClient(
    (handshake) => createLink(target, { ...options, framing: 'length' }, resolver, handshake),
    protocolOptions,
  );
}

function targetPicker(
  target: ConnectTarget,
  resolver: TransportResolver,
): (rotation: number, attempt: number) => UrlInput | Promise<UrlInput> {
  if (typeof target === 'function') {
    return (_rotation, attempt) => target(attempt);
  }
  const list: readonly UrlInput[] = typeof target === 'string' || target instanceof URL ? [target] : target;
  if (!Array.isArray(list) || list.length === 0) {
    throw new SocklineError(ErrorCodes.INVALID_URL, 'connect() needs a URL, a list of URLs or a provider');
  }
  for (const u of list) resolver.check(parseUrl(u).scheme);
  return (rotation) => list[rotation % list.length]!;
}
