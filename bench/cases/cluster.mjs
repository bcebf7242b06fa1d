// The multi-process fan-out bench (bench/cluster-fanout.mjs) runs on its own: it is started
// with --json (and --quick), and its last stdout line is
// { title, columns, rows, notes? }, rendered as a table of its own.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../lib/procs.mjs';

/** SOCKLINE_BENCH_CLUSTER_SCRIPT points elsewhere, to try the contract with another script. */
export const SCRIPT =
  process.env.SOCKLINE_BENCH_CLUSTER_SCRIPT ??
  fileURLToPath(new URL('../cluster-fanout.mjs', import.meta.url));

export const bench = {
  name: 'cluster-fanout',
  title: 'Multi-process fan-out',
  describe: 'bench/cluster-fanout.mjs, run as a child process with --json; its own table.',
  local: true,
  async run(ctx) {
    if (!existsSync(SCRIPT)) return { skipped: `${SCRIPT} does not exist` };
    const child = spawnNode(SCRIPT, ['--json', ...(ctx.quick ? ['--quick'] : [])], {
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
    const timeoutMs = 10 * 60_000;
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
      return {
        skipped: `bench/cluster-fanout.mjs failed (exit ${code})${lastError ? `: ${lastError.slice(0, 200)}` : ''}`,
      };
    const last = out.trim().split('\n').at(-1) ?? '';
    let table;
    try {
      table = JSON.parse(last);
    } catch {
      return { skipped: 'bench/cluster-fanout.mjs: its last stdout line is not JSON' };
    }
    if (typeof table?.title !== 'string' || !Array.isArray(table.columns) || !Array.isArray(table.rows))
      return { skipped: 'bench/cluster-fanout.mjs: the JSON lacks title, columns or rows' };
    return { table };
  },
};
