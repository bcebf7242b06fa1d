/**
 * The few web-standard globals that `src/core` may use. Both browsers and Node >= 20
 * provide them; declaring them here (instead of pulling in `lib.dom` or `@types/node`)
 * lets `tsconfig.core.json` prove the core touches nothing else.
 */

interface TextEncoderEncodeIntoResult {
  read: number;
  written: number;
}
declare class TextEncoder {
  readonly encoding: string;
  encode(input?: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): TextEncoderEncodeIntoResult;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  readonly encoding: string;
  decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string;
}

declare function setTimeout(callback: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
declare function queueMicrotask(callback: () => void): void;

interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

declare class URL {
  constructor(url: string, base?: string);
  readonly protocol: string;
  readonly hostname: string;
  readonly port: string;
  readonly pathname: string;
  readonly search: string;
  readonly href: string;
  readonly username: string;
  readonly password: string;
}

/*
 * WHATWG streams (global in browsers and Node >= 20), as far as `src/core/streams` uses them.
 */
interface QueuingStrategy<T> {
  highWaterMark?: number;
  size?: (chunk: T) => number;
}
interface ReadableStreamDefaultController<R> {
  readonly desiredSize: number | null;
  enqueue(chunk: R): void;
  close(): void;
  error(reason?: unknown): void;
}
interface UnderlyingDefaultSource<R> {
  start?: (controller: ReadableStreamDefaultController<R>) => void;
  pull?: (controller: ReadableStreamDefaultController<R>) => void | PromiseLike<void>;
  cancel?: (reason?: unknown) => void | PromiseLike<void>;
}
interface ReadableStreamReadResult<R> {
  done: boolean;
  value?: R;
}
interface ReadableStreamDefaultReader<R> {
  read(): Promise<ReadableStreamReadResult<R>>;
  cancel(reason?: unknown): Promise<void>;
  releaseLock(): void;
}
declare class ReadableStream<R = unknown> {
  constructor(source?: UnderlyingDefaultSource<R>, strategy?: QueuingStrategy<R>);
  readonly locked: boolean;
  cancel(reason?: unknown): Promise<void>;
  getReader(): ReadableStreamDefaultReader<R>;
  pipeTo(destination: WritableStream<R>, options?: { signal?: AbortSignal }): Promise<void>;
}
interface WritableStreamDefaultController {
  error(reason?: unknown): void;
}
interface UnderlyingSink<W> {
  start?: (controller: WritableStreamDefaultController) => void;
  write?: (chunk: W, controller: WritableStreamDefaultController) => void | PromiseLike<void>;
  close?: () => void | PromiseLike<void>;
  abort?: (reason?: unknown) => void | PromiseLike<void>;
}
interface WritableStreamDefaultWriter<W> {
  readonly ready: Promise<void>;
  readonly desiredSize: number | null;
  write(chunk: W): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
  releaseLock(): void;
}
declare class WritableStream<W = unknown> {
  constructor(sink?: UnderlyingSink<W>, strategy?: QueuingStrategy<W>);
  readonly locked: boolean;
  abort(reason?: unknown): Promise<void>;
  close(): Promise<void>;
  getWriter(): WritableStreamDefaultWriter<W>;
}
