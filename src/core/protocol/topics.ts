/**
 * Topics are `/`-separated levels. In a subscription pattern `+` matches exactly one level
 * and `#` matches any number of trailing levels (zero included) and may only come last —
 * the MQTT rules, which users already know. A published topic has no wildcards. Topics and
 * request method names share the wire's name rules (1 to 256 UTF-8 bytes, well-formed).
 */

import type { SocklineError } from '../errors.js';
import type { SubrefuseFrame } from './frames.js';
import { argumentTypeError } from '../options/messages.js';
import { LONE_SURROGATE } from './codec.js';
import { remoteError } from './rpc.js';

const MAX_NAME_BYTES = 256;
const encoder = new TextEncoder();

/**
 * A wildcard that is not a whole level (`a+`, `#b`), or a `#` level that is not the last
 * (`#/a`). Only a malformed pattern matches.
 */
const MISPLACED_WILDCARD = /[^/][+#]|[+#][^/]|(?:^|\/)#\//;

/** Throws `TypeError` for a pattern that cannot match anything sensible. */
export function validatePattern(pattern: string): void {
  checkLength(pattern);
  if (MISPLACED_WILDCARD.test(pattern)) {
    throw new TypeError(
      `Invalid topic pattern "${pattern}": a wildcard must be a whole level, and '#' the last`,
    );
  }
}

/** Throws `TypeError` for a topic that cannot be published to. */
export function validateTopic(topic: string): void {
  checkLength(topic);
  if (/[+#]/.test(topic)) throw new TypeError(`Invalid topic "${topic}": wildcards are for subscriptions`);
}

function checkLength(topic: string): void {
  if (!isName(topic)) {
    throw new TypeError(`A topic must be a well-formed string of 1 to ${MAX_NAME_BYTES} UTF-8 bytes`);
  }
}

/**
 * Throws a `TypeError` (`ERR_INVALID_OPTION`) for a method name the wire cannot carry, before
 * the request takes a place in the session: written, the server would end the connection.
 */
export function validateMethod(method: unknown): asserts method is string {
  if (!isName(method)) {
    throw argumentTypeError('method', `a well-formed string of 1 to ${MAX_NAME_BYTES} UTF-8 bytes`, method);
  }
}

/**
 * A topic or method name as docs/protocol.md §5.2 bounds it: 1 to 256 UTF-8 bytes, no lone
 * surrogate (§2.3). A character is at most 3 UTF-8 bytes (4 for a surrogate pair), so a short
 * name is not encoded to be measured.
 */
function isName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    !LONE_SURROGATE.test(name) &&
    (name.length <= MAX_NAME_BYTES / 3 || encoder.encode(name).byteLength <= MAX_NAME_BYTES)
  );
}

/** Whether `topic` (no wildcards) matches `pattern`. Iterative, no regular expressions. */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === topic) return true;
  let p = 0;
  let t = 0;
  for (;;) {
    const pEnd = pattern.indexOf('/', p);
    const pLevel = pattern.slice(p, pEnd === -1 ? undefined : pEnd);
    if (pLevel === '#') return true;
    if (t > topic.length) return false;
    const tEnd = topic.indexOf('/', t);
    const tLevel = topic.slice(t, tEnd === -1 ? undefined : tEnd);
    if (pLevel !== '+' && pLevel !== tLevel) return false;
    if (pEnd === -1 || tEnd === -1) {
      // One side ran out: a match only if both did, or the pattern ends with '/#'.
      if (pEnd === -1 && tEnd === -1) return true;
      if (tEnd === -1 && pEnd !== -1) return pattern.slice(pEnd + 1) === '#';
      return false;
    }
    p = pEnd + 1;
    t = tEnd + 1;
  }
}

/**
 * The error a client emits for a SUBREFUSE (docs/protocol.md §4.12): a SocklineError of the
 * frame's code (`ERR_TOO_MANY_SUBSCRIPTIONS`...) when sockline defines it, a RemoteError for
 * an application's own code; `topic` is the refused pattern.
 */
export function subscriptionError(frame: SubrefuseFrame): SocklineError & { readonly topic: string } {
  const error = remoteError(frame.code, `subscription to "${frame.topic}" refused: ${frame.message}`);
  return Object.assign(error, { topic: frame.topic });
}
