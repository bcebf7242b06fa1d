/** The wording of option errors: see `useOptionTexts` in messages.ts. */
export interface OptionTexts {
  /** An unknown option `prefix + name`; `known` are the names it could have meant. */
  unknown(name: string, prefix: string, known: readonly string[]): string;
  type(what: string, name: string, expected: string, value: unknown): string;
  /** An option of the other mode: `mode` is the mode asked for. */
  mode(name: string, mode: 'raw' | 'protocol'): string;
  range(what: string, name: string, value: unknown, expected: string | undefined): string;
}

/** The long texts: what was expected, the value described, a did-you-mean for a typo. */
export const verboseTexts: OptionTexts = {
  unknown(name, prefix, known) {
    const hint = didYouMean(name, known);
    return `Unknown option ${prefix}${name}${hint === undefined ? '' : ` (did you mean ${prefix}${hint}?)`}`;
  },
  type: (what, name, expected, value) =>
    `Invalid ${what} ${name}: expected ${expected}, got ${describe(value)}`,
  mode: (name, mode) =>
    `Invalid option ${name}: it is an option of ${mode === 'raw' ? 'protocol' : 'raw'} mode, not of ${mode} mode`,
  range: (what, name, value, expected) =>
    `Invalid ${what} ${name}: ${describe(value)}${expected === undefined ? '' : ` (expected ${expected})`}`,
};

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
