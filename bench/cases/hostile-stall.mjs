// Waits beside hostile peers (bench/hostile-stall.mjs), run as a child process with --json:
// its own table, and its longest waits checked against the targets (bench/lib/targets.mjs).
import { fileURLToPath } from 'node:url';
import { runScriptTable } from '../lib/script-table.mjs';

const SCRIPT = fileURLToPath(new URL('../hostile-stall.mjs', import.meta.url));

export const bench = {
  name: 'hostile-stall',
  title: 'Waits beside hostile peers',
  describe:
    'bench/hostile-stall.mjs, run as a child process with --json; its own table. A healthy sockline ' +
    'client (its own process, ws://) asks `echo` one request at a time, 10 ms apart, while hostile peers ' +
    'driven from a third process work on the server for 8 s (3 s with --quick): 1,000 silent sockets from ' +
    'one address on each of the TCP and WebSocket ports, waves of WebSocket peers announcing 1 MiB before ' +
    'their HELLO, silent subscribers past a 4 MiB maxBufferedBytes (shed), and readers that never ' +
    'acknowledge (dropped as slow consumers, replaced at once). Reported: the p50 and p99 of its request ' +
    'times and its longest wait between two answers; during the flood, how long a session from ' +
    '127.0.0.2 takes from connect to WELCOME, over TCP and WebSocket.',
  local: true,
  run: (ctx) => runScriptTable(SCRIPT, ctx),
};
