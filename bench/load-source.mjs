// Compiles one TypeScript entry of src/ with esbuild into a temporary module and imports it,
// so a bench measures the current source without rebuilding dist/.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** `entry` is relative to the repository root, e.g. 'src/core/framing/index.ts'. */
export async function loadSource(entry) {
  const { build } = await import('esbuild');
  const dir = await mkdtemp(join(tmpdir(), 'sockline-bench-'));
  const outfile = join(dir, 'entry.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL(`../${entry}`, import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    outfile,
    logLevel: 'error',
  });
  try {
    return await import(pathToFileURL(outfile).href);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
