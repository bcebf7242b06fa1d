// `npm run bench -- --baseline <rev>`: sockline as it was at another revision, measured in the
// same run as the current source. The revision is checked out detached (`git worktree add`) in
// a temporary directory, its node_modules a symlink to this repository's, and its
// src/node/index.ts compiled the way the current one is, into a module inside that checkout (so
// `ws` and friends resolve through the symlink); the checkout is removed at the end of the run,
// also when the run fails or is interrupted.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSource } from '../load-source.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' }).trim();

/**
 * Checks out `rev` and compiles its Node entry. Resolves with what the run and the
 * report need: `{ rev, commit, date, subject, root, module, exports, remove() }`; `exports` are
 * the names the old entry exports (a case that needs one it lacks is skipped for it).
 */
export async function prepareBaseline(rev) {
  let commit;
  try {
    commit = git('rev-parse', '--verify', `${rev}^{commit}`);
  } catch {
    throw new Error(`--baseline: ${rev} is not a revision of this repository`);
  }
  const [date, subject] = git('log', '-1', '--format=%cI%n%s', commit).split('\n');
  const parent = mkdtempSync(join(tmpdir(), 'sockline-bench-baseline-'));
  const root = join(parent, rev.replaceAll(/[^\w.-]/g, '_'));
  const module = join(root, 'sockline-bench-node.mjs');
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    try {
      git('worktree', 'remove', '--force', root);
    } catch {
      rmSync(root, { recursive: true, force: true });
      git('worktree', 'prune');
    }
    rmSync(parent, { recursive: true, force: true });
  };
  // Also on Ctrl-C and on a crash of the harness, which leave through process.exit.
  process.once('exit', remove);
  try {
    git('worktree', 'add', '--detach', '--quiet', root, commit);
    const modules = join(ROOT, 'node_modules');
    if (!existsSync(join(root, 'node_modules'))) symlinkSync(modules, join(root, 'node_modules'), 'dir');
    await buildSource('src/node/index.ts', module, { root });
    const exports = Object.keys(await import(pathToFileURL(module).href));
    return { rev, commit, date, subject, root, module, exports, remove };
  } catch (err) {
    remove();
    throw err;
  }
}
