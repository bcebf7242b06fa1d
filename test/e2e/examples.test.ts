import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const example = (name: string): string => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

/** Runs an example as its README says (`node examples/<name>`), from the package folder. */
async function runExample(name: string): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, [example(name)], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    timeout: 20_000,
    killSignal: 'SIGKILL',
  });
  expect(stderr).toBe('');
  return stdout;
}

describe('examples/ run with one command each and exit 0', () => {
  it('rpc.mjs: requests both ways, remote error codes, timeouts', async () => {
    const out = await runExample('rpc.mjs');
    expect(out).toContain('sum over tcp: 10');
    expect(out).toContain('divide over ws: 0.125');
    expect(out).toContain('divide by zero: ERR_REMOTE (ERR_DIVIDE_BY_ZERO: division by zero)');
    expect(out).toContain('slow with a 100 ms timeout: ERR_REQUEST_TIMEOUT');
    // A peer id is base64url: `-` and `_` are among its characters.
    expect(out).toMatch(/server: peer [\w-]+ on tcp says it is \{"name":"rpc-example"/);
  });

  it('raw-tcp-lines.mjs: a plain line server, a restart, queued lines delivered', async () => {
    const out = await runExample('raw-tcp-lines.mjs');
    expect(out.match(/^< .*$/gm)).toEqual([
      '< HELLO',
      '< SOCKLINE SPEAKS LINES',
      '< SENT WHILE THE SERVER WAS DOWN',
      '< AND QUEUED',
    ]);
    expect(out).toContain('[open -> reconnecting]');
  });

  it('udp-game-state.mjs: volatile snapshots and reliable events', async () => {
    const out = await runExample('udp-game-state.mjs');
    expect(out).toMatch(/^unreliable: 60 snapshots sent, the server holds tick \d+/m);
    expect(out).toContain(
      'reliable: 5 events, in order: checkpoint@15, checkpoint@30, checkpoint@45, checkpoint@60, finish@60',
    );
  });

  it('chat.mjs: three transports, one room, presence', async () => {
    const out = await runExample('chat.mjs');
    for (const who of ['alice', 'bob', 'carol']) {
      const screen = out
        .split(`${who}'s screen:\n`)[1]!
        .split('\n')
        .slice(0, 3)
        .map((l) => l.trim());
      expect(screen.sort()).toEqual([
        'alice: hi all, alice on tcp',
        'bob: bob here, on a WebSocket',
        'carol: carol, over udp',
      ]);
    }
    expect(out).toContain('sees present: alice, bob, carol');
    // After carol closes, the others see her leave.
    expect(out.split("carol's screen:")[1]).toContain('alice sees present: alice, bob\n');
  });
});
