// One progress line on stderr, rewritten in place on a terminal, one line per step otherwise.
import { performance } from 'node:perf_hooks';

export class Progress {
  #done = 0;
  #total;
  #tty = Boolean(process.stderr.isTTY);
  #started = performance.now();

  constructor(total) {
    this.#total = total;
  }

  /** Announces the next step, e.g. `[12/40] pipelined sockline-ws rep 2/3`. */
  step(label) {
    this.#done++;
    const elapsed = ((performance.now() - this.#started) / 1000).toFixed(0);
    const line = `[${this.#done}/${this.#total}] ${label} (${elapsed} s)`;
    if (this.#tty) process.stderr.write(`\r\x1b[2K${line}`);
    else process.stderr.write(`${line}\n`);
  }

  /** A message that must stay visible (a failure, a skipped bench). */
  note(message) {
    if (this.#tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${message}\n`);
  }

  end() {
    if (this.#tty) process.stderr.write('\n');
  }
}
