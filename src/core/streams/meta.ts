import { ErrorCodes } from '../errors.js';
import { argumentTypeError } from '../options/messages.js';
import { checkOptions, isPlainObject } from '../options/validate.js';
import { decodeLimitDefaults } from '../protocol/decode-limits.js';
import { clip } from '../protocol/rpc.js';

/** What `openStream` accepts as options (checked on every call). */
const STREAM_OPTIONS = { signal: 'object' } as const;

/**
 * Checks the arguments of `openStream`: `meta` a plain object (the codec encodes it), options
 * known and of the right types. Throws a TypeError carrying `ERR_INVALID_OPTION`.
 */
export function checkMeta(meta: unknown, options: unknown): { signal: AbortSignal | undefined } {
  if (!isPlainObject(meta)) throw argumentTypeError('meta', 'a plain object', meta);
  if (options === undefined) return { signal: undefined };
  checkOptions(options, STREAM_OPTIONS);
  return { signal: (options as { signal?: AbortSignal }).signal };
}

/**
 * The code and message of a RESET or CANCEL for the reason the application gave
 * (`writable.abort(reason)`, `readable.cancel(reason)`): a string code it carries (a
 * `SocklineError`'s, a `RemoteError`'s own), else `ERR_ABORTED`; its message, or the reason as
 * text. Both cut to what the peer's decoder takes (docs/protocol.md §5.2).
 */
export function reasonOf(reason: unknown): { code: string; message: string } {
  const r = reason as { code?: unknown; remoteCode?: unknown; message?: unknown } | null | undefined;
  const own =
    typeof r?.remoteCode === 'string' ? r.remoteCode : typeof r?.code === 'string' ? r.code : undefined;
  const code = own === undefined || own.length === 0 ? ErrorCodes.ABORTED : own;
  const message =
    typeof r?.message === 'string' ? r.message : reason === undefined ? '' : String(reason as unknown);
  return {
    code: clip(code, decodeLimitDefaults.maxNameBytes),
    message: clip(message, decodeLimitDefaults.maxTextBytes),
  };
}
