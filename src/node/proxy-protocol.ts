import * as net from 'node:net';
import { ErrorCodes, SocklineError } from '../core/errors.js';
import { formatIPv6 } from './addresses.js';

/**
 * The PROXY protocol header (HAProxy's `send-proxy` / `send-proxy-v2`, spec: HAProxy's
 * doc/proxy-protocol.txt), read from the first bytes of a TCP connection a proxy opened on
 * behalf of a client. Version 1 is one text line, version 2 a binary block; both are taken.
 */
export type ProxyHeader =
  | {
      readonly version: 1 | 2;
      /** The proxy relays a client: `source` is that client. */
      readonly command: 'proxy';
      readonly source: ProxyEndpoint;
      readonly destination: ProxyEndpoint;
    }
  | {
      readonly version: 1 | 2;
      /**
       * No client address to take: the proxy's own connection (a v2 LOCAL health check), or
       * an address family it does not describe (v1 `UNKNOWN`, v2 UNSPEC or UNIX). The
       * connection's own address stands (spec §2.1, §2.2).
       */
      readonly command: 'local';
    };

export interface ProxyEndpoint {
  readonly address: string;
  readonly port: number;
}

/** What the bytes of a PROXY header were; `rest` is what followed it in the last chunk. */
export interface ProxyParsed {
  readonly header: ProxyHeader;
  readonly rest: Uint8Array;
}

/** The error of bytes that are not a valid PROXY header: `ERR_PROTOCOL`, saying how. */
const invalid = (message: string): SocklineError => new SocklineError(ErrorCodes.PROTOCOL, message);

/** The 12-byte signature of version 2 (spec §2.2), then the version nibble 2. */
const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
const V1_PREFIX = Uint8Array.from('PROXY ', (c) => c.charCodeAt(0));
/** The longest v1 line, CRLF included (spec §2.1: "PROXY UNKNOWN" with two IPv6 addresses). */
const V1_MAX = 107;
/** The fixed part of v2: signature, version/command, family/protocol, length. */
const V2_FIXED = 16;
/** Address bytes kept from a v2 block: the largest address block (two UNIX paths). */
const V2_ADDRESSES_MAX = 216;

const CR = 0x0d;
const LF = 0x0a;

/**
 * An incremental, bounded PROXY header reader. Feed it the connection's first chunks with
 * `push`, split anywhere: it answers `undefined` (more bytes needed), the parsed header with
 * the bytes that followed it, or throws a `SocklineError` `ERR_PROTOCOL` as soon as the bytes can
 * no longer be a valid header (so a connection that is not from a proxy is refused at its
 * first bytes, not at a deadline). It keeps at most 232 bytes, whatever it is fed: TLVs of
 * a v2 header are skipped, not stored.
 *
 * @example
 * const reader = new ProxyHeaderReader();
 * socket.on('data', (chunk) => {
 *   const parsed = reader.push(chunk); // throws ERR_PROTOCOL on bad bytes
 *   if (parsed !== undefined) start(parsed.header, parsed.rest);
 * });
 */
export class ProxyHeaderReader {
  /** The header bytes kept so far (v1 line, or v2 fixed part and addresses). */
  readonly #kept = new Uint8Array(V2_FIXED + V2_ADDRESSES_MAX);
  #length = 0;
  #version: 0 | 1 | 2 = 0;
  /** v2: bytes of the block after the fixed part (addresses and TLVs), and how many were read. */
  #block = -1;
  #read = 0;
  #done = false;

  push(chunk: Uint8Array): ProxyParsed | undefined {
    if (this.#done) throw new Error('the PROXY header was already read');
    for (let i = 0; i < chunk.length; i++) {
      const header = this.#byte(chunk[i]!);
      if (header !== undefined) {
        this.#done = true;
        return { header, rest: chunk.subarray(i + 1) };
      }
    }
    return undefined;
  }

  #byte(b: number): ProxyHeader | undefined {
    const at = this.#length;
    if (this.#version === 0) {
      if (b === V1_PREFIX[0]) this.#version = 1;
      else if (b === V2_SIGNATURE[0]) this.#version = 2;
      else throw invalid('the connection does not start with a PROXY header');
    }
    if (this.#version === 1) return this.#v1(b, at);
    return this.#v2(b, at);
  }

  #v1(b: number, at: number): ProxyHeader | undefined {
    if (at < V1_PREFIX.length && b !== V1_PREFIX[at])
      throw invalid('the connection does not start with a PROXY header');
    if (at >= V1_MAX) throw invalid(`a PROXY v1 line longer than ${V1_MAX} bytes`);
    const previous = at > 0 ? this.#kept[at - 1] : undefined;
    if (b === LF && previous !== CR) throw invalid('a PROXY v1 line ended by LF without CR');
    if (previous === CR && b !== LF) throw invalid('a CR inside a PROXY v1 line');
    this.#kept[this.#length++] = b;
    if (b !== LF) return undefined;
    return parseV1(String.fromCharCode(...this.#kept.subarray(0, this.#length - 2)));
  }

  #v2(b: number, at: number): ProxyHeader | undefined {
    if (this.#block < 0) {
      if (at < V2_SIGNATURE.length && b !== V2_SIGNATURE[at])
        throw invalid('the connection does not start with a PROXY header');
      if (at === 12 && b >> 4 !== 2) throw invalid(`PROXY v2 header of version ${b >> 4}, not 2`);
      if (at === 12 && (b & 0x0f) > 1)
        throw invalid(`PROXY v2 command ${b & 0x0f} (only LOCAL and PROXY exist)`);
      if (at === 13 && (b >> 4 > 3 || (b & 0x0f) > 2))
        throw invalid(`PROXY v2 family/protocol byte 0x${b.toString(16)} is not defined`);
      this.#kept[this.#length++] = b;
      if (this.#length < V2_FIXED) return undefined;
      this.#block = (this.#kept[14]! << 8) | this.#kept[15]!;
      this.#read = 0;
      return this.#block === 0 ? parseV2(this.#kept, 0) : undefined;
    }
    if (this.#read < V2_ADDRESSES_MAX) this.#kept[V2_FIXED + this.#read] = b;
    this.#read++;
    return this.#read === this.#block ? parseV2(this.#kept, this.#block) : undefined;
  }
}

const IPV4_PART = /^(0|[1-9]\d{0,2})$/;
const PORT = /^(0|[1-9]\d{0,4})$/;

function v1Address(text: string, family: 'TCP4' | 'TCP6'): string {
  if (family === 'TCP4') {
    const parts = text.split('.');
    if (parts.length === 4 && parts.every((p) => IPV4_PART.test(p) && Number(p) <= 255)) return text;
  } else if (net.isIPv6(text) && !text.includes('%')) {
    return new net.SocketAddress({ address: text, family: 'ipv6' }).address;
  }
  throw invalid(`PROXY v1 address ${JSON.stringify(text)} is not a ${family} address`);
}

function v1Port(text: string): number {
  if (!PORT.test(text) || Number(text) > 65535)
    throw invalid(`PROXY v1 port ${JSON.stringify(text)} is not in 0..65535`);
  return Number(text);
}

/** One v1 line without its CRLF (spec §2.1): exactly six fields, one space apart. */
function parseV1(line: string): ProxyHeader {
  const fields = line.split(' ');
  const family = fields[1];
  // "UNKNOWN": the receiver must ignore whatever comes before the CRLF.
  if (family === 'UNKNOWN') return { version: 1, command: 'local' };
  if ((family !== 'TCP4' && family !== 'TCP6') || fields.length !== 6)
    throw invalid(`malformed PROXY v1 line ${JSON.stringify(line)}`);
  return {
    version: 1,
    command: 'proxy',
    source: { address: v1Address(fields[2]!, family), port: v1Port(fields[4]!) },
    destination: { address: v1Address(fields[3]!, family), port: v1Port(fields[5]!) },
  };
}

/** A v2 block (spec §2.2): `kept` holds the fixed part then up to 216 address bytes. */
function parseV2(kept: Uint8Array, length: number): ProxyHeader {
  const command = kept[12]! & 0x0f;
  const family = kept[13]! >> 4;
  if (command === 0) return { version: 2, command: 'local' }; // LOCAL: addresses ignored
  const a = kept.subarray(V2_FIXED);
  const port = (at: number): number => (a[at]! << 8) | a[at + 1]!;
  if (family === 1) {
    if (length < 12) throw invalid(`PROXY v2 IPv4 block of ${length} bytes (< 12)`);
    return {
      version: 2,
      command: 'proxy',
      source: { address: a.subarray(0, 4).join('.'), port: port(8) },
      destination: { address: a.subarray(4, 8).join('.'), port: port(10) },
    };
  }
  if (family === 2) {
    if (length < 36) throw invalid(`PROXY v2 IPv6 block of ${length} bytes (< 36)`);
    return {
      version: 2,
      command: 'proxy',
      source: { address: formatIPv6(a.subarray(0, 16)), port: port(32) },
      destination: { address: formatIPv6(a.subarray(16, 32)), port: port(34) },
    };
  }
  if (family === 3 && length < 216) throw invalid(`PROXY v2 UNIX block of ${length} bytes (< 216)`);
  // UNSPEC or UNIX: no IP address to take; the connection's own stands.
  return { version: 2, command: 'local' };
}
