import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const example = (name: string): string => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

/** Runs an example as its README says (`node examples/<name>`), from the package folder. */
async function runExample(name: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, [example(name)], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: { ...process.env, ...env },
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

  it('file-transfer.mjs: up and down with a cut in the middle, checksums equal at every end', async () => {
    // 300 MB by default; a smaller file keeps the test short, through the same code.
    const out = await runExample('file-transfer.mjs', { SIZE_MB: '24' });
    const sums = /^sha256 ok: client ([0-9a-f]{64}), server ([0-9a-f]{64}), download ([0-9a-f]{64})$/m.exec(
      out,
    );
    expect(sums, out).not.toBeNull();
    expect(new Set(sums!.slice(1)).size).toBe(1);
    expect(out).toContain('client: reconnected, session resumed');
    expect(out).toMatch(/^server: stored sample\.bin \(application\/octet-stream, 24\.0 MB\) from peer /m);
    expect(out).toMatch(/^upload: 24\.0 MB of 24\.0 MB \(100%\), [\d.]+ MB\/s in [\d.]+ s$/m);
    expect(out).toMatch(/^download: 24\.0 MB of 24\.0 MB \(100%\), [\d.]+ MB\/s in [\d.]+ s$/m);
    expect(out).toContain(
      'server: the upload of half.bin ended early: ERR_STREAM_ABORTED (ERR_CANCELLED: the writer aborted the stream: the user cancelled)',
    );
  });
});
