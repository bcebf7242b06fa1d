import { randomUUID } from 'node:crypto';
import { compareIds, maxId, ZERO_ID } from './bus-codec.js';

/** What {@link LossCheck.check} found. */
export interface LossReport {
  /** Why Redis is known to have lost what it had acknowledged; undefined when nothing was. */
  readonly lost: string | undefined;
  /** The id of the bus's last entry now (ZERO_ID when the bus is empty). */
  readonly end: string;
}

/**
 * Finds out, each time Redis answers again, whether it lost data it had acknowledged — so a
 * loss is reported, never silent. Two signs, either enough:
 *
 * - the data set's **epoch** changed: `P:epoch` is set once (SET NX) with a random value; a
 *   Redis that restarted without persistence (or was flushed, or failed over to a replica
 *   without it) no longer has the value this process saw;
 * - the **bus went back**: its last entry is older than an entry this process read or wrote
 *   (a persistence that lost its last writes, e.g. `appendfsync everysec` on a machine crash).
 *
 * With `appendonly yes` and `appendfsync always` neither happens on a crash of Redis.
 *
 * @example
 * const check = new LossCheck('sockline:epoch', 'sockline:bus');
 * check.saw(id); // every bus id read or returned by a write
 * const { lost } = await check.check((args) => client.sendCommand(args));
 */
export class LossCheck {
  readonly #key: string;
  readonly #stream: string;
  #epoch: string | undefined;
  /** The newest bus id known to have existed. */
  #newest = ZERO_ID;

  constructor(key: string, stream: string) {
    this.#key = key;
    this.#stream = stream;
  }

  /** A bus id known to exist: read from the bus, or returned by a write to it. */
  saw(id: string): void {
    this.#newest = maxId(this.#newest, id);
  }

  /** Compares what Redis holds with what this process knew it held (the first call only records). */
  async check(send: (args: string[]) => Promise<unknown>): Promise<LossReport> {
    await send(['SET', this.#key, randomUUID(), 'NX']);
    const epoch = text(await send(['GET', this.#key]));
    const last = (await send(['XREVRANGE', this.#stream, '+', '-', 'COUNT', '1'])) as Array<
      [unknown, unknown]
    > | null;
    const end = last?.[0] !== undefined ? text(last[0][0]) : ZERO_ID;
    let lost: string | undefined;
    if (this.#epoch !== undefined && epoch !== this.#epoch)
      lost = 'its data set is not the one it was (restarted without persistence, flushed, or failed over)';
    else if (compareIds(end, this.#newest) < 0)
      lost = `its bus ends at ${end}, before ${this.#newest} which it had acknowledged`;
    this.#epoch = epoch;
    if (lost !== undefined) this.#newest = end;
    return { lost, end };
  }
}

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString() : String(value);
}
