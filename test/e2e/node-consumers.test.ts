import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpEcho, type RunningServer } from '../support/servers.js';

const run = promisify(execFile);
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('the built package in a child Node process', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTcpEcho();
  });
  afterAll(() => server.close());

  it("works through require('sockline') from a .cjs file", async () => {
    const { stdout } = await run(process.execPath, [fixture('consumer.cjs'), server.url], {
      timeout: 20_000,
    });
    expect(JSON.parse(stdout)).toEqual({ echoed: 'from require', code: 'ERR_QUEUE_FULL' });
  });

  it("works through import 'sockline' from an .mjs file", async () => {
    const { stdout } = await run(process.execPath, [fixture('consumer.mjs'), server.url], {
      timeout: 20_000,
    });
    expect(JSON.parse(stdout)).toEqual({ echoed: 'from import', code: 'ERR_QUEUE_FULL' });
  });
});
