import { createHash, type Hash } from 'node:crypto';
import { CliError, ExitCodes } from './exit.js';
import { Progress } from './progress.js';

/** The reason a transfer is aborted with when the user interrupts it (its code reaches the server). */
export const INTERRUPTED = Object.assign(new Error('interrupted'), { code: 'ERR_ABORTED' });

/**
 * Calls `abort` on the first SIGINT or SIGTERM (the transfer is aborted with a reason, so
 * the server frees what it held at once); returns a function that removes the handlers and
 * says whether it fired.
 */
function onInterrupt(abort: () => void): () => boolean {
  let fired = false;
  const handler = (): void => {
    fired = true;
    abort();
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    return fired;
  };
}

/**
 * The one-line error of a failed transfer: a refusal by the server (a stream it cancelled, a
 * request it answered with an error) as its own code and message, an interruption as such.
 */
export function transferError(err: unknown, interrupted: boolean, what: string): unknown {
  if (interrupted) return new CliError(ExitCodes.INTERRUPTED, `interrupted: ${what}`);
  const e = err as { code?: unknown; remoteCode?: unknown; message?: unknown };
  if (e?.code === 'ERR_STREAM_ABORTED' && typeof e.remoteCode === 'string') {
    const message = String(e.message).replace(/^the (reader|writer) (cancelled|aborted) the stream: /, '');
    return new CliError(ExitCodes.FAILURE, `${e.remoteCode}: ${message}`, { cause: err });
  }
  return err;
}

/** Hashes what passes and draws the progress of one transfer on stderr. */
export class Transfer {
  readonly #hash: Hash = createHash('sha256');
  readonly progress: Progress;

  constructor(verbs: readonly [string, string], name: string, size: number, bytes: () => number) {
    this.progress = new Progress(verbs, name, size, bytes, process.stderr);
  }

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
  }

  /**
   * Runs `move` (which feeds `update`) with Ctrl-C calling `abort`, then stops the progress.
   * Resolves with the hex SHA-256 of what passed; rejects with the one-line error of the
   * failure (`aborted`: what an interruption left behind).
   */
  async run(move: () => Promise<void>, abort: () => void, aborted: string): Promise<string> {
    const interrupted = onInterrupt(abort);
    try {
      await move();
      this.progress.stop(true);
      return this.#hash.digest('hex');
    } catch (err) {
      this.progress.stop(false);
      throw transferError(err, interrupted(), aborted);
    } finally {
      interrupted();
    }
  }
}
