import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IncomingStream } from '../../core/streams/types.js';
import type { Peer, SocklineServer } from '../server.js';
import { FileCodes, fileError, type FileStore, type StoredFile } from './file-store.js';

/**
 * The file drop of `sockline serve`: `sockline send-file` leaves a file on the server,
 * `sockline receive-file` takes it. A file waits (in the {@link FileStore}, on disk) until one
 * receiver took it whole, or until it expires; a receiver waits until a file is there, so
 * either may start first.
 *
 * On the wire, all sockline:
 * - upload: a stream from the client with metadata `{ name, size, type }`; then the request
 *   `file.stored` with the stream's id answers `{ name, size, type, sha256 }` once the file is
 *   on disk (or the error that refused it: `ERR_FILE_TOO_LARGE`, `ERR_STORE_FULL`, …);
 * - download: the request `file.take` (params `{ name? }`: the oldest file, or the oldest of
 *   that name) waits for a file, opens a stream to the client with metadata
 *   `{ id, name, size, type, sha256 }` and answers the same object; then `file.taken` with the
 *   `id` answers `true` once the server knows the client has every byte (its acknowledgements
 *   go with that request), and the file is deleted. A download that fails puts it back first
 *   in line.
 */
export const fileMethods = { stored: 'file.stored', take: 'file.take', taken: 'file.taken' } as const;

/** Receivers waiting at once, server-wide: one more is refused (`ERR_STORE_FULL`). */
const MAX_WAITERS = 256;
/** How long a transfer's outcome is kept for the request that asks, in ms. */
const OUTCOME_TTL = 60_000;
/** Outcomes kept at once, server-wide: past it, one is not kept (its request gets `ERR_NOT_FOUND`). */
const MAX_OUTCOMES = 4096;

interface Waiter {
  readonly peer: Peer;
  readonly name: string | undefined;
  readonly resolve: (file: StoredFile) => void;
  readonly reject: (error: Error) => void;
}

export class FileDrop {
  readonly #store: FileStore;
  /** Ids of files waiting for a receiver, oldest first. */
  #queue: string[] = [];
  #waiters: Waiter[] = [];
  /**
   * How transfers ended, for the request that asks: uploads by `up/<peer id>/<stream id>`
   * (`file.stored`), downloads by `down/<peer id>/<file id>` (`file.taken`).
   */
  readonly #outcomes = new Map<string, Promise<StoredFile>>();

  constructor(store: FileStore) {
    this.#store = store;
  }

  /** Serves `file.stored` and `file.take` on `server`; returns a function that stops it. */
  attach(server: SocklineServer): () => void {
    server.handle(fileMethods.stored, (id, peer) =>
      this.#outcome(`up/${peer.id}/${String(id)}`).then(describe),
    );
    server.handle(fileMethods.take, (params, peer) => this.#take(params, peer));
    server.handle(fileMethods.taken, (id, peer) =>
      this.#outcome(`down/${peer.id}/${String(id)}`).then(() => true),
    );
    const off = server.on('disconnect', (peer) => {
      const error = fileError(FileCodes.NOT_FOUND, 'the session ended');
      for (const w of this.#waiters.filter((x) => x.peer === peer)) w.reject(error);
      this.#waiters = this.#waiters.filter((x) => x.peer !== peer);
    });
    return off;
  }

  /** An upload from `peer`: stored, then handed to a waiting receiver or queued for one. */
  upload(stream: IncomingStream, peer: Peer): void {
    const stored = this.#store.receive(stream);
    this.#remember(`up/${peer.id}/${stream.id}`, stored);
    stored.then(
      (file) => this.#offer(file.id),
      () => {},
    );
  }

  /** Keeps how a transfer ends for a while, for the request that asks. */
  #remember(key: string, outcome: Promise<StoredFile>): void {
    if (this.#outcomes.size >= MAX_OUTCOMES) return;
    this.#outcomes.set(key, outcome);
    const forget = (): void => void setTimeout(() => this.#outcomes.delete(key), OUTCOME_TTL).unref();
    outcome.then(forget, forget);
  }

  #outcome(key: string): Promise<StoredFile> {
    const outcome = this.#outcomes.get(key);
    if (outcome === undefined)
      return Promise.reject(fileError(FileCodes.NOT_FOUND, 'no such transfer in this session'));
    return outcome;
  }

  /** A file to hand out: to the first receiver that wants it, else at the end of the line. */
  #offer(id: string, first = false): void {
    const file = this.#store.get(id);
    if (file === undefined) return;
    const at = this.#waiters.findIndex((w) => w.name === undefined || w.name === file.name);
    if (at >= 0) {
      const [waiter] = this.#waiters.splice(at, 1);
      waiter!.resolve(file);
    } else if (first) this.#queue.unshift(id);
    else this.#queue.push(id);
  }

  async #take(params: unknown, peer: Peer): Promise<ReturnType<typeof describe> & { id: string }> {
    const name = (params as { name?: unknown } | null)?.name;
    if (name !== undefined && typeof name !== 'string')
      throw fileError(FileCodes.BAD_REQUEST, 'file.take takes { name? }');
    const file = await this.#next(peer, name);
    let download;
    try {
      download = peer.openStream({ id: file.id, ...describe(file) });
    } catch (err) {
      this.#offer(file.id, true);
      throw err;
    }
    const bytes = this.#store.read(file.id)!;
    void pipeline(bytes, Writable.fromWeb(download.writable)).catch(() => {});
    this.#remember(
      `down/${peer.id}/${file.id}`,
      download.done.then(
        () => {
          this.#store.delete(file.id);
          return file;
        },
        (err: unknown) => {
          this.#offer(file.id, true);
          throw err;
        },
      ),
    );
    return { id: file.id, ...describe(file) };
  }

  /** The oldest waiting file (of `name`), now or once one arrives. */
  #next(peer: Peer, name: string | undefined): Promise<StoredFile> {
    // Drop what expired meanwhile.
    this.#queue = this.#queue.filter((id) => this.#store.get(id) !== undefined);
    const at = this.#queue.findIndex((id) => name === undefined || this.#store.get(id)!.name === name);
    if (at >= 0) return Promise.resolve(this.#store.get(this.#queue.splice(at, 1)[0]!)!);
    if (this.#waiters.length >= MAX_WAITERS)
      return Promise.reject(fileError(FileCodes.STORE_FULL, `${MAX_WAITERS} receivers wait already`));
    return new Promise((resolve, reject) => this.#waiters.push({ peer, name, resolve, reject }));
  }
}

/** What a client is told of a file. */
function describe(file: StoredFile): { name: string; size: number; type: string; sha256: string } {
  return { name: file.name, size: file.size, type: file.type, sha256: file.sha256 };
}
