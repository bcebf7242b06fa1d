// Compiles one TypeScript entry of src/ with esbuild, so a bench measures the current source
// without rebuilding dist/.
//
//   loadSource(entry)            bundles for any platform into a temporary module and imports it
//   buildSource(entry, outfile)  bundles for Node (npm packages and node: built-ins stay
//                                external) into `outfile`, for child processes to import;
//                                `{ root }` builds another checkout's source (bench --baseline)
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const fromRoot = (entry, root = ROOT) => join(root, entry);

/** `entry` is relative to the repository root, e.g. 'src/core/framing/index.ts'. */
export async function loadSource(entry) {
  const { build } = await import('esbuild');
  const dir = await mkdtemp(join(tmpdir(), 'sockline-bench-'));
  const outfile = join(dir, 'entry.mjs');
  await build({
    entryPoints: [fromRoot(entry)],
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

/**
 * Bundles `entry` for Node into `outfile` (ESM). Packages stay external, so `outfile` must lie
 * inside the repository for `ws` and friends to resolve from node_modules. `root` is the
 * checkout `entry` is relative to (this repository unless given).
 */
export async function buildSource(entry, outfile, { root } = {}) {
  const { build } = await import('esbuild');
  await mkdir(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [fromRoot(entry, root)],
    bundle: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    target: 'node20',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}
