import { formatBytes } from './file-store.js';

/** How often the bar is redrawn on a terminal, in ms. */
const TTY_INTERVAL = 100;
/** How often progress is sampled when it is written as lines (one line per tenth), in ms. */
const LINE_INTERVAL = 250;
const BAR_WIDTH = 24;

/** Where progress goes: a terminal gets a bar redrawn in place, anything else plain lines. */
export interface ProgressOutput {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** `m:ss` (or `h:mm:ss`) for an ETA; `–` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * The progress of one transfer on stderr: on a terminal a bar redrawn ten times a second
 * (`name [#######-----]  58%  41.2 MB/s  ETA 0:03`); otherwise one plain line each time another
 * tenth is done (`sending name: 60% (12.6 MB of 21.0 MB), 41.2 MB/s, ETA 0:03`), so a log or
 * a pipe gets a few lines, not a stream of carriage returns.
 */
export class Progress {
  readonly #verb: string;
  readonly #done: string;
  readonly #name: string;
  readonly #total: number;
  readonly #bytes: () => number;
  readonly #out: ProgressOutput;
  readonly #start = performance.now();
  readonly #timer: NodeJS.Timeout;
  #tenth = -1;

  /** `verbs`: what the lines say while under way and once done (`sending`, `sent`). */
  constructor(
    verbs: readonly [string, string],
    name: string,
    total: number,
    bytes: () => number,
    out: ProgressOutput,
  ) {
    [this.#verb, this.#done] = verbs;
    this.#name = name;
    this.#total = total;
    this.#bytes = bytes;
    this.#out = out;
    this.#timer = setInterval(() => this.#draw(), out.isTTY === true ? TTY_INTERVAL : LINE_INTERVAL);
    this.#timer.unref();
  }

  /** Seconds since the transfer began. */
  get seconds(): number {
    return (performance.now() - this.#start) / 1000;
  }

  /** Stops drawing; a bar is replaced by a last line with the total and the mean speed. */
  stop(complete: boolean): void {
    clearInterval(this.#timer);
    if (this.#out.isTTY === true) this.#out.write('\r\x1b[2K');
    if (!complete) return;
    const s = this.seconds;
    this.#out.write(
      `${this.#done} ${this.#name}: ${formatBytes(this.#total)} in ${s.toFixed(1)} s, ${speed(this.#total, s)}\n`,
    );
  }

  #draw(): void {
    const done = Math.min(this.#bytes(), this.#total);
    const share = this.#total === 0 ? 1 : done / this.#total;
    const s = this.seconds;
    const rate = speed(done, s);
    const eta = formatDuration(done === 0 ? Infinity : ((this.#total - done) * s) / done);
    const percent = `${Math.floor(share * 100)}%`.padStart(4);
    if (this.#out.isTTY === true) {
      const full = Math.round(share * BAR_WIDTH);
      const bar = `${'#'.repeat(full)}${'-'.repeat(BAR_WIDTH - full)}`;
      this.#out.write(`\r\x1b[2K${this.#name} [${bar}] ${percent}  ${rate}  ETA ${eta}`);
      return;
    }
    const tenth = Math.floor(share * 10);
    if (tenth === this.#tenth || tenth >= 10) return;
    this.#tenth = tenth;
    this.#out.write(
      `${this.#verb} ${this.#name}: ${percent.trim()} (${formatBytes(done)} of ${formatBytes(this.#total)}), ${rate}, ETA ${eta}\n`,
    );
  }
}

function speed(bytes: number, seconds: number): string {
  return seconds > 0 ? `${formatBytes(bytes / seconds)}/s` : '–';
}
