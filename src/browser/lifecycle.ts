import type { LinkState } from '../core/link/state.js';

/** What the page lifecycle drives: a link (raw mode) or a protocol client. */
export interface LifecycleTarget {
  readonly state: LinkState;
  /** The network is back or the page is visible again: try now, or check a suspect connection. */
  wake(): void;
  /** The page goes into the back/forward cache: end the connection, keep the session, wait. */
  suspend(): void;
  /** The network went away: hold what matters instead of writing it (protocol mode only). */
  suspect?(): void;
  /** The page is unloaded for good: end (the session too). */
  close(): Promise<void>;
  on(event: 'state', listener: (change: { from: LinkState; to: LinkState }) => void): () => void;
}

interface EventTargetLike {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
}

/**
 * The browser's page lifecycle, for one link or client:
 *
 * | event | what happens |
 * | --- | --- |
 * | `online`, page visible again (while online) | `wake()`: a link waiting out its backoff reconnects at once with the backoff reset (the wait was only guessing at the network); a connection held as suspect is checked |
 * | `offline` | `suspect()`: requests and messages are held rather than written into a socket that may die unnoticed |
 * | `pagehide`, not kept (`persisted` false: a reload, a navigation, a closed tab) | `close()`: CLOSE 1000, so the server ends the session now (its `disconnect` fires at once; a presence list loses the page now, not after the resume window) |
 * | `pagehide`, kept in the back/forward cache | `suspend()`: the connection ends (a page with a live socket is not cached), the session is kept |
 * | `pageshow`, restored from that cache | `wake()`: the session resumes |
 *
 * Listeners are removed while the link is closed, and added again when it starts again.
 */
export function watchLifecycle(target: LifecycleTarget): void {
  const win = globalThis as unknown as Partial<EventTargetLike>;
  const doc = (globalThis as { document?: EventTargetLike & { visibilityState?: string } }).document;
  const nav = (globalThis as { navigator?: { onLine?: boolean } }).navigator;
  if (typeof win.addEventListener !== 'function') return;
  const page: Record<string, (event: Event) => void> = {
    online: () => target.wake(),
    offline: () => target.suspect?.(),
    pagehide: (event) => {
      if ((event as { persisted?: boolean }).persisted === true) target.suspend();
      else void target.close();
    },
    pageshow: (event) => {
      if ((event as { persisted?: boolean }).persisted === true) target.wake();
    },
  };
  const onVisibility = (): void => {
    if (doc?.visibilityState === 'visible' && nav?.onLine !== false) target.wake();
  };
  const listen = (on: boolean): void => {
    for (const type of Object.keys(page)) {
      if (on) win.addEventListener!(type, page[type]!);
      else win.removeEventListener?.(type, page[type]!);
    }
    if (on) doc?.addEventListener('visibilitychange', onVisibility);
    else doc?.removeEventListener('visibilitychange', onVisibility);
  };
  listen(true);
  // A closed link listens to nothing; `reconnect()` from `closed` listens again.
  target.on('state', ({ from, to }) => {
    if (to === 'closed') listen(false);
    else if (from === 'closed') listen(true);
  });
}
