// What a case's `run` gets from the harness: workers spawned for it (server on CPU 0, client on
// CPU 1) and stopped by the harness after the step, whatever happened.
import { CPU, Worker } from './procs.mjs';

export class StepContext {
  #workers = [];

  /** `baseline`: the old revision of a --baseline run (bench/lib/baseline.mjs), or undefined. */
  constructor({ quick, env, baseline }) {
    this.quick = quick;
    this.env = env;
    this.baseline = baseline;
  }

  /** Starts `system`'s server in its own pinned process; resolves with `{ worker, port }`. */
  async server(system, { mode = 'echo', port = 0 } = {}) {
    const worker = this.#spawn('server', CPU.server);
    await worker.ready;
    const { port: bound } = await worker.ask({ cmd: 'serve', system, mode, port }, 30_000);
    return { worker, port: bound };
  }

  /** A client process (pinned to the client CPU). */
  async client() {
    const worker = this.#spawn('client', CPU.client);
    await worker.ready;
    return worker;
  }

  /** Runs phase `phase` of case `name`'s client code in `worker`. */
  run(worker, name, system, params, { phase = 'main', timeout = 120_000 } = {}) {
    return worker.ask({ cmd: 'run', case: name, phase, system, params }, timeout);
  }

  #spawn(role, cpu) {
    const worker = new Worker(role, { cpu, env: this.env });
    this.#workers.push(worker);
    return worker;
  }

  /** Stops every worker of this step. */
  async stop() {
    await Promise.all(this.#workers.splice(0).map((w) => w.stop()));
  }
}
