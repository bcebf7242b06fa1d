import * as net from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { normalizeAddress } from './addresses.js';

/** Hops of a `Forwarded` / `X-Forwarded-For` chain looked at, at most (from the nearest). */
const MAX_HOPS = 32;

/**
 * The proxies whose word about a client's address the server takes (the `trustProxy`
 * option): addresses and CIDR ranges, IPv4 and IPv6. A connection from one of them may
 * name its client: in `Forwarded` / `X-Forwarded-For` on a WebSocket upgrade, in a PROXY
 * protocol header on a TCP/TLS listener with `proxyProtocol`. From any other address those
 * headers are ignored, and a PROXY header is refused.
 *
 * @example
 * const trust = new TrustedProxies(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);
 * trust.has('10.1.2.3'); // true
 */
export class TrustedProxies {
  readonly #list = new net.BlockList();
  readonly #empty: boolean;

  /** Throws a TypeError/RangeError naming `trustProxy` for an entry that is no address or CIDR. */
  constructor(entries: readonly string[] = []) {
    if (!Array.isArray(entries))
      throw new TypeError(`Invalid option trustProxy: ${String(entries)} (an array of addresses or CIDRs)`);
    for (const entry of entries) this.#add(entry);
    this.#empty = entries.length === 0;
  }

  /** True when no proxy is trusted (the default). */
  get empty(): boolean {
    return this.#empty;
  }

  /** Whether `address` (a socket's remote address, any spelling) is a trusted proxy. */
  has(address: string): boolean {
    if (this.#empty) return false;
    const normal = normalizeAddress(address);
    const family = net.isIPv4(normal) ? 'ipv4' : net.isIPv6(normal) ? 'ipv6' : undefined;
    return family !== undefined && this.#list.check(normal, family);
  }

  #add(entry: unknown): void {
    const bad = (why: string): never => {
      throw new RangeError(`Invalid option trustProxy: ${JSON.stringify(entry)} (${why})`);
    };
    if (typeof entry !== 'string') return bad('an address or CIDR string');
    const [address = '', prefix, extra] = entry.split('/');
    if (extra !== undefined) bad('one "/" at most');
    const normal = normalizeAddress(address);
    const family = net.isIPv4(normal) ? 'ipv4' : net.isIPv6(normal) ? 'ipv6' : bad('not an IP address');
    if (prefix === undefined) {
      this.#list.addAddress(normal, family);
      return;
    }
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!(bits >= 0 && bits <= (family === 'ipv4' ? 32 : 128))) bad('prefix length out of range');
    this.#list.addSubnet(normal, bits, family);
  }
}

/**
 * Throws a RangeError when a listener expects PROXY headers but no proxy is trusted (nobody
 * could connect), or `proxyProtocol` is not a boolean.
 */
export function validateProxyProtocol(
  listeners: { readonly tcp?: { proxyProtocol?: boolean }; readonly tls?: { proxyProtocol?: boolean } },
  trust: TrustedProxies,
): void {
  for (const name of ['tcp', 'tls'] as const) {
    const value = listeners[name]?.proxyProtocol;
    if (value === undefined || value === false) continue;
    if (value !== true) throw new RangeError(`Invalid option ${name}.proxyProtocol: ${String(value)}`);
    if (trust.empty)
      throw new RangeError(
        `Invalid option ${name}.proxyProtocol: true needs trustProxy (the proxies' addresses)`,
      );
  }
}

/**
 * The client's address on a WebSocket upgrade that came from `peer` (the socket's remote
 * address). Only when `peer` is a trusted proxy are `Forwarded` (RFC 7239, preferred) or
 * `X-Forwarded-For` read: the chain is walked from the nearest hop back, over every trusted
 * proxy, and the first address that is not trusted is the client. A hop that is no IP
 * address (`unknown`, an obfuscated name, garbage) ends the walk at the proxy that wrote it.
 */
export function forwardedClient(peer: string, headers: IncomingHttpHeaders, trust: TrustedProxies): string {
  let client = normalizeAddress(peer);
  if (!trust.has(client)) return client;
  const forwarded = joined(headers.forwarded);
  const chain =
    forwarded !== ''
      ? forwardedFor(forwarded)
      : joined(headers['x-forwarded-for'])
          .split(',')
          .map((hop) => hop.trim());
  for (let i = chain.length - 1, seen = 0; i >= 0 && seen < MAX_HOPS; i--, seen++) {
    const hop = hopAddress(chain[i]!);
    if (hop === undefined) break;
    client = hop;
    if (!trust.has(hop)) break;
  }
  return client;
}

/** A header's value as one string (Node joins repeated lines of these with ', ' already). */
const joined = (value: string | string[] | undefined): string =>
  Array.isArray(value) ? value.join(', ') : (value ?? '');

/** The `for=` values of a `Forwarded` header, in order (one per element; '' where absent). */
export function forwardedFor(header: string): string[] {
  const values: string[] = [];
  let current = '';
  let i = 0;
  const n = header.length;
  while (i < n) {
    // One `name=value` pair: name up to '=', value a token or a quoted string.
    const eq = header.indexOf('=', i);
    if (eq < 0) break;
    const name = header.slice(i, eq).trim().toLowerCase();
    let j = eq + 1;
    while (j < n && header[j] === ' ') j++;
    let value = '';
    if (header[j] === '"') {
      j++;
      while (j < n && header[j] !== '"') {
        if (header[j] === '\\' && j + 1 < n) j++;
        value += header[j];
        j++;
      }
      j++;
    } else {
      const start = j;
      while (j < n && header[j] !== ';' && header[j] !== ',') j++;
      value = header.slice(start, j).trim();
    }
    if (name === 'for') current = value;
    while (j < n && header[j] !== ';' && header[j] !== ',') j++;
    if (j >= n || header[j] === ',') {
      values.push(current);
      current = '';
    }
    i = j + 1;
  }
  return values;
}

/**
 * The address of one hop as a proxy writes it: `192.0.2.1`, `192.0.2.1:4711`,
 * `[2001:db8::1]`, `[2001:db8::1]:4711`, or a bare IPv6 address. Undefined otherwise.
 */
function hopAddress(hop: string): string | undefined {
  let text = hop.trim();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return undefined;
    text = text.slice(1, end);
  } else if (text.indexOf(':') > 0 && text.indexOf(':') === text.lastIndexOf(':')) {
    text = text.slice(0, text.indexOf(':')); // IPv4 with a port
  }
  const normal = normalizeAddress(text);
  return net.isIP(normal) !== 0 && !normal.includes('%') ? normal : undefined;
}
