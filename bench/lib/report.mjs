// Markdown from the results: one table per bench, ratios and targets, and the whole of
// docs/benchmarks.md.
import { SYSTEMS, baselineOf, splitSystem } from '../systems/index.mjs';
import { renderBeforeAfter } from './before-after.mjs';
import { TARGETS, check, describeBound } from './targets.mjs';

/** A markdown table; `align` per column: 'l' or 'r'. */
export function table(columns, rows, align = columns.map((_, i) => (i === 0 ? 'l' : 'r'))) {
  const esc = (cell) => String(cell ?? '').replaceAll('|', '\\|');
  const out = [`| ${columns.map(esc).join(' | ')} |`];
  out.push(`| ${align.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`);
  for (const row of rows) out.push(`| ${row.map(esc).join(' | ')} |`);
  return out.join('\n');
}

export const num = (v, digits = 0) =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';
export const fmt = (v, metric) =>
  metric.percent ? `${num(v * 100, metric.digits)}%` : num(v, metric.digits);
export const ratio = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '—');
const mark = (met) => (met === undefined ? '—' : met ? 'met' : 'MISSED');

/** The first line of an error, without its `Error: `, at most `max` characters. */
export const firstLine = (error, max) =>
  error
    .split('\n')[0]
    .replace(/^Error: /, '')
    .slice(0, max);

/** The median of `metric` for `system` in `bench`, NaN when not measured. */
export function valueOf(results, bench, system, metric) {
  const b = results.benches[bench];
  if (b === undefined) return NaN;
  if (bench === 'bundle')
    return b.rows?.find((r) => r.name === system && r.revision === undefined)?.[metric] ?? NaN;
  // A script's table: its figures by row and metric.
  if (b.table !== undefined) return b.table.values?.[system]?.[metric] ?? NaN;
  return b.systems?.[system]?.summary?.[metric]?.median ?? NaN;
}

export function checkTargets(results) {
  return TARGETS.filter((t) => results.benches[t.bench] !== undefined).map((t) => ({
    ...t,
    ...check(t, (b, s, m) => valueOf(results, b, s, m)),
  }));
}

function targetCell(targets, bench, system, against) {
  const t = targets.find((x) => x.bench === bench && x.system === system && x.against === against);
  return t === undefined ? '' : `${mark(t.met)} (${describeBound(t)})`;
}

function systemTable(results, name, targets) {
  const b = results.benches[name];
  const metrics = b.metrics;
  const primary = metrics.find((m) => m.key === b.primary);
  const columns = ['system'];
  for (const m of metrics) columns.push(`${m.label} (median)`, 'spread (min–max)');
  const withRatios = b.ratios !== false;
  const absolute = targets.some((t) => t.bench === name && t.against === undefined);
  if (withRatios) columns.push(`× raw transport (${primary.label})`, 'target', '× socket.io', 'target');
  if (absolute) columns.push('target');
  const rows = [];
  for (const [system, s] of Object.entries(b.systems)) {
    // The old revision of a --baseline run has a section of its own (bench/lib/before-after.mjs).
    if (splitSystem(system).revision !== undefined) continue;
    const row = [system];
    const failed = s.reps.filter((r) => r.error !== undefined);
    if (failed.length === s.reps.length) {
      row.push(`failed: ${firstLine(failed[0].error, 160)}`);
      rows.push(row);
      continue;
    }
    for (const m of metrics) {
      const sum = s.summary[m.key];
      row.push(fmt(sum.median, m), sum.n > 1 ? `${fmt(sum.min, m)}–${fmt(sum.max, m)}` : '');
    }
    if (failed.length > 0) row[0] += ` (${failed.length} of ${s.reps.length} reps failed)`;
    if (s.note) row[0] += ` (${s.note})`;
    if (withRatios) {
      const base = baselineOf(system);
      const mine = s.summary[primary.key].median;
      const vsBase = base && valueOf(results, name, base, primary.key);
      row.push(base ? `${ratio(mine / vsBase)} ${base}` : '', targetCell(targets, name, system, base));
      const io = system.startsWith('sockline') ? valueOf(results, name, 'socket.io', primary.key) : NaN;
      row.push(Number.isFinite(io) ? ratio(mine / io) : '', targetCell(targets, name, system, 'socket.io'));
    }
    if (absolute) row.push(targetCell(targets, name, system, undefined));
    rows.push(row);
  }
  return table(columns, rows);
}

function bundleTable(results, targets) {
  const rows = results.benches.bundle.rows.filter((r) => r.revision === undefined);
  const esm = rows.find((r) => r.name.startsWith('sockline (ESM'));
  return table(
    ['bundle', 'version', 'measured', 'min (B)', 'min+gzip (B)', '× sockline ESM (gzip)', 'target'],
    rows.map((r) => [
      r.name,
      r.version ?? '',
      r.source,
      num(r.min),
      num(r.gzip),
      esm ? ratio(r.gzip / esm.gzip) : '',
      targetCell(targets, 'bundle', r.name, undefined),
    ]),
  );
}

/** The table of a bench that is a script of its own (bench/lib/script-table.mjs). */
function scriptSection(c) {
  if (c.skipped || c.error) return `_${c.skipped ?? `failed: ${c.error}`}._`;
  const t = c.table;
  const parts = [`**${t.title}**`, '', table(t.columns, t.rows)];
  if (t.notes) parts.push('', t.notes);
  return parts.join('\n');
}

/** The tables of every bench that ran, then the targets. */
export function renderTables(results) {
  const targets = results.targets;
  const parts = [];
  for (const [name, b] of Object.entries(results.benches)) {
    parts.push(`### ${b.title}`, '');
    if (name === 'bundle') parts.push(b.error ? `_failed: ${b.error}_` : bundleTable(results, targets));
    else if (b.systems === undefined) parts.push(scriptSection(b));
    else parts.push(systemTable(results, name, targets));
    parts.push('');
  }
  if (targets.length > 0) {
    parts.push('### Targets', '');
    parts.push(
      table(
        ['target', 'measured', 'met'],
        targets.map((t) => [
          `${t.bench} ${t.metric}: ${t.system} ${describeBound(t)}`,
          t.percent
            ? fmt(t.value, { percent: true, digits: 1 })
            : t.unit
              ? `${num(t.value)} ${t.unit}`
              : ratio(t.value),
          mark(t.met),
        ]),
        ['l', 'r', 'l'],
      ),
    );
    const met = targets.filter((t) => t.met === true).length;
    parts.push('', `${met} of ${targets.length} targets met.`, '');
  }
  return parts.join('\n');
}

/** The whole of docs/benchmarks.md. */
export function renderDocument(results, cases) {
  const m = results.meta;
  const mc = m.machine;
  const lines = [
    '# Benchmarks',
    '',
    `<!-- Generated by bench/run.mjs (npm run bench) on ${m.date}. Do not edit: run the bench again. -->`,
    '',
    'sockline against the libraries it replaces and against the raw transports it is built on, in the ' +
      'same run on the same machine. Ratios compare medians from this run only.',
    '',
    '## How to run',
    '',
    '```sh',
    'npm run bench                                   # everything, the numbers below',
    'npm run bench -- --quick                        # a smoke run: 1 rep, smaller counts',
    'npm run bench -- --only rtt,pipelined           # some benches',
    'npm run bench -- --systems raw-ws,sockline-ws   # some systems',
    'npm run bench -- --baseline fe04ca7             # sockline at that revision too: before and after',
    '```',
    '',
    'It compiles src/ with esbuild first, so it measures the working tree, not dist/. Results also go to ' +
      '`bench/results/latest.json`. A run with `--quick`, `--only` or `--systems` leaves this file alone ' +
      'unless `--docs` is given.',
    '',
    '## Machine',
    '',
    `- CPU: ${mc.cpu}, ${mc.cores} cores; RAM ${mc.ramGiB} GiB; ${mc.os}`,
    `- Node ${mc.node}; sockline ${mc.sockline}`,
    `- ${Object.entries(mc.packages)
      .map(([p, v]) => `${p} ${v}`)
      .join(', ')}`,
    `- ${m.pinning}`,
    ...(m.loadBefore === undefined
      ? []
      : [
          `- 1-minute load average ${m.loadBefore.toFixed(2)} before the run and ${m.loadAfter.toFixed(2)} ` +
            'after it (anything else running on the machine adds noise; compare ratios within one run).',
        ]),
    `- ${m.reps} repetitions per bench and system (median, spread min–max), run ${m.quick ? 'with --quick' : 'in full'}; the run took ${Math.round(m.durationS)} s.`,
    '',
    '## What each bench does',
    '',
    'Every system gets the same message sizes and counts, the same warm-up and the same pinning. Server and ' +
      'client are separate processes on 127.0.0.1; each repetition starts fresh processes, and the systems ' +
      'take turns within a repetition so drift on the machine spreads over all of them.',
    '',
    ...Object.entries(SYSTEMS).map(([name, s]) => `- \`${name}\`: ${s.label}.`),
    '- sockline runs in protocol mode (the default: handshake, sequence numbers and acknowledgements) through ' +
      "its public API, `connect(url)` and `createServer` from src/node/index.ts. Echo is the README's way: " +
      "the server's `connection` handler does `peer.on('message', (m) => peer.send(m))`. The server raises " +
      '`maxConnections` and `maxConnectionsPerIp` (all clients share 127.0.0.1) and `maxFrameSize` to 2 MiB ' +
      '(room for the 1 MiB bulk message); every other system is also configured to accept 2 MiB messages.',
    '',
    ...cases.map((c) => `- **${c.title}** (\`${c.name}\`). ${c.describe}`),
    '',
    '## Results',
    '',
    'Ratios divide medians (system ÷ reference), so below 1 is better for latency, memory, shares and ' +
      'sizes, above 1 for rates. "× raw transport" compares with raw-net for tcp:// systems and raw-ws ' +
      'for ws:// ones; "target" says whether the goal set for sockline is met in this run.',
    '',
    renderTables(results),
    renderBeforeAfter(results),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}
