import { optionTypeError, unknownOptionError } from './messages.js';

/**
 * What an option may hold: a `typeof` name; `false`; `array`; `bytes` (a Uint8Array);
 * `strings` (an object of string values, such as headers); or a nested {@link Schema} for a
 * plain object whose keys are checked in turn. `object` is any object, not looked into.
 */
export type Kind =
  'number' | 'string' | 'boolean' | 'function' | 'object' | 'false' | 'array' | 'bytes' | 'strings' | Schema;

/** The options an object may have, each with the kinds it may hold. Every option is optional. */
export interface Schema {
  readonly [name: string]: Kind | readonly Kind[];
}

const WORDS: Record<Exclude<Kind, Schema>, string> = {
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  function: 'a function',
  object: 'an object',
  false: 'false',
  array: 'an array',
  bytes: 'a Uint8Array',
  strings: 'an object of strings',
};

/**
 * Checks an options object against `schema`, once, at the public boundary: an unknown name
 * (with the closest known one as a hint) or a value of the wrong kind throws a `TypeError`
 * carrying `ERR_INVALID_OPTION`. `undefined` counts as absent. Ranges are the resolvers' job.
 *
 * @example
 * checkOptions({ reconect: false }, { reconnect: ['false', {}] }, 'connect');
 * // TypeError: Unknown option reconect (did you mean reconnect?)
 */
export function checkOptions(value: unknown, schema: Schema, path = ''): void {
  if (value === undefined) return;
  if (!isPlainObject(value)) throw optionTypeError(path || 'options', 'an object', value);
  const prefix = path === '' ? '' : `${path}.`;
  for (const name of Object.keys(value)) {
    const spec = Object.hasOwn(schema, name) ? schema[name] : undefined;
    if (spec === undefined) throw unknownOptionError(name, prefix, Object.keys(schema));
    const option = (value as Record<string, unknown>)[name];
    if (option !== undefined) checkKind(option, Array.isArray(spec) ? spec : [spec as Kind], prefix + name);
  }
}

function checkKind(value: unknown, kinds: readonly Kind[], name: string): void {
  for (const kind of kinds) {
    if (typeof kind !== 'string') {
      if (isPlainObject(value)) return checkOptions(value, kind, name);
    } else if (matches(value, kind)) {
      return;
    }
  }
  throw optionTypeError(
    name,
    kinds.map((k) => (typeof k === 'string' ? WORDS[k] : 'an object')).join(' or '),
    value,
  );
}

function matches(value: unknown, kind: Exclude<Kind, Schema>): boolean {
  switch (kind) {
    case 'false':
      return value === false;
    case 'array':
      return Array.isArray(value);
    case 'bytes':
      return value instanceof Uint8Array;
    case 'object':
      return typeof value === 'object' && value !== null;
    case 'strings':
      return isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string');
    default:
      return typeof value === kind;
  }
}

/** `{…}`, `Object.create(null)` or a frozen literal: not an array, a class instance or a function. */
export function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  // Some realm's Object.prototype (an iframe's too) is the one prototype whose prototype is null.
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}
