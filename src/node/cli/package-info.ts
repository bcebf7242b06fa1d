import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The sockline package folder: the nearest folder above this module with sockline's
 * package.json (this module runs from `dist/node/cli/` when installed, `src/node/cli/` in tests).
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'sockline')
      return (root = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the sockline package.json');
    dir = parent;
  }
}

/** The installed package's version. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The browser bundle that the demo page loads with a `<script>` tag. */
export function browserBundlePath(): string {
  return path.join(packageRoot(), 'dist', 'sockline.min.js');
}

/**
 * A module of the package's ES build for the browser (`browser.js`, `streams.js` and what they
 * import), which the demo page imports by URL as it would from a CDN; undefined for any other
 * path (only `.js` files under `dist/`, no `..`).
 */
export function browserModulePath(relative: string): string | undefined {
  if (!/^[\w-]+(\/[\w.-]+)*\.js$/.test(relative) || relative.split('/').includes('..')) return undefined;
  return path.join(packageRoot(), 'dist', relative);
}
