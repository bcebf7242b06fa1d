// A bench that is a script of its own (bench/cluster-fanout.mjs, bench/hostile-stall.mjs), run
// by bench/run.mjs as a child process with --json (and --quick): its last stdout line is
// { title, columns, rows, notes?, values? }, rendered as a table of its own; `values` holds the
// figures its targets (bench/lib/targets.mjs) are checked against, by row and metric.
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnNode } from './procs.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `script` with --json; `{ table }`, or `{ skipped }` saying why there is none. */
export async function runScriptTable(script, ctx, { timeoutMs = 10 * 60_000 } = {}) {
  const name = relative(root, script);
  if (!existsSync(script)) return { skipped: `${script} does not exist` };
  const child = spawnNode(script, ['--json', ...(ctx.quick ? ['--quick'] : [])], {
    stdout: 'pipe',
    stderr: 'pipe',
    ipc: false,
    env: ctx.env,
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s) => (out += s));
  // Passed through, and its last line kept to say why the script failed.
  let lastError = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => {
    process.stderr.write(s);
    const lines = s.split('\n').filter((l) => l.trim() !== '');
    if (lines.length > 0) lastError = lines.at(-1).trim();
  });
  const code = await new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('timeout');
    }, timeoutMs);
    child.once('exit', (c, signal) => {
      clearTimeout(timer);
      resolve(signal ?? c);
    });
  });
  if (code !== 0)
    return { skipped: `${name} failed (exit ${code})${lastError ? `: ${lastError.slice(0, 200)}` : ''}` };
  const last = out.trim().split('\n').at(-1) ?? '';
  let table;
  try {
    table = JSON.parse(last);
  } catch {
    return { skipped: `${name}: its last stdout line is not JSON` };
  }
  if (typeof table?.title !== 'string' || !Array.isArray(table.columns) || !Array.isArray(table.rows))
    return { skipped: `${name}: the JSON lacks title, columns or rows` };
  return { table };
}
