import type { ConnectionOptions } from 'node:tls';
import type { TlsOptions } from '../core/connect-options.js';

const toBuffer = (v: string | Uint8Array): string | Buffer =>
  typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/**
 * The runtime-neutral TLS options as `node:tls` takes them. Certificates are verified
 * unless `rejectUnauthorized` is explicitly false.
 */
export function nodeTlsOptions(options: TlsOptions): ConnectionOptions {
  const out: ConnectionOptions = { rejectUnauthorized: options.rejectUnauthorized !== false };
  if (options.ca !== undefined)
    out.ca = Array.isArray(options.ca) ? options.ca.map(toBuffer) : toBuffer(options.ca);
  if (options.cert !== undefined) out.cert = toBuffer(options.cert);
  if (options.key !== undefined) out.key = toBuffer(options.key);
  if (options.servername !== undefined) out.servername = options.servername;
  return out;
}
