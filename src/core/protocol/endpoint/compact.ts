/** Dropped entries a consumed-from-the-front array may hold before it is copied. */
const KEEP_DROPPED = 1024;

/**
 * The array to keep for `items` once its first `head` entries are consumed: `items` itself,
 * or a fresh one without them (then the caller's head goes back to 0). A queue that shifts
 * by moving a head index instead of `Array.shift()` stays O(1) per entry; this bounds what
 * the consumed front costs: nothing once the queue is empty, at most half of it otherwise.
 */
export function compacted<T>(items: T[], head: number): T[] {
  if (head === items.length) return [];
  if (head > KEEP_DROPPED && head * 2 > items.length) return items.slice(head);
  return items;
}
