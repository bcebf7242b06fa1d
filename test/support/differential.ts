import fc from 'fast-check';

/**
 * Pieces of the tests that run two implementations of one behaviour side by side (the full
 * and the compact client, the general and the compact link) and compare what they do.
 */

/** What one call did: its result, or the class, code and `sent` of what it threw. */
export type Outcome = { ok: unknown } | { threw: string; code?: string; sent?: boolean };

/** The outcome of `run`, a promise's once it settles (`plain` turns its value comparable). */
export function outcomeOf(
  run: () => unknown,
  plain: (v: unknown) => unknown = (v) => v,
): Outcome | Promise<Outcome> {
  const failed = (e: unknown): Outcome => ({
    threw: (e as Error)?.constructor?.name ?? typeof e,
    code: (e as { code?: string })?.code,
    sent: (e as { sent?: boolean })?.sent,
  });
  try {
    const result = run();
    if (result instanceof Promise) return result.then((v) => ({ ok: plain(v) }), failed);
    return { ok: typeof result === 'function' ? 'disposer' : result };
  } catch (e) {
    return failed(e);
  }
}

/** Number-like option values, good and bad. */
const optionNumber = fc.constantFrom<unknown>(
  0,
  -1,
  0.5,
  1,
  1.5,
  50,
  2 ** 31,
  2 ** 32,
  NaN,
  Infinity,
  '5',
  null,
  false,
  true,
);

/**
 * Option objects of up to three of `names` (and a misspelt one), holding numbers good and
 * bad, `extra` values, or the nested objects `nested` names (`reconnect`, `outbox`…) with
 * numbers good and bad.
 */
export function optionObjects(
  names: readonly string[],
  nested: Readonly<Record<string, readonly string[]>>,
  extra: readonly unknown[] = [],
): fc.Arbitrary<Record<string, unknown>> {
  const inner = (keys: readonly string[]): fc.Arbitrary<unknown> =>
    fc.oneof(
      fc.dictionary(fc.constantFrom(...keys, 'nope'), optionNumber, { maxKeys: 3 }),
      fc.constantFrom<unknown>(false, true, 5, 'x', null),
    );
  return fc.dictionary(
    fc.constantFrom(...names, ...Object.keys(nested), 'reconect'),
    fc.oneof(optionNumber, fc.constantFrom<unknown>('x', ...extra), ...Object.values(nested).map(inner)),
    { maxKeys: 3 },
  );
}

/**
 * Whether `make` accepted the options (then the thing it made is closed) or what it threw:
 * class, code and message, less the range a full implementation adds in parentheses (the
 * compact ones leave it to `sockline/verbose`), so the same option and value must be named.
 */
export async function constructionOutcome(make: () => { close(): Promise<unknown> }): Promise<unknown> {
  let made: { close(): Promise<unknown> };
  try {
    made = make();
  } catch (e) {
    const { name, message, code } = e as Error & { code?: string };
    return { name, message: message.replace(/ \(expected [^)]*\)$/, ''), code };
  }
  await made.close();
  return 'accepted';
}
