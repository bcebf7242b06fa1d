import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the API reference (npm run docs)', () => {
  it('builds from the doc comments with no warning', async () => {
    // `--emit none`: the whole conversion and its validation run, nothing is written.
    const { stdout, stderr } = await run(
      process.execPath,
      [fileURLToPath(new URL('../../node_modules/typedoc/bin/typedoc', import.meta.url)), '--emit', 'none'],
      { cwd: root, timeout: 60_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
    );
    const output = `${stdout}${stderr}`;
    expect(output).not.toMatch(/\[(warning|error)\]/);
  }, 90_000);
});
