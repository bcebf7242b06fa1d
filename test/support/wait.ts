import type { LinkState } from '../../src/core/link/state.js';

/** Anything with a link state: a Link or a protocol client. Runs in Node and in the browser. */
interface Stateful {
  readonly state: LinkState;
  on(event: 'state', listener: (change: { from: LinkState; to: LinkState }) => void): () => void;
}

/** Resolves when `target` reaches `state` (at once if it is there already). */
export function waitState(target: Stateful, state: LinkState): Promise<void> {
  if (target.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const off = target.on('state', ({ to }) => {
      if (to === state) {
        off();
        resolve();
      }
    });
  });
}
