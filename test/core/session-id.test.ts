import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/core/protocol/sha256.js';
import {
  constantTimeEqual,
  defaultIdentify,
  newSessionSecret,
  ownedBy,
  ownerOf,
  ownerTag,
  publicIdOf,
  unmatchableTag,
} from '../../src/core/protocol/session-id.js';
import { testSeed } from '../support/seed.js';

const SEED = testSeed();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('sha256', () => {
  it('gives the FIPS 180-4 digests of the standard messages', () => {
    const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
    expect(hex(sha256(utf8('')))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hex(sha256(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('equals node:crypto for random inputs of every length around the block boundaries', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(hex(sha256(bytes))).toBe(createHash('sha256').update(bytes).digest('hex'));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

describe('session ids', () => {
  it('makes secrets of 128 random bits plus the owner tag, distinct every time', () => {
    const tag = ownerTag(defaultIdentify('alice'));
    const secrets = new Set(Array.from({ length: 10_000 }, () => newSessionSecret(tag)));
    expect(secrets.size).toBe(10_000);
    for (const s of [...secrets].slice(0, 100)) {
      expect(s).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/);
      expect(ownerOf(s)).toBe(tag);
      expect(ownedBy(s, tag)).toBe(true);
    }
  });

  it('binds a secret to its owner: another identity, a forged tag or a foreign id is refused', () => {
    const alice = ownerTag(defaultIdentify({ id: 'alice', role: 'admin' }));
    const bob = ownerTag(defaultIdentify({ id: 'bob', role: 'admin' }));
    const secret = newSessionSecret(alice);
    expect(ownedBy(secret, alice)).toBe(true);
    expect(ownedBy(secret, bob)).toBe(false);
    expect(ownedBy(secret.replace(/\..*/, `.${bob}`), alice)).toBe(false);
    expect(ownedBy('sess-1', alice)).toBe(false);
    expect(ownedBy(newSessionSecret(unmatchableTag()), ownerTag(defaultIdentify(undefined)))).toBe(false);
  });

  it('derives a public id that is stable for a secret and is not the secret or a part of it', () => {
    const secret = newSessionSecret(ownerTag('anonymous'));
    const id = publicIdOf(secret);
    expect(publicIdOf(secret)).toBe(id);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(secret.includes(id)).toBe(false);
    for (const part of secret.split('.')) expect(id.includes(part)).toBe(false);
    expect(publicIdOf(newSessionSecret(ownerTag('anonymous')))).not.toBe(id);
  });

  it('compares strings in constant time, correctly', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(a === b);
        expect(constantTimeEqual(a, a)).toBe(true);
      }),
      { seed: SEED, numRuns: 1_000 },
    );
  });
});

describe('defaultIdentify', () => {
  const same = (a: unknown, b: unknown): boolean => defaultIdentify(a) === defaultIdentify(b);

  it('is strict: a primitive is itself, an object its id, other plain data field by field', () => {
    expect(same(undefined, null)).toBe(true);
    expect(same('alice', 'alice')).toBe(true);
    expect(same('1', 1)).toBe(false);
    expect(same(0, -0)).toBe(true);
    expect(same(1n, 1)).toBe(false);
    expect(same(true, 'true')).toBe(false);
    expect(same(undefined, '')).toBe(false);
    expect(same({ id: 7, name: 'a' }, { id: 7, name: 'b' })).toBe(true);
    expect(same({ id: 7 }, { id: '7' })).toBe(false);
    expect(same({ user: 'a', org: 'x' }, { org: 'x', user: 'a' })).toBe(true);
    expect(same({ user: 'a', org: 'x' }, { user: 'a', org: 'y' })).toBe(false);
    expect(same({ user: 'a' }, { user: 'a', admin: true })).toBe(false);
    expect(same(['a', 1], ['a', 1])).toBe(true);
    expect(same(['a', 1], ['a', '1'])).toBe(false);
    expect(same({ id: 'x' }, 'x')).toBe(false);
  });

  it('refuses what it cannot compare: functions, symbols, class instances without an id, cycles', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const user of [() => 1, Symbol('u'), new Date(0), new Map(), cycle, { nested: new Date(0) }])
      expect(() => defaultIdentify(user)).toThrow(TypeError);
    class User {
      constructor(readonly id: string) {}
    }
    expect(same(new User('a'), { id: 'a' })).toBe(true);
  });

  it('gives distinct identities distinct tags (no collisions among 10,000)', () => {
    const tags = new Set<string>();
    for (let i = 0; i < 10_000; i++) tags.add(ownerTag(defaultIdentify({ id: i })));
    expect(tags.size).toBe(10_000);
  });
});
