// `npm run bench`: sockline against raw node:net, raw ws, socket.io and MQTT.js in one run.
// Not a test: it measures and reports, it never asserts (STYLE habit 14).
//
//   npm run bench                                  every bench, 3 reps, writes docs/benchmarks.md
//   npm run bench -- --quick                       1 rep, smaller counts (a smoke run)
//   npm run bench -- --only rtt,pipelined          some benches
//   npm run bench -- --systems raw-ws,sockline-ws  some systems
//   npm run bench -- --reps 5                      more repetitions
//   npm run bench -- --docs                        write docs/benchmarks.md even for a partial run
//   npm run bench -- --baseline fe04ca7            also sockline at that revision, same run
//   npm run bench -- --render bench/results/latest.json
//                                                  write docs/benchmarks.md again from a saved run
//
// Each network bench starts a server process (CPU 0) and a client process (CPU 1) per
// repetition; see bench/cases/*.mjs for what each measures and bench/systems/*.mjs for how each
// system is driven. With --baseline, sockline at that revision (bench/lib/baseline.mjs) runs
// beside the current source as systems of its own (`sockline-tcp@<rev>`), and the report gets a
// before-and-after section (bench/lib/before-after.mjs). Results: a table on stdout, bench/results/latest.json (and a dated copy),
// docs/benchmarks.md.
import { rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildSource } from './load-source.mjs';
import { machine, installedVersion } from './lib/machine.mjs';
import { canPin, killAll } from './lib/procs.mjs';
import { Progress } from './lib/progress.mjs';
import { StepContext } from './lib/context.mjs';
import { prepareBaseline } from './lib/baseline.mjs';
import { summarize } from './lib/stats.mjs';
import { checkTargets, renderDocument, renderTables } from './lib/report.mjs';
import { renderBeforeAfter } from './lib/before-after.mjs';
import { SYSTEM_NAMES, revisionSystems } from './systems/index.mjs';

const CASES = [
  'rtt',
  'pipelined',
  'bulk',
  'transfer',
  'slow-reader',
  'fanout',
  'idle-memory',
  'reconnect-storm',
  'bundle',
  'cluster-fanout',
  'hostile-stall',
];
const CASE_FILES = { 'cluster-fanout': 'cluster' };
const PACKAGES = [
  'ws',
  'socket.io',
  'socket.io-client',
  'mqtt',
  'aedes',
  'partysocket',
  'reconnecting-websocket',
  'esbuild',
];

const RESULTS = new URL('./results/', import.meta.url);
const DOCS = new URL('../docs/benchmarks.md', import.meta.url);
/** Inside the repository, so the compiled module resolves `ws` from node_modules. */
const BUILD = new URL('../node_modules/.cache/sockline-bench/', import.meta.url);

function parseArgs(argv) {
  const list = (name) => {
    const i = argv.indexOf(name);
    if (i === -1) return undefined;
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--'))
      throw new Error(`${name} needs a comma-separated list`);
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  };
  const known = new Set([
    '--quick',
    '--only',
    '--systems',
    '--reps',
    '--docs',
    '--render',
    '--baseline',
    '--help',
  ]);
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) continue;
    if (!known.has(argv[i])) throw new Error(`unknown flag ${argv[i]} (try --help)`);
  }
  const only = list('--only');
  const systems = list('--systems');
  for (const c of only ?? [])
    if (!CASES.includes(c)) throw new Error(`--only: unknown bench ${c} (${CASES.join(', ')})`);
  for (const s of systems ?? [])
    if (!SYSTEM_NAMES.includes(s))
      throw new Error(`--systems: unknown system ${s} (${SYSTEM_NAMES.join(', ')})`);
  const quick = argv.includes('--quick');
  const repsIndex = argv.indexOf('--reps');
  const reps = repsIndex === -1 ? (quick ? 1 : 3) : Number(argv[repsIndex + 1]);
  if (!(Number.isInteger(reps) && reps >= 1)) throw new Error('--reps needs a positive integer');
  const renderIndex = argv.indexOf('--render');
  const baselineIndex = argv.indexOf('--baseline');
  const baseline = baselineIndex === -1 ? undefined : argv[baselineIndex + 1];
  if (baselineIndex !== -1 && (baseline === undefined || baseline.startsWith('--')))
    throw new Error('--baseline needs a git revision (a commit, tag or branch)');
  return {
    baseline,
    render: renderIndex === -1 ? undefined : argv[renderIndex + 1],
    help: argv.includes('--help'),
    quick,
    reps,
    cases: only ?? CASES,
    systems: systems ?? SYSTEM_NAMES,
    partial: only !== undefined || systems !== undefined || quick,
    docs: argv.includes('--docs'),
  };
}

async function loadCase(name) {
  const mod = await import(`./cases/${CASE_FILES[name] ?? name}.mjs`);
  return mod.bench;
}

/**
 * Why `c` cannot run for the old revision (its entry lacks an export the case needs), or
 * undefined.
 */
function unsupported(c, baseline) {
  const missing = (c.needs ?? []).filter((name) => !baseline.exports.includes(name));
  return missing.length === 0
    ? undefined
    : `its src/node/index.ts has no ${missing.map((m) => `\`${m}\``).join(', ')}`;
}

/** The systems `c` runs: the chosen ones, then the old revision's beside the current sockline ones. */
function systemsOf(c, opts, baseline) {
  const systems = c.systems.filter((s) => opts.systems.includes(s));
  if (baseline === undefined || unsupported(c, baseline)) return systems;
  return [...systems, ...revisionSystems(systems, baseline.rev)];
}

/** The steps of the run, in order: repetitions round-robin over the systems. */
function plan(cases, opts, baseline) {
  const steps = [];
  for (const c of cases) {
    if (c.local) {
      steps.push({ bench: c, label: c.name });
      continue;
    }
    const systems = systemsOf(c, opts, baseline);
    for (let rep = 1; rep <= opts.reps; rep++)
      for (const system of systems)
        steps.push({ bench: c, system, rep, label: `${c.name} ${system} rep ${rep}/${opts.reps}` });
  }
  return steps;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(
      `usage: npm run bench -- [--quick] [--only ${CASES.join(',')}] [--systems ${SYSTEM_NAMES.join(',')}] [--reps N] [--baseline REV] [--docs] [--render results.json]`,
    );
    return;
  }
  if (opts.render !== undefined) {
    // Writes docs/benchmarks.md again from a saved run (after a change to the report's wording).
    const results = JSON.parse(await readFile(opts.render, 'utf8'));
    const cases = await Promise.all(CASES.filter((c) => c in results.benches).map(loadCase));
    results.targets = checkTargets(results);
    await writeFile(DOCS, renderDocument(results, cases));
    console.log(`wrote docs/benchmarks.md from ${opts.render}`);
    return;
  }
  const started = performance.now();
  const pinning = canPin
    ? 'server pinned to CPU 0, client to CPU 1 (taskset)'
    : 'taskset not found: server and client processes are NOT pinned to cores';
  const info = machine(PACKAGES);
  console.log(
    `sockline bench: ${info.cpu}, ${info.cores} cores, ${info.ramGiB} GiB, node ${info.node}; ${pinning}` +
      `; load average ${loadavg()[0].toFixed(2)}${opts.quick ? '; --quick' : ''}`,
  );
  if (loadavg()[0] > 0.5)
    console.log('the machine is busy: expect noise (ratios within the run still compare)');
  if (info.cores < 2) console.log('only one CPU: server and client share it');

  // One compile of the current source for every child process.
  const buildFile = fileURLToPath(new URL(`sockline-node-${process.pid}.mjs`, BUILD));
  await buildSource('src/node/index.ts', buildFile);
  const env = { SOCKLINE_BENCH_MODULE: buildFile };
  const removeBuild = () => rm(buildFile, { force: true });
  // Also on Ctrl-C, which exits from the signal handler.
  process.once('exit', () => rmSync(buildFile, { force: true }));
  const baseline = opts.baseline === undefined ? undefined : await prepareBaseline(opts.baseline);
  if (baseline !== undefined) {
    env.SOCKLINE_BENCH_BASELINE_MODULE = baseline.module;
    console.log(`baseline: sockline at ${baseline.rev} (${baseline.commit.slice(0, 12)}, ${baseline.date})`);
  }

  try {
    await measure({ opts, info, pinning, env, baseline, started });
  } finally {
    await removeBuild();
    baseline?.remove();
  }
}

/** Runs the steps, then writes the results and the report. */
async function measure({ opts, info, pinning, env, baseline, started }) {
  const cases = await Promise.all(opts.cases.map(loadCase));
  const steps = plan(cases, opts, baseline);
  const progress = new Progress(steps.length);
  const results = {
    meta: {
      date: new Date().toISOString(),
      machine: info,
      pinning,
      quick: opts.quick,
      reps: opts.reps,
      argv: process.argv.slice(2),
      loadBefore: loadavg()[0],
      ...(baseline && {
        baseline: {
          rev: baseline.rev,
          commit: baseline.commit,
          date: baseline.date,
          subject: baseline.subject,
          skipped: Object.fromEntries(
            cases
              .filter((c) => !c.local && unsupported(c, baseline))
              .map((c) => [c.name, unsupported(c, baseline)]),
          ),
        },
      }),
    },
    benches: {},
  };
  for (const c of cases) {
    if (c.local) continue;
    results.benches[c.name] = {
      title: c.title,
      metrics: c.metrics,
      primary: c.primary,
      ratios: c.ratios,
      systems: Object.fromEntries(systemsOf(c, opts, baseline).map((s) => [s, { reps: [] }])),
    };
  }

  try {
    for (const step of steps) {
      progress.step(step.label);
      const ctx = new StepContext({ quick: opts.quick, env, baseline });
      try {
        const r = await step.bench.run(ctx, step.system);
        if (step.bench.local) {
          results.benches[step.bench.name] = { title: step.bench.title, ...r };
          if (r.skipped) progress.note(`${step.bench.name}: ${r.skipped}; continuing`);
        } else results.benches[step.bench.name].systems[step.system].reps.push(r);
      } catch (err) {
        const error = String(err?.message ?? err);
        progress.note(`${step.label}: FAILED: ${error.split('\n')[0]}`);
        if (step.bench.local) results.benches[step.bench.name] = { title: step.bench.title, error };
        else results.benches[step.bench.name].systems[step.system].reps.push({ error });
      } finally {
        await ctx.stop();
      }
    }
  } finally {
    progress.end();
  }

  for (const c of cases) {
    const b = results.benches[c.name];
    if (c.name === 'bundle' && b.rows)
      for (const row of b.rows)
        row.version = row.revision ?? (row.package === 'sockline' ? 'src' : installedVersion(row.package));
    if (c.local) continue;
    for (const s of Object.values(b.systems)) {
      const ok = s.reps.filter((r) => r.error === undefined);
      s.summary = Object.fromEntries(c.metrics.map((m) => [m.key, summarize(ok.map((r) => r[m.key]))]));
      if (c.name === 'reconnect-storm') {
        const incomplete = ok.filter((r) => r.back < r.count);
        if (incomplete.length > 0)
          s.note = `not all back within 40 s in ${incomplete.length} rep(s): ${incomplete.map((r) => `${r.back}/${r.count}`).join(', ')}`;
      }
    }
  }
  results.meta.durationS = (performance.now() - started) / 1000;
  results.meta.loadAfter = loadavg()[0];
  results.targets = checkTargets(results);

  console.log(`\n${renderTables(results)}`);
  if (baseline !== undefined) console.log(renderBeforeAfter(results));
  await mkdir(RESULTS, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const stamp = results.meta.date.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
  await writeFile(new URL(`bench-${stamp}.json`, RESULTS), json);
  await writeFile(new URL('latest.json', RESULTS), json);
  console.log(`wrote bench/results/latest.json and bench/results/bench-${stamp}.json`);
  if (!opts.partial || opts.docs) {
    await writeFile(DOCS, renderDocument(results, cases));
    console.log('wrote docs/benchmarks.md');
  } else {
    console.log('docs/benchmarks.md left as it is (partial run; --docs writes it anyway)');
  }
  console.log(`done in ${Math.round(results.meta.durationS)} s`);
}

try {
  await main();
} catch (err) {
  killAll();
  console.error(err?.stack ?? err);
  process.exitCode = 1;
}
