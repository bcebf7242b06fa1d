import * as net from 'node:net';

/**
 * IP addresses as the server's limits and `peer.remoteAddress` see them: one spelling per
 * address, and one key per host for the per-address limits.
 */

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) → `192.0.2.1`. */
export function normalizeAddress(address: string): string {
  if (address.length > 7 && address.slice(0, 7).toLowerCase() === '::ffff:' && net.isIPv4(address.slice(7)))
    return address.slice(7);
  return address;
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
export function ipv6Groups(address: string): number[] | undefined {
  if (!net.isIPv6(address) || address.includes('%')) return undefined;
  // An embedded IPv4 tail (`::ffff:192.0.2.1`) is two groups.
  const v4 = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const text =
    v4 === null
      ? address
      : `${v4[1]}${((Number(v4[2]) << 8) | Number(v4[3])).toString(16)}:${((Number(v4[4]) << 8) | Number(v4[5])).toString(16)}`;
  const [head = '', tail] = text.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** The text of a 16-byte IPv6 address, in Node's own (RFC 5952) spelling. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

/**
 * The key a connection from `address` counts under in the per-address limits: the address
 * itself for IPv4, its /64 prefix for IPv6 (one host, or one customer line, is usually given a
 * whole /64, so counting single IPv6 addresses would let one host take the limit many times).
 */
export function addressKey(address: string): string {
  const normal = normalizeAddress(address);
  if (!normal.includes(':')) return normal;
  const groups = ipv6Groups(normal);
  if (groups === undefined) return normal;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
