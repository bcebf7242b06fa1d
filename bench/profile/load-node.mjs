// Compiles src/node/index.ts (the Node entry, server included) with esbuild into a temporary
// module and imports it, so a profile measures the current source without rebuilding dist/.
// Packages stay external (resolved from node_modules as in a real install), so the bundle is
// written under node_modules/. SOCKLINE_KEEP_BUNDLE=1 leaves the bundle in place so a .cpuprofile can be
// read against it.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSource } from '../load-source.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Loads `entry` (relative to the repository root, default the Node entry) built for Node. */
export async function loadNodeSource(entry = 'src/node/index.ts') {
  const dir = await mkdtemp(join(root, 'node_modules', '.sockline-profile-'));
  const outfile = await buildSource(entry, join(dir, 'entry.mjs'));
  try {
    return await import(pathToFileURL(outfile).href);
  } finally {
    if (process.env.SOCKLINE_KEEP_BUNDLE !== '1') await rm(dir, { recursive: true, force: true });
  }
}
