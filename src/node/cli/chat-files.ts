import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IncomingStream } from '../../core/streams/types.js';
import type { Peer, SocklineServer } from '../server.js';
import { chatTopics, type ChatMessage, type ChatRegistry } from './chat-service.js';
import { FileCodes, fileError, formatBytes, type FileStore } from './file-store.js';

/** A file shared in a room, as its chat message carries it. */
export interface ChatFile {
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly type: string;
}

/** The chat message that announces a shared file: its `text` says it for clients that only show text. */
export interface ChatFileMessage extends ChatMessage {
  readonly file: ChatFile;
}

/** Params of the `chat.file` request, which downloads a shared file. */
export interface ChatFileRequest {
  readonly room: string;
  readonly id: string;
}

/** Downloads under way at once, server-wide: one more is refused (`ERR_STORE_FULL`). */
const MAX_DOWNLOADS = 64;

/**
 * File sharing in the chat that `sockline serve` hosts:
 * - a member shares a file by opening a stream with metadata `{ name, size, type, room }` (its
 *   own room); the server keeps it in the {@link FileStore} (bounded per file and in total,
 *   refused with a coded reason otherwise) and publishes a {@link ChatFileMessage} on the
 *   room's messages topic;
 * - a member downloads it with the request `chat.file` (`{ room, id }`): the server opens a
 *   stream to it with metadata `{ name, size, type, file: id }` and answers `{ stream: id }`;
 * - a room's files are dropped when its last member leaves (`roomEmptied`), or when they expire.
 */
export class ChatFiles {
  readonly #store: FileStore;
  readonly #registry: ChatRegistry;
  /** File ids by room. */
  readonly #rooms = new Map<string, Set<string>>();
  #downloads = 0;

  constructor(store: FileStore, registry: ChatRegistry) {
    this.#store = store;
    this.#registry = registry;
  }

  /** Serves `chat.file` on `server`. */
  attach(server: SocklineServer): void {
    server.handle('chat.file', (params, peer) => this.#download(params, peer));
  }

  /** A file shared by `peer`: kept, then announced to its room. */
  upload(stream: IncomingStream, peer: Peer, server: SocklineServer): void {
    const member = this.#registry.get(peer.id);
    if (member === undefined || member.room !== stream.meta.room) {
      const reason = fileError(FileCodes.BAD_REQUEST, 'share a file in the room you joined (chat.join)');
      void stream.readable.cancel(reason).catch(() => {});
      return;
    }
    const { room, name: from } = member;
    this.#store.receive(stream).then(
      (file) => {
        // The room emptied while the file came in: nobody is left to take it.
        if (![...this.#registry.values()].some((m) => m.room === room)) return this.#store.delete(file.id);
        let files = this.#rooms.get(room);
        if (files === undefined) this.#rooms.set(room, (files = new Set()));
        files.add(file.id);
        const message: ChatFileMessage = {
          id: `file-${file.id}`,
          from,
          text: `shared ${file.name} (${formatBytes(file.size)})`,
          at: Date.now(),
          file: { id: file.id, name: file.name, size: file.size, type: file.type },
        };
        server.publish(chatTopics.messages(room), message);
      },
      // The sharer's stream already failed with the reason.
      () => {},
    );
  }

  /** The last member left `room`: its files go. */
  roomEmptied(room: string): void {
    for (const id of this.#rooms.get(room) ?? []) this.#store.delete(id);
    this.#rooms.delete(room);
  }

  #download(params: unknown, peer: Peer): { stream: number } {
    const { room, id } = (params ?? {}) as Partial<ChatFileRequest>;
    if (typeof room !== 'string' || typeof id !== 'string')
      throw fileError(FileCodes.BAD_REQUEST, 'chat.file takes { room, id }');
    if (this.#registry.get(peer.id)?.room !== room)
      throw fileError(FileCodes.BAD_REQUEST, 'download files of the room you joined (chat.join)');
    const file = this.#rooms.get(room)?.has(id) === true ? this.#store.get(id) : undefined;
    if (file === undefined)
      throw fileError(FileCodes.NOT_FOUND, 'that file is gone (expired, or the room emptied)');
    if (this.#downloads >= MAX_DOWNLOADS)
      throw fileError(
        FileCodes.STORE_FULL,
        `${MAX_DOWNLOADS} downloads are under way: try again in a moment`,
      );
    const download = peer.openStream({ name: file.name, size: file.size, type: file.type, file: file.id });
    this.#downloads++;
    void download.done.catch(() => {}).finally(() => this.#downloads--);
    void pipeline(this.#store.read(id)!, Writable.fromWeb(download.writable)).catch(() => {});
    return { stream: download.id };
  }
}
