import { ErrorCodes, type OptionError } from '../errors.js';

/**
 * Every text the option checks produce, in one place: the checks themselves only pick a
 * template and its values, so the wording can change (or shrink) without touching them.
 */
const text = {
  unknown: (name: string, hint: string | undefined): string =>
    `Unknown option ${name}${hint === undefined ? '' : ` (did you mean ${hint}?)`}`,
  type: (what: string, name: string, expected: string, value: unknown): string =>
    `Invalid ${what} ${name}: expected ${expected}, got ${describe(value)}`,
  mode: (name: string, mode: string): string =>
    `Invalid option ${name}: it is an option of ${mode === 'raw' ? 'protocol' : 'raw'} mode, not of ${mode} mode`,
  range: (what: string, name: string, value: unknown, expected: string | undefined): string =>
    `Invalid ${what} ${name}: ${describe(value)}${expected === undefined ? '' : ` (expected ${expected})`}`,
};

/** A `TypeError`: option `name` holds a value of the wrong type. Carries `ERR_INVALID_OPTION`. */
export function optionTypeError(name: string, expected: string, value: unknown): OptionError {
  return coded(new TypeError(text.type('option', name, expected, value)));
}

/** A `RangeError`: option `name` has the right type but a value out of range. Carries `ERR_INVALID_OPTION`. */
export function optionRangeError(name: string, value: unknown, expected?: string): OptionError {
  return coded(new RangeError(text.range('option', name, value, expected)));
}

/** A `TypeError`: an option of the other mode of `connect()` (`token` in raw mode). */
export function optionModeError(name: string, mode: 'raw' | 'sockline'): OptionError {
  return coded(new TypeError(text.mode(name, mode === 'raw' ? 'raw' : 'protocol')));
}

/** A `TypeError` for a bad argument of a method (`request()`'s method name…). Carries `ERR_INVALID_OPTION`. */
export function argumentTypeError(name: string, expected: string, value: unknown): OptionError {
  return coded(new TypeError(text.type('argument', name, expected, value)));
}

/** A `TypeError` for an option no one knows, with the closest known name as a hint. */
export function unknownOptionError(name: string, prefix: string, known: readonly string[]): OptionError {
  const hint = didYouMean(name, known);
  return coded(new TypeError(text.unknown(prefix + name, hint === undefined ? undefined : prefix + hint)));
}

function coded(error: TypeError | RangeError): OptionError {
  (error as { code?: string }).code = ErrorCodes.INVALID_OPTION;
  return error as OptionError;
}

/**
 * The known name closest to `name`, if one is close enough to be a typo: the same letters in
 * another case, or at most one edit per three letters (two for short names).
 */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.ceil(name.length / 3)) + 1;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase());
    // On a tie the longer shared start wins: typos happen at the end more than at the start.
    if (
      d < bestDistance ||
      (d === bestDistance && best !== undefined && shared(lower, candidate) > shared(lower, best))
    ) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** How many leading characters `a` and `b` share, ignoring case. */
function shared(a: string, b: string): number {
  const lb = b.toLowerCase();
  let i = 0;
  while (i < a.length && a[i] === lb[i]) i++;
  return i;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + cost);
    }
    row = next;
  }
  return row[b.length]!;
}

/** A value as an error message shows it: strings quoted, objects by their class. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) {
    const name = (value as object).constructor?.name;
    return name === undefined || name === 'Object' ? 'an object' : `a ${name}`;
  }
  return String(value);
}
