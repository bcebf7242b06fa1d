import { ErrorCodes, SocklineError } from './errors.js';
import { Link, type Handshake, type LinkMessage, type WireFactory } from './link/link.js';
import { resolveLinkOptions } from './link/options.js';
import type { ConnectOptions, ConnectTarget, RawConnectOptions, UrlInput } from './connect-options.js';
import type { Framing } from './framing/types.js';
import { checkRawOptions } from './options/connect-schema.js';
import type { Transport, TransportHandlers } from './transport.js';
import { parseUrl, type Scheme } from './url.js';

/** What a runtime (Node, browser) plugs into `connect()`: which schemes it can open, and how. */
export interface TransportResolver {
  /**
   * Checks, once, what the runtime needs before anything starts (the browser build's
   * `WebSocket`); throws a typed error that says what to pass.
   */
  init?(options: ConnectOptions): void;
  /** Throws `ERR_UNSUPPORTED_SCHEME` (with advice) for a scheme this runtime cannot open. */
  check(scheme: Scheme): void;
  open(url: URL, scheme: Scheme, handlers: TransportHandlers, options: ConnectOptions): Transport;
  /**
   * The framing for byte-stream transports, or null in a runtime that has none (browsers):
   * injected so a browser bundle carries no decoder it can never use.
   */
  framing(options: ConnectOptions): Framing | null;
  /**
   * Makes the wire of each transport (see `LinkConfig.wire`): the framing and checks of byte
   * streams and datagrams, given only by a runtime that opens them.
   */
  readonly wire?: WireFactory;
  /**
   * Raw mode: the check of a message queued while the link is down, for the schemes of the
   * static URLs, so what their transports would refuse is refused at `send()` already; null
   * when nothing needs checking (a WebSocket carries any message).
   */
  sendCheck?(
    schemes: ReadonlySet<Scheme>,
    framing: Framing | null,
    options: ConnectOptions,
  ): ((message: LinkMessage) => void) | null;
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
  const raw = handshake === null;
  let rotation = 0;
  return new Link({
    ...resolved,
    framing,
    wire: resolver.wire ?? null,
    text: raw ? (options as RawConnectOptions).text : undefined,
    check: raw ? sendCheck(target, framing, options, resolver) : null,
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
 * `connectRaw()` for every runtime: raw mode alone, so an app that never speaks the session
 * protocol bundles none of it. The options are checked once (unknown names, wrong types, an
 * option of protocol mode); `protocol`, when given, must be `'raw'`.
 */
export function createRawConnection(
  target: ConnectTarget,
  options: RawLinkOptions | undefined,
  resolver: TransportResolver,
): Link {
  checkRawOptions(options);
  const checked = { ...options, protocol: 'raw' } as RawConnectOptions;
  resolver.init?.(checked);
  return createLink(target, checked, resolver);
}

/** The options of `connectRaw()`: those of raw mode, where `protocol` goes without saying. */
export type RawLinkOptions = Omit<RawConnectOptions, 'protocol'> & { protocol?: 'raw' };

function targetPicker(
  target: ConnectTarget,
  resolver: TransportResolver,
): (rotation: number, attempt: number) => UrlInput | Promise<UrlInput> {
  if (typeof target === 'function') {
    return (_rotation, attempt) => target(attempt);
  }
  const list = staticTargets(target);
  if (list === null || list.length === 0) {
    throw new SocklineError(ErrorCodes.INVALID_URL, 'connect() needs a URL, a list of URLs or a provider');
  }
  for (const u of list) resolver.check(parseUrl(u).scheme);
  return (rotation) => list[rotation % list.length]!;
}

function staticTargets(target: ConnectTarget): readonly UrlInput[] | null {
  if (typeof target === 'string' || target instanceof URL) return [target];
  return Array.isArray(target) ? (target as readonly UrlInput[]) : null;
}

/**
 * What the runtime checks before a raw-mode message is queued (see `TransportResolver`). A
 * provider's transport is known only per attempt: no check then, and a message it cannot
 * carry is dropped at write time (`drop`, reason `invalid`).
 */
function sendCheck(
  target: ConnectTarget,
  framing: Framing | null,
  options: ConnectOptions,
  resolver: TransportResolver,
): ((message: LinkMessage) => void) | null {
  const list = typeof target === 'function' ? null : staticTargets(target);
  if (list === null || resolver.sendCheck === undefined) return null;
  return resolver.sendCheck(new Set(list.map((u) => parseUrl(u).scheme)), framing, options);
}
