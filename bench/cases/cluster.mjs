// The multi-process fan-out bench (bench/cluster-fanout.mjs) runs on its own: it is started
// with --json (and --quick), and its last stdout line is rendered as a table of its own.
import { fileURLToPath } from 'node:url';
import { runScriptTable } from '../lib/script-table.mjs';

/** SOCKLINE_BENCH_CLUSTER_SCRIPT points elsewhere, to try the contract with another script. */
export const SCRIPT =
  process.env.SOCKLINE_BENCH_CLUSTER_SCRIPT ??
  fileURLToPath(new URL('../cluster-fanout.mjs', import.meta.url));

export const bench = {
  name: 'cluster-fanout',
  title: 'Multi-process fan-out',
  describe: 'bench/cluster-fanout.mjs, run as a child process with --json; its own table.',
  local: true,
  run: (ctx) => runScriptTable(SCRIPT, ctx),
};
