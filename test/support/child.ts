import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

export interface ChildResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The last line of stdout, parsed as JSON. */
  readonly result: unknown;
  /** How long the child took to exit by itself, in ms. */
  readonly elapsed: number;
}

/**
 * Compiles `source` (TypeScript, imports relative to the repository root such as
 * `./src/node/index.ts`) with esbuild into one ES module and runs it in a fresh Node process
 * with `flags` (e.g. `--expose-gc`). Resolves when the child exits by itself with code 0;
 * rejects when it fails or is still alive after `timeout` ms (it is then killed): a timer or
 * socket left behind keeps a process alive, so "exits by itself" is the check.
 */
export async function runChild(
  source: string,
  options: { flags?: readonly string[]; args?: readonly string[]; timeout?: number } = {},
): Promise<ChildResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockline-child-'));
  try {
    const outfile = path.join(dir, 'child.mjs');
    await build({
      stdin: { contents: source, resolveDir: root, loader: 'ts', sourcefile: 'child.ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      external: ['bufferutil', 'utf-8-validate'],
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'silent',
    });
    const started = Date.now();
    const { stdout, stderr } = await run(
      process.execPath,
      [...(options.flags ?? []), outfile, ...(options.args ?? [])],
      { timeout: options.timeout ?? 15_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
    );
    const elapsed = Date.now() - started;
    const last = stdout.trim().split('\n').at(-1) ?? '';
    let result: unknown;
    try {
      result = JSON.parse(last);
    } catch {
      result = undefined;
    }
    return { stdout, stderr, result, elapsed };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
