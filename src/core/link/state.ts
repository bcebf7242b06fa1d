/**
 * The link's one state field. The user's intent lives in the states: `connecting` and
 * `reconnecting` mean the link is down but wanted; `closing` and `closed` mean it is not.
 *
 * ```
 *   from \ to      connecting  open  reconnecting  closing  closed
 *   connecting         .        yes      yes          .       yes
 *   open              yes        .       yes         yes      yes
 *   reconnecting      yes        .        .           .       yes
 *   closing            .         .        .           .       yes
 *   closed            yes        .        .           .        .
 * ```
 *
 * - `connecting`: one attempt is in flight (the first, or a later one).
 * - `open`: a transport is open; `send()` writes through.
 * - `reconnecting`: the last attempt failed or the link was lost; waiting out the backoff delay.
 * - `closing`: `close()` was called on an open link; buffered bytes are being flushed.
 * - `closed`: nothing is open and nothing is scheduled. `reconnect()` starts again.
 *
 * `open → connecting` is `reconnect()` on an open link; `connecting → closed` is `close()`,
 * an abort, `maxRetries`, or `shouldReconnect` returning false.
 */
export const LinkStates = {
  connecting: 'connecting',
  open: 'open',
  reconnecting: 'reconnecting',
  closing: 'closing',
  closed: 'closed',
} as const;

export type LinkState = (typeof LinkStates)[keyof typeof LinkStates];

const transitions: Readonly<Record<LinkState, ReadonlySet<LinkState>>> = {
  connecting: new Set(['open', 'reconnecting', 'closed']),
  open: new Set(['connecting', 'reconnecting', 'closing', 'closed']),
  reconnecting: new Set(['connecting', 'closed']),
  closing: new Set(['closed']),
  closed: new Set(['connecting']),
};

/** Whether the table allows `from → to`. A same-state "transition" is never allowed. */
export function canTransition(from: LinkState, to: LinkState): boolean {
  return transitions[from].has(to);
}
