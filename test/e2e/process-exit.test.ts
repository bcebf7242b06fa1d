import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./fixtures/exits.mjs', import.meta.url));

describe('a Node process using sockline exits by itself', () => {
  for (const mode of [
    'close-while-connecting',
    'close-while-reconnecting',
    'close-while-open',
    'unref-while-reconnecting',
  ]) {
    it(`when the link is ${mode.replaceAll('-', ' ')}`, async () => {
      // A timer or socket left behind would keep the child alive until the kill below.
      const { stderr } = await run(process.execPath, [script, mode], {
        timeout: 8_000,
        killSignal: 'SIGKILL',
      });
      expect(stderr).toBe('');
    });
  }
});
