import type { LinkState } from '../core/link/state.js';

/** What the lifecycle watcher needs: a link or a protocol client. */
export interface Wakeable {
  wake(): void;
  on(event: 'state', listener: (change: { from: LinkState; to: LinkState }) => void): () => void;
}

interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/**
 * Browser lifecycle: when the network comes back (`online`) or the page becomes visible
 * again, a link waiting out its backoff reconnects at once with the backoff reset — the
 * user is looking at the page now, and the wait was only guessing at the network. Listeners
 * are removed while the link is closed.
 */
export function watchLifecycle(link: Wakeable): void {
  const win = globalThis as unknown as Partial<EventTargetLike>;
  const doc = (globalThis as { document?: EventTargetLike & { visibilityState?: string } }).document;
  if (typeof win.addEventListener !== 'function') return;
  const onOnline = (): void => link.wake();
  const onVisibility = (): void => {
    if (doc?.visibilityState === 'visible') link.wake();
  };
  const add = (): void => {
    win.addEventListener!('online', onOnline);
    doc?.addEventListener('visibilitychange', onVisibility);
  };
  const remove = (): void => {
    win.removeEventListener?.('online', onOnline);
    doc?.removeEventListener('visibilitychange', onVisibility);
  };
  add();
  // A closed link listens to nothing; `reconnect()` from `closed` listens again.
  link.on('state', ({ from, to }) => {
    if (to === 'closed') remove();
    else if (from === 'closed') add();
  });
}
