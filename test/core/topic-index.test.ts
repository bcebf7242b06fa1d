import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TopicIndex } from '../../src/core/protocol/topic-index.js';
import { topicMatches, validatePattern, validateTopic } from '../../src/core/protocol/topics.js';
import { testSeed } from '../support/seed.js';

const SEED = testSeed();

/** Levels drawn from a small alphabet, so random patterns and topics often meet. */
const literal = fc.constantFrom('a', 'b', 'c', '', 'lobby', '__proto__');
const topicArb = fc
  .array(literal, { minLength: 1, maxLength: 5 })
  .map((levels) => levels.join('/'))
  .filter((t) => t.length > 0);
const patternArb = fc
  .tuple(fc.array(fc.oneof(literal, fc.constant('+')), { minLength: 0, maxLength: 5 }), fc.boolean())
  .filter(([levels, hash]) => levels.length > 0 || hash)
  .map(([levels, hash]) => [...levels, ...(hash ? ['#'] : [])].join('/'))
  .filter((p) => {
    try {
      validatePattern(p);
      return true;
    } catch {
      return false;
    }
  });

/** What a full scan with the oracle finds: each subscriber with a matching pattern. */
function oracle(pairs: ReadonlyArray<readonly [string, number]>, topic: string): Set<number> {
  return new Set(pairs.filter(([p]) => topicMatches(p, topic)).map(([, s]) => s));
}

describe('TopicIndex', () => {
  it('matches literal levels, + as one level, # as any number of trailing levels', () => {
    const index = new TopicIndex<string>();
    index.add('chat/lobby', 'exact');
    index.add('chat/+', 'plus');
    index.add('chat/#', 'hash');
    index.add('#', 'all');
    index.add('+/+/x', 'deep');
    index.add('news/#', 'news');
    expect(index.match('chat/lobby')).toEqual(new Set(['exact', 'plus', 'hash', 'all']));
    expect(index.match('chat')).toEqual(new Set(['hash', 'all']));
    expect(index.match('chat/a/x')).toEqual(new Set(['hash', 'all', 'deep']));
    expect(index.match('other')).toEqual(new Set(['all']));
    expect(index.size).toBe(6);
  });

  it('visits a subscriber once however many of its patterns match', () => {
    const index = new TopicIndex<string>();
    for (const p of ['a/b', 'a/+', 'a/#', '#', '+/b']) index.add(p, 'one');
    index.add('a/b', 'two');
    const seen: string[] = [];
    expect(index.forEachMatch('a/b', (s) => seen.push(s))).toBe(2);
    expect(seen.sort()).toEqual(['one', 'two']);
  });

  it('adds a pair once, deletes exactly that pair, and prunes the nodes it alone kept', () => {
    const index = new TopicIndex<number>();
    expect(index.add('a/+/c', 1)).toBe(true);
    expect(index.add('a/+/c', 1)).toBe(false);
    expect(index.add('a/+/c', 2)).toBe(true);
    expect(index.size).toBe(2);
    expect(index.delete('a/#', 1)).toBe(false);
    expect(index.delete('a/+/c', 3)).toBe(false);
    expect(index.delete('a/+/c', 1)).toBe(true);
    expect(index.has('a/+/c', 1)).toBe(false);
    expect(index.has('a/+/c', 2)).toBe(true);
    expect(index.match('a/x/c')).toEqual(new Set([2]));
    expect(index.delete('a/+/c', 2)).toBe(true);
    expect(index.size).toBe(0);
    expect(index.match('a/x/c').size).toBe(0);
    // Nothing left behind: the same pattern can be added again from an empty tree.
    expect(index.add('a/+/c', 1)).toBe(true);
    expect(index.match('a/x/c')).toEqual(new Set([1]));
  });

  it('treats names that mean something in JavaScript as plain levels', () => {
    const index = new TopicIndex<string>();
    index.add('__proto__/constructor', 'x');
    index.add('toString/#', 'y');
    expect(index.match('__proto__/constructor')).toEqual(new Set(['x']));
    expect(index.match('toString')).toEqual(new Set(['y']));
    expect(index.match('hasOwnProperty').size).toBe(0);
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
  });

  it('lets a visit remove and add pairs without breaking the walk', () => {
    const index = new TopicIndex<number>();
    for (let i = 0; i < 10; i++) index.add('t', i);
    const seen: number[] = [];
    index.forEachMatch('t', (s) => {
      seen.push(s);
      index.delete('t', s);
    });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(index.size).toBe(0);
  });

  it('does not look at unrelated patterns: a publish walks the branches its topic reaches', () => {
    // Counting visits through a Map subclass would tie the test to the layout; instead the
    // same publish must find the same subscribers with 0 and with 200,000 unrelated patterns.
    const index = new TopicIndex<number>();
    index.add('chat/lobby', 1);
    index.add('chat/+', 2);
    for (let i = 0; i < 200_000; i++) index.add(`other/${i}/x`, 3 + i);
    expect(index.size).toBe(200_002);
    expect(index.match('chat/lobby')).toEqual(new Set([1, 2]));
    expect(index.match('other/7/x')).toEqual(new Set([10]));
  });
});

describe('TopicIndex: properties (topicMatches is the oracle)', () => {
  it('finds exactly the subscribers a full scan finds, for random patterns and topics', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(patternArb, fc.integer({ min: 0, max: 7 })), { maxLength: 40 }),
        fc.array(topicArb, { minLength: 1, maxLength: 10 }),
        (pairs, topics) => {
          const index = new TopicIndex<number>();
          for (const [p, s] of pairs) index.add(p, s);
          expect(index.size).toBe(new Set(pairs.map(([p, s]) => `${s} ${p}`)).size);
          for (const topic of topics) {
            validateTopic(topic);
            const visited: number[] = [];
            index.forEachMatch(topic, (s) => visited.push(s));
            expect(visited.length).toBe(new Set(visited).size);
            expect(new Set(visited)).toEqual(oracle(pairs, topic));
          }
        },
      ),
      { seed: SEED, numRuns: 1_000 },
    );
  });

  it('stays equal to the oracle through random adds and deletes, and empties completely', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), patternArb, fc.integer({ min: 0, max: 3 })), { maxLength: 80 }),
        topicArb,
        (ops, topic) => {
          const index = new TopicIndex<number>();
          const held = new Map<string, readonly [string, number]>();
          for (const [add, p, s] of ops) {
            const key = `${s} ${p}`;
            if (add) expect(index.add(p, s)).toBe(!held.has(key));
            else expect(index.delete(p, s)).toBe(held.has(key));
            if (add) held.set(key, [p, s]);
            else held.delete(key);
            expect(index.size).toBe(held.size);
          }
          expect(index.match(topic)).toEqual(oracle([...held.values()], topic));
          for (const [p, s] of held.values()) expect(index.delete(p, s)).toBe(true);
          expect(index.size).toBe(0);
          expect(index.match(topic).size).toBe(0);
        },
      ),
      { seed: SEED, numRuns: 1_000 },
    );
  });
});
