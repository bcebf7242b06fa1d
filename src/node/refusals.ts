import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { endingClose } from '../core/protocol/server/connection-end.js';
import type { Refusal } from './connection-limits.js';

/**
 * How a connection the server will not take is told so, on every transport (team contract:
 * refusals on connect). A WebSocket upgrade gets an HTTP status (429 or 503 with
 * `Retry-After` for a limit, 404/403/426 for a wrong request); a TCP/TLS/UDP connection gets
 * CLOSE 1013 (`TRY_AGAIN_LATER`) with the limit in its reason and a `reconnectAfter`. The
 * answer is written, our side ends, and what the client still sends is read and dropped until
 * it closes (closing with unread bytes would reset the connection and could destroy the
 * answer before the client reads it), for `REFUSE_GRACE` ms at most.
 */

/** How long a refused connection may take to get its answer and go, in ms. */
export const REFUSE_GRACE = 2_000;

/**
 * Refused connections being answered at once, per listener. Past it (a flood), a refused
 * connection is closed without an answer: answering must not cost more than refusing.
 */
export const MAX_REFUSING = 256;

/** The CLOSE frame body that refuses a connection for `refusal`, from the protocol layer. */
export function refusalFrame(refusal: Refusal): Uint8Array {
  return endingClose({ limit: refusal.reason, reconnectAfter: refusal.retryAfter }).frame;
}

/**
 * The HTTP response that refuses an upgrade: a status alone (404, 403), or for a limit 429
 * (the client's address is over its share) / 503 (the server is full or closing) with
 * `Retry-After` in whole seconds.
 */
export function httpRefusal(answer: number | Refusal): string {
  const refusal = typeof answer === 'number' ? undefined : answer;
  const code = refusal === undefined ? (answer as number) : refusal.perAddress ? 429 : 503;
  const body = refusal === undefined ? '' : `${refusal.reason}\n`;
  const retry =
    refusal === undefined ? '' : `Retry-After: ${Math.max(1, Math.ceil(refusal.retryAfter / 1000))}\r\n`;
  return (
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\n${retry}Connection: close\r\n` +
    `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Answers and ends a refused connection, within a bounded budget (see {@link MAX_REFUSING}). */
export class Refusing {
  readonly #sockets = new Set<Duplex>();

  /** Refused connections being answered now. */
  get active(): number {
    return this.#sockets.size;
  }

  /** Ends every refused connection still being answered (the listener closes). */
  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /**
   * Takes `socket` for an answer: it is gone within `REFUSE_GRACE` ms whatever the client does.
   * False (and the socket destroyed) when the budget is spent.
   */
  take(socket: Duplex): boolean {
    if (this.#sockets.size >= MAX_REFUSING || socket.destroyed) {
      socket.destroy();
      return false;
    }
    this.#sockets.add(socket);
    const timer = setTimeout(() => socket.destroy(), REFUSE_GRACE);
    timer.unref();
    socket.once('close', () => {
      this.#sockets.delete(socket);
      clearTimeout(timer);
    });
    return true;
  }

  /** Writes `answer` to a socket taken with {@link take}, ends our side, drops what comes in. */
  answer(socket: Duplex, answer: string | Uint8Array): void {
    if (socket.destroyed) return;
    socket.on('error', () => {});
    socket.removeAllListeners('data');
    socket.on('data', () => {});
    socket.end(answer);
    socket.resume();
  }
}
