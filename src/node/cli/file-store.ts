import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, rmSync, type ReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { RemoteError } from '../../core/errors.js';
import type { IncomingStream } from '../../core/streams/types.js';

/** Bounds of a {@link FileStore}: what clients of `sockline serve` may leave on its disk. */
export interface FileStoreOptions {
  /** The largest file taken, in bytes. @default 268435456 (256 MiB) */
  readonly maxFileSize: number;
  /** Bytes of all files kept and being received, server-wide. @default 1073741824 (1 GiB) */
  readonly maxStoredBytes: number;
  /** Files kept and being received, server-wide. @default 256 */
  readonly maxFiles: number;
  /** How long a file is kept, in ms. @default 3600000 (1 h) */
  readonly fileTtl: number;
  /** Where the store makes its own temp dir. @default os.tmpdir() */
  readonly tempDir: string;
}

export const fileStoreDefaults: Readonly<FileStoreOptions> = Object.freeze({
  maxFileSize: 256 << 20,
  maxStoredBytes: 1 << 30,
  maxFiles: 256,
  fileTtl: 3_600_000,
  tempDir: os.tmpdir(),
});

/** The codes a file is refused with (the reader's CANCEL, a request's error). */
export const FileCodes = {
  /** Over `maxFileSize`, or more bytes than the size it announced. */
  TOO_LARGE: 'ERR_FILE_TOO_LARGE',
  /** `maxStoredBytes` or `maxFiles` has no room for it now. */
  STORE_FULL: 'ERR_STORE_FULL',
  /** No such file (taken, expired, or never there). */
  NOT_FOUND: 'ERR_NOT_FOUND',
  /** Metadata without a usable name and size, or a stream that ended short of its size. */
  BAD_REQUEST: 'ERR_BAD_REQUEST',
} as const;

/**
 * A refusal: its code reaches the client as a response's (`remoteCode` of `ERR_REMOTE`) or as a
 * CANCEL's (`remoteCode` of `ERR_STREAM_ABORTED`), with its message.
 */
export function fileError(code: string, message: string): RemoteError {
  return new RemoteError(code, message);
}

/** A file as a stream announces it: `{ name, size, type }`. */
export interface FileMeta {
  readonly name: string;
  readonly size: number;
  readonly type: string;
}

/** A file kept by the store. */
export interface StoredFile extends FileMeta {
  readonly id: string;
  /** Hex SHA-256 of its bytes, computed as they arrived. */
  readonly sha256: string;
  /** When it is dropped (ms since the epoch). */
  readonly expires: number;
}

/** Reads `{ name, size, type }` from a stream's metadata; throws `ERR_BAD_REQUEST` when it is not usable. */
export function parseFileMeta(meta: Record<string, unknown>): FileMeta {
  const { name, size, type } = meta;
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > 255 ||
    name === '.' ||
    name === '..' ||
    /[/\\\0]/.test(name)
  )
    throw fileError(FileCodes.BAD_REQUEST, 'a file needs a name of 1-255 characters, without / or \\');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw fileError(FileCodes.BAD_REQUEST, 'a file needs its size in bytes (meta.size)');
  if (type !== undefined && (typeof type !== 'string' || type.length > 255))
    throw fileError(FileCodes.BAD_REQUEST, 'meta.type must be a media type');
  return { name, size, type: type || 'application/octet-stream' };
}

/** `1.5 MiB`: sizes in messages, in the units of the size flags (`64M` is 64 MiB). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes / 1024;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * Files that clients of `sockline serve` upload as streams, kept in a temp dir (not in memory)
 * until they are deleted or expire. Bounded server-wide: no file over `maxFileSize`, no more
 * than `maxStoredBytes` and `maxFiles` kept and being received together; an upload reserves its
 * announced size before its first byte is written, so concurrent uploads cannot overshoot.
 * Memory stays at the stream's credit window: each chunk is written to disk before the next
 * is read, and credit follows reading.
 */
export class FileStore {
  readonly options: FileStoreOptions;
  readonly #files = new Map<string, StoredFile & { readonly path: string }>();
  #dir: Promise<string> | undefined;
  #dirPath: string | undefined;
  /** Bytes and files kept plus those being received. */
  #bytes = 0;
  #count = 0;
  readonly #sweep: NodeJS.Timeout;

  constructor(options: Partial<FileStoreOptions> = {}) {
    this.options = { ...fileStoreDefaults, ...options };
    this.#sweep = setInterval(() => this.expire(Date.now()), Math.min(60_000, this.options.fileTtl));
    this.#sweep.unref();
  }

  /** Bytes kept and being received. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Files kept and being received. */
  get count(): number {
    return this.#count;
  }

  get(id: string): StoredFile | undefined {
    return this.#files.get(id);
  }

  /**
   * Takes a file from an incoming stream: checks its metadata and the bounds, writes it to
   * disk while hashing it, and resolves once every byte is on disk. A refusal cancels the
   * stream with a coded reason (its writer sees `ERR_STREAM_ABORTED` with that `remoteCode`)
   * and rejects; so does a stream that fails or ends short of its size. Nothing is kept then.
   */
  async receive(stream: IncomingStream): Promise<StoredFile> {
    let meta: FileMeta;
    try {
      meta = parseFileMeta(stream.meta);
      this.#reserve(meta.size);
    } catch (err) {
      await stream.readable.cancel(err).catch(() => {});
      throw err;
    }
    const id = randomBytes(9).toString('base64url');
    let file: string | undefined;
    const reader = stream.readable.getReader();
    try {
      file = path.join(await this.#directory(), id);
      const sha256 = await writeFile(file, reader, meta.size);
      const stored = { ...meta, id, sha256, path: file, expires: Date.now() + this.options.fileTtl };
      this.#files.set(id, stored);
      return stored;
    } catch (err) {
      await reader.cancel(err).catch(() => {});
      this.#release(meta.size);
      if (file !== undefined) await rm(file, { force: true });
      throw err;
    }
  }

  /** The bytes of a kept file, from disk; undefined when it is gone. */
  read(id: string): ReadStream | undefined {
    const file = this.#files.get(id);
    return file === undefined ? undefined : createReadStream(file.path, { highWaterMark: 256 << 10 });
  }

  /** Drops a file (a read already under way finishes: the file is unlinked, not truncated). */
  delete(id: string): void {
    const file = this.#files.get(id);
    if (file === undefined) return;
    this.#files.delete(id);
    this.#release(file.size);
    void rm(file.path, { force: true });
  }

  /** Drops the files whose time is up; `now` in ms since the epoch. */
  expire(now: number): void {
    for (const [id, file] of this.#files) if (file.expires <= now) this.delete(id);
  }

  /** Drops every file and the temp dir. */
  close(): void {
    clearInterval(this.#sweep);
    this.#files.clear();
    this.#bytes = 0;
    this.#count = 0;
    if (this.#dirPath !== undefined) rmSync(this.#dirPath, { recursive: true, force: true });
  }

  #reserve(size: number): void {
    const o = this.options;
    if (size > o.maxFileSize)
      throw fileError(
        FileCodes.TOO_LARGE,
        `a file of ${formatBytes(size)} is over this server's limit of ${formatBytes(o.maxFileSize)}`,
      );
    if (this.#count >= o.maxFiles || this.#bytes + size > o.maxStoredBytes)
      throw fileError(
        FileCodes.STORE_FULL,
        `the server keeps ${this.#count} files of ${formatBytes(this.#bytes)}: no room for ${formatBytes(size)} more now`,
      );
    this.#bytes += size;
    this.#count++;
  }

  #release(size: number): void {
    this.#bytes -= size;
    this.#count--;
  }

  /** The temp dir, made on first use (a server nobody uploads to leaves nothing behind). */
  #directory(): Promise<string> {
    return (this.#dir ??= mkdtemp(path.join(this.options.tempDir, 'sockline-files-')).then((dir) => {
      this.#dirPath = dir;
      return dir;
    }));
  }
}

/**
 * Writes what `reader` gives to a new file, each chunk before the next read; resolves with the
 * hex SHA-256. Rejects when the stream sends more than `size` bytes or ends with fewer.
 */
async function writeFile(
  file: string,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  size: number,
): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, 'wx');
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > size)
        throw fileError(FileCodes.TOO_LARGE, `the stream sent more than the ${size} bytes it announced`);
      hash.update(value);
      for (let at = 0; at < value.byteLength;) {
        at += (await handle.write(value, at, value.byteLength - at)).bytesWritten;
      }
    }
  } finally {
    await handle.close();
  }
  if (received !== size)
    throw fileError(
      FileCodes.BAD_REQUEST,
      `the stream ended after ${received} of the ${size} bytes it announced`,
    );
  return hash.digest('hex');
}
