// The section of a --baseline run: sockline at the old revision and now, measured in the same
// run, per bench, transport and metric, with each one's ratio to its raw transport.
import { baselineOf, splitSystem } from '../systems/index.mjs';
import { firstLine, fmt, num, ratio, table, valueOf } from './report.mjs';

/** A commit date as `2026-12-03 08:52 UTC`. */
const when = (iso) => `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** The first line of why every repetition of `system` in `bench` failed, or undefined. */
function failure(bench, system) {
  const reps = bench.systems?.[system]?.reps ?? [];
  const failed = reps.filter((r) => r.error !== undefined);
  if (reps.length === 0 || failed.length < reps.length) return undefined;
  return `failed: ${firstLine(failed[0].error, 120)}`;
}

/** One row per metric of each of the old revision's systems in a network bench. */
function networkRows(results, name, rev) {
  const b = results.benches[name];
  const rows = [];
  for (const system of Object.keys(b.systems)) {
    const { base, revision } = splitSystem(system);
    if (revision !== rev) continue;
    const raw = baselineOf(base);
    const transport = base.replace(/^sockline-/, '');
    for (const m of b.metrics) {
      const before = valueOf(results, name, system, m.key);
      const now = valueOf(results, name, base, m.key);
      const vsRaw = (v) => (raw === undefined ? '' : ratio(v / valueOf(results, name, raw, m.key)));
      rows.push([
        name,
        transport,
        m.label,
        failure(b, system) ?? fmt(before, m),
        failure(b, base) ?? fmt(now, m),
        ratio(now / before),
        vsRaw(before),
        vsRaw(now),
      ]);
    }
  }
  return rows;
}

/** The browser bundle rows of the old revision beside the current ones (min + gzip). */
function bundleRows(results, rev) {
  const rows = results.benches.bundle?.rows ?? [];
  return rows
    .filter((r) => r.revision === rev)
    .map((old) => {
      const now = rows.find((r) => r.revision === undefined && r.name === old.name);
      return [
        old.name,
        old.missing === undefined ? num(old.gzip) : '—',
        num(now?.gzip),
        ratio(now?.gzip / old.gzip),
      ];
    });
}

/**
 * The "Before and after" section of docs/benchmarks.md, or '' when the run had no baseline.
 * "Now ÷ before" divides the medians: below 1 is better for latency, memory and sizes, above 1 for
 * rates.
 */
export function renderBeforeAfter(results) {
  const base = results.meta.baseline;
  if (base === undefined) return '';
  const rev = base.rev;
  const parts = [
    `## Before and after (sockline at ${rev} and now, same run)`,
    '',
    `"Before" is sockline at \`${rev}\` (commit ${base.commit.slice(0, 12)} of ${when(base.date)}: ` +
      `${base.subject}), checked out and compiled from its src/node/index.ts the way the current source ` +
      `is, and run as systems of its own (\`sockline-tcp@${rev}\`, …) that take turns with the others ` +
      'within each repetition. "Now" is the current source. Both are medians of this run; "now ÷ before" ' +
      'divides them (below 1 is better for latency, memory and sizes, above 1 for rates), and "× raw" ' +
      'divides each by the raw transport (raw-net for tcp://, raw-ws for ws://) in the same metric.',
    '',
  ];
  const skipped = Object.entries(base.skipped ?? {}).filter(([name]) => name in results.benches);
  if (skipped.length > 0)
    parts.push(`Not run for ${rev}: ${skipped.map(([name, why]) => `\`${name}\` (${why})`).join('; ')}.`, '');
  // Scripts of their own (a cluster, hostile peers) import the current source only.
  const scripts = Object.entries(results.benches)
    .filter(([name, b]) => b.systems === undefined && name !== 'bundle')
    .map(([name]) => `\`${name}\``);
  if (scripts.length > 0)
    parts.push(
      `${scripts.join(' and ')} ${scripts.length === 1 ? 'measures' : 'measure'} the current source only (scripts of their own).`,
      '',
    );
  const rows = Object.entries(results.benches)
    .filter(([, b]) => b.systems !== undefined)
    .flatMap(([name]) => networkRows(results, name, rev));
  if (rows.length > 0)
    parts.push(
      table(
        ['bench', 'transport', 'metric', 'before', 'now', 'now ÷ before', 'before × raw', 'now × raw'],
        rows,
        ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
  const bundles = bundleRows(results, rev);
  if (bundles.length > 0) {
    parts.push(
      table(['browser bundle (min + gzip, B)', 'before', 'now', 'now ÷ before'], bundles),
      '',
      `The same esbuild bundle (minify, platform browser, format esm) of each import, resolved to ${rev}'s ` +
        'src/browser/index.ts for "before"; "—" where that revision does not export it.',
      '',
    );
  }
  return parts.join('\n');
}
