import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string): string =>
  fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

describe('the package as published', () => {
  it('publint reports no errors or warnings', async () => {
    const { publint } = await import('publint');
    const { messages } = await publint({ pkgDir: root, strict: true, level: 'warning' });
    expect(messages.map((m) => `${m.type}: ${m.code} ${JSON.stringify(m.args)}`)).toEqual([]);
  });

  it('@arethetypeswrong/cli --pack finds no problem in any resolution mode', async () => {
    const result = await run(bin('attw'), ['--pack', '.', '--format', 'json'], { cwd: root }).catch(
      (err: { stdout: string }) => err,
    );
    const report = JSON.parse(result.stdout) as { analysis: { problems: unknown[] } };
    expect(report.analysis.problems).toEqual([]);
  });
});
