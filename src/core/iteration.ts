import type { Disposer } from './emitter.js';
import { SocklineError } from './errors.js';
import type { iterate } from './iterate.js';

/** What `for await` reads: a link's or a client's messages, until it closes. */
export interface MessageSource<T> {
  on(event: 'message', listener: (value: T) => void): Disposer;
  on(event: 'close', listener: () => void): Disposer;
}

/**
 * The iterator behind `for await`, once `sockline/iterate` installed it: an app that never
 * loops over its messages does not bundle it.
 */
let installed: typeof iterate | null = null;

/** Installs the iterator (what `sockline/iterate` does when imported). */
export function installIteration(iterator: typeof iterate): void {
  installed = iterator;
}

/**
 * The messages of a link or a client as an async iterator, paused (`pause`) while the loop
 * lags. Throws `ERR_NOT_SUPPORTED` when `sockline/iterate` was not imported.
 */
export function messagesOf<T>(
  source: MessageSource<T>,
  ended: boolean,
  pause: () => void,
  resume: () => void,
): AsyncGenerator<T, void, undefined> {
  if (installed === null) {
    throw new SocklineError(
      'ERR_NOT_SUPPORTED',
      "for await over a link or a client needs 'sockline/iterate' imported once",
    );
  }
  return installed<T>({
    subscribe: (push) => source.on('message', push),
    onEnd: (end) => source.on('close', end),
    ended,
    pause,
    resume,
  });
}
