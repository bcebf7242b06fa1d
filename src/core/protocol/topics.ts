/**
 * Topics are `/`-separated levels. In a subscription pattern `+` matches exactly one level
 * and `#` matches any number of trailing levels (zero included) and may only come last —
 * the MQTT rules, which users already know. A published topic has no wildcards.
 */

const MAX_TOPIC_BYTES = 256;
const encoder = new TextEncoder();

/** Throws `TypeError` for a pattern that cannot match anything sensible. */
export function validatePattern(pattern: string): void {
  checkLength(pattern);
  const levels = pattern.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === '#' && i !== levels.length - 1) {
      throw new TypeError(`Invalid topic pattern "${pattern}": '#' may only be the last level`);
    }
    if (level.length > 1 && (level.includes('#') || level.includes('+'))) {
      throw new TypeError(`Invalid topic pattern "${pattern}": a wildcard must be a whole level`);
    }
  }
}

/** Throws `TypeError` for a topic that cannot be published to. */
export function validateTopic(topic: string): void {
  checkLength(topic);
  if (topic.includes('+') || topic.includes('#')) {
    throw new TypeError(`Invalid topic "${topic}": wildcards are for subscriptions, not for publishing`);
  }
}

function checkLength(topic: string): void {
  if (typeof topic !== 'string' || topic.length === 0)
    throw new TypeError('A topic must be a non-empty string');
  // The wire limit is in bytes: a character is at most 3 UTF-8 bytes (4 for a surrogate pair).
  if (topic.length > MAX_TOPIC_BYTES / 3 && encoder.encode(topic).byteLength > MAX_TOPIC_BYTES) {
    throw new TypeError(`Topic longer than ${MAX_TOPIC_BYTES} UTF-8 bytes: ${topic.slice(0, 32)}…`);
  }
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
