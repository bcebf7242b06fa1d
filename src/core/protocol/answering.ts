import { ErrorCodes, SocklineError } from '../errors.js';
import type { AnswersFactory } from './endpoint/answers.js';

/**
 * What answers the server's requests on a client (`client.handle`), once `sockline/handle`
 * installed it: an app that never answers one does not bundle the handler code. The server
 * and the Node build always have it.
 */
let installed: AnswersFactory | null = null;

/** Installs the answering code (what `sockline/handle` does when imported). */
export function installAnswers(factory: AnswersFactory): void {
  installed = factory;
}

/** The installed answering code; null: a request of the server is answered `ERR_UNKNOWN_METHOD`. */
export function installedAnswers(): AnswersFactory | null {
  return installed;
}

/** Throws `ERR_NOT_SUPPORTED` when `sockline/handle` was not imported. */
export function requireAnswers(): void {
  if (installed === null) {
    throw new SocklineError(ErrorCodes.NOT_SUPPORTED, "handle() needs 'sockline/handle' imported once");
  }
}
