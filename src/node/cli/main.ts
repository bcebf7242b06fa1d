#!/usr/bin/env node
/** The `sockline` command: see `sockline --help`, and run.ts for the commands. */
import { run } from './run.js';

/** Exits once what was written has been flushed (stdin may still hold the event loop open). */
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

run(process.argv.slice(2)).then(exit, (err: unknown) => {
  process.stderr.write(`sockline: ${String(err)}\n`);
  exit(1);
});
