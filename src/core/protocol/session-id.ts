/**
 * Session ids, and who owns them (docs/protocol.md §7.3, SECURITY.md "Sessions").
 *
 * A session has two names:
 *
 * - the **resume secret**, `<128 random bits>.<owner tag>` in base64url: what WELCOME's
 *   `sessionId` carries to the client that owns the session, what its HELLO presents to
 *   resume, and the key of the session store. The random part comes from the runtime's
 *   CSPRNG (`crypto.getRandomValues`); the owner tag is the first 128 bits of SHA-256 of the
 *   owner's identity key (below). Only the owning client ever sees it.
 * - the **public id**, 128 bits of SHA-256 of the secret: `peer.id`, safe to show other
 *   clients, and useless for resuming (SHA-256 cannot be reversed).
 *
 * Because the owner is part of the secret, a resume is checked against the identity of the
 * client presenting it before any store is asked, in this process or another (a shared
 * Redis store needs no extra field), and without touching the owner's session when it fails.
 */

import { sha256 } from './sha256.js';

/** Turns what `authenticate` returned into a string: equal strings mean the same identity. */
export type Identify = (user: unknown) => string;

const RANDOM_BYTES = 16;
const TAG_BYTES = 16;
const PUBLIC_BYTES = 16;
const SEPARATOR = '.';
const encoder = new TextEncoder();

/**
 * The default {@link Identify}, strict: two results of `authenticate` are the same identity
 * only when
 *
 * - both are `undefined` or `null` (no hook, or an anonymous user);
 * - both are the same primitive: the same string, number (`-0` is `0`), bigint or boolean;
 *   a string and a number never match (`'1'` is not `1`);
 * - both are objects with an `id` property that is the same string, number or bigint;
 * - both are plain objects or arrays without an `id`, equal field by field (keys in any
 *   order, values by these same rules).
 *
 * Anything else (a function, a symbol, a class instance or Date without an `id`, a cycle)
 * cannot be compared: it throws a TypeError, and such a session can never be resumed.
 */
export function defaultIdentify(user: unknown): string {
  if (user === undefined || user === null) return 'anonymous';
  if (typeof user === 'object') {
    const id = (user as { id?: unknown }).id;
    if (typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint')
      return `id:${primitive(id)}`;
  }
  return serialize(user, new Set());
}

function primitive(value: string | number | bigint | boolean): string {
  switch (typeof value) {
    case 'string':
      return `s:${JSON.stringify(value)}`;
    case 'number':
      return `n:${Object.is(value, -0) ? '0' : String(value)}`;
    case 'bigint':
      return `i:${String(value)}`;
    default:
      return `b:${String(value)}`;
  }
}

function serialize(value: unknown, path: Set<object>): string {
  if (value === undefined || value === null) return String(value);
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'bigint':
    case 'boolean':
      return primitive(value);
    case 'object':
      break;
    default:
      throw new TypeError(`a ${typeof value} cannot identify a user`);
  }
  const object = value as object;
  if (path.has(object)) throw new TypeError('a user object with a cycle cannot be compared');
  path.add(object);
  let out: string;
  if (Array.isArray(object)) {
    out = `[${object.map((v) => serialize(v, path)).join(',')}]`;
  } else {
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null)
      throw new TypeError('a user object that is not a plain object needs an id (or an identify option)');
    const keys = Object.keys(object).sort();
    out = `{${keys.map((k) => `${JSON.stringify(k)}:${serialize((object as Record<string, unknown>)[k], path)}`).join(',')}}`;
  }
  path.delete(object);
  return out;
}

/** The last identity key given to {@link ownerTag}, and its tag. */
let lastIdentity: string | undefined;
let lastTag = '';

/**
 * The owner tag of an identity key: what a resume secret of that owner ends with. The last
 * one is remembered: a server without `authenticate` asks for the anonymous identity's tag
 * on every handshake, and sessions then share one string.
 */
export function ownerTag(identity: string): string {
  if (identity !== lastIdentity) {
    lastTag = base64url(sha256(utf8(identity)).subarray(0, TAG_BYTES));
    lastIdentity = identity;
  }
  return lastTag;
}

/** A tag no identity has: the owner of a session whose user could not be identified. */
export function unmatchableTag(): string {
  // An owner tag is TAG_BYTES long; this one is longer, so no identity's tag can equal it.
  return base64url(randomBytes(TAG_BYTES + 1));
}

/** A new resume secret for a session owned by `tag` (see the module comment). */
export function newSessionSecret(tag: string): string {
  // join, not concatenation: one flat string, kept as long as the session (see base64url).
  return [base64url(randomBytes(RANDOM_BYTES)), SEPARATOR, tag].join('');
}

/** The owner tag a resume secret carries; undefined for one not made by {@link newSessionSecret}. */
export function ownerOf(secret: string): string | undefined {
  const at = secret.indexOf(SEPARATOR);
  return at === -1 ? undefined : secret.slice(at + 1);
}

/** Whether `secret` belongs to the owner of `tag`, compared in constant time. */
export function ownedBy(secret: string, tag: string): boolean {
  const owner = ownerOf(secret);
  return owner !== undefined && constantTimeEqual(owner, tag);
}

/** The public id of a session: derived from its secret, and revealing nothing of it. */
export function publicIdOf(secret: string): string {
  return base64url(sha256(utf8(`sockline peer id\0${secret}`)).subarray(0, PUBLIC_BYTES));
}

/**
 * Whether two strings are equal, in a time that depends on their lengths only, not on
 * where they first differ (so a secret cannot be guessed one character at a time).
 */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++)
    diff |= (a.charCodeAt(i % (a.length || 1)) ^ b.charCodeAt(i % (b.length || 1))) | 0;
  return diff === 0;
}

/**
 * Where `utf8` encodes, reused: `TextEncoder.encode` makes a new buffer outside the JS heap for
 * every call (two per session a server opens). What is encoded is hashed at once, never kept.
 */
const UTF8_SCRATCH = new Uint8Array(256);

/** The UTF-8 bytes of `text`, in the scratch buffer when they fit (valid until the next call). */
function utf8(text: string): Uint8Array {
  // At most 3 bytes per UTF-16 code unit: a string that fits for sure is encoded in place.
  if (text.length * 3 > UTF8_SCRATCH.length) return encoder.encode(text);
  const { written } = encoder.encodeInto(text, UTF8_SCRATCH);
  return UTF8_SCRATCH.subarray(0, written);
}

/**
 * Random bytes drawn from the CSPRNG in blocks and handed out once each: one call (and one
 * buffer) per 64 sessions rather than a small native buffer for every one.
 */
const RANDOM_POOL = new Uint8Array(1024);
let randomTaken = RANDOM_POOL.length;

/**
 * `n` (at most 1,024) bytes from the runtime's CSPRNG, valid until the next call; throws where
 * there is none (no fallback for secrets).
 */
function randomBytes(n: number): Uint8Array {
  if (randomTaken + n > RANDOM_POOL.length) {
    const crypto = (globalThis as { crypto?: { getRandomValues?: (b: Uint8Array) => Uint8Array } }).crypto;
    if (crypto?.getRandomValues === undefined)
      throw new Error('crypto.getRandomValues is not available: session secrets need a CSPRNG');
    crypto.getRandomValues(RANDOM_POOL);
    randomTaken = 0;
  }
  const bytes = RANDOM_POOL.subarray(randomTaken, randomTaken + n);
  randomTaken += n;
  return bytes;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));

/**
 * Base64url without padding (RFC 4648 §5). The characters are collected and made into a
 * string at once: appending to a string makes a rope (one 32-byte node per append past 12
 * characters) that a session would keep for its whole life, twice (its secret and public id).
 */
function base64url(bytes: Uint8Array): string {
  const codes: number[] = [];
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    codes.push(CODES[n >>> 18]!, CODES[(n >>> 12) & 63]!, CODES[(n >>> 6) & 63]!, CODES[n & 63]!);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    codes.push(CODES[n >>> 18]!, CODES[(n >>> 12) & 63]!);
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    codes.push(CODES[n >>> 18]!, CODES[(n >>> 12) & 63]!, CODES[(n >>> 6) & 63]!);
  }
  return String.fromCharCode(...codes);
}
