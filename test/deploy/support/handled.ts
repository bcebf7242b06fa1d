import type { LoggedMessage } from '../../support/cluster.js';

/**
 * What the application's `peer.on('message')` handlers saw of one sender's numbered messages,
 * told as runs: each run is a stretch handled by one process, and `contiguous` says it holds
 * every number from `from` to `to` once, in order. A sender that streams 0..N-1 and never
 * moves gives one run; one whose process dies gives one run there and one where it resumed,
 * and the second starts at or before the first's end + 1 (a start before it is the repeats).
 */
export interface HandledRun {
  readonly node: string;
  readonly from: number;
  readonly to: number;
  readonly contiguous: boolean;
}

/** The runs of the messages `{ s: sender, n }` in `log` (in the order the handlers ran). */
export function handledRuns(log: readonly LoggedMessage[], sender: number): HandledRun[] {
  const runs: Array<{ node: string; values: number[] }> = [];
  for (const { node, value } of log) {
    const { s, n } = value as { s?: unknown; n?: unknown };
    if (s !== sender || typeof n !== 'number') continue;
    const last = runs.at(-1);
    if (last?.node === node) last.values.push(n);
    else runs.push({ node, values: [n] });
  }
  return runs.map(({ node, values }) => ({
    node,
    from: values[0]!,
    to: values.at(-1)!,
    contiguous: values.every((v, k) => v === values[0]! + k),
  }));
}

/** How many different numbers of `sender` were handled (its first arrivals). */
export function handledCount(log: readonly LoggedMessage[], sender: number): number {
  const seen = new Set<number>();
  for (const { value } of log) {
    const { s, n } = value as { s?: unknown; n?: unknown };
    if (s === sender && typeof n === 'number') seen.add(n);
  }
  return seen.size;
}
