import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeLineEcho, startNodeUdpEcho, type PeerHandle } from '../support/peers.js';
import { startWsEcho, type RunningServer } from '../support/servers.js';
import { testCert } from '../support/tls-cert.js';
import { runCli, runNode, CLI, startServe, type ServeAddresses } from './cli-support.js';

const version = (
  JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A port on which nothing listens: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the sockline command', () => {
  it('prints its version and a help for itself and for each command', async () => {
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    const main = await runCli(['--help']);
    expect(main.code).toBe(0);
    const commands = [
      'serve',
      'connect',
      'send',
      'request',
      'publish',
      'subscribe',
      'send-file',
      'receive-file',
      'chat',
      'bench',
    ];
    for (const c of commands) expect(main.stdout).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
    expect(main.stdout).toContain('3 connection refused');
    const helps = await Promise.all(commands.map((c) => runCli([c, '--help'])));
    helps.forEach((h, i) => {
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: sockline ${commands[i]} `));
      expect(h.stdout).toContain('--help');
    });
  });

  it('reports bad usage on one line with exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /Usage: sockline <command>/],
      [['frobnicate'], /^sockline frobnicate: unknown command "frobnicate"/],
      [['send', 'tcp://127.0.0.1:1'], /^sockline send: missing <message>/],
      [['send', 'tcp://127.0.0.1:1', 'a', 'b'], /^sockline send: unexpected argument "b"/],
      [['request', 'http://127.0.0.1:1', 'x'], /^sockline request: Unknown URL scheme "http:"/],
      [['request', 'tcp://127.0.0.1', 'x'], /^sockline request: URL needs a port/],
      [['request', 'tcp://127.0.0.1:1', 'x', '--nope'], /^sockline request: unknown option --nope \(see/],
      [
        ['send', 'tcp://127.0.0.1:1', 'hi', '--tokn', 't'],
        /^sockline send: unknown option --tokn \(did you mean --token\?\)/,
      ],
      [
        ['request', 'tcp://127.0.0.1:1', 'x', '--timeout'],
        /^sockline request: option --timeout needs a value/,
      ],
      [['send', 'tcp://127.0.0.1:1', '[1,2,x]'], /^sockline send: the message looks like JSON but is not/],
      [
        ['request', 'tcp://127.0.0.1:1', 'sum', '{"a":'],
        /^sockline request: params looks like JSON but is not/,
      ],
      [['request', 'tcp://127.0.0.1:1', 'x', '--timeout', 'soon'], /--timeout must be an integer/],
      [['connect', 'tcp://127.0.0.1:1', '--framing', 'lines'], /--framing needs --raw/],
      [['serve', '--cert', 'x.pem'], /--cert and --key go together/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    cases.forEach(([args, pattern], i) => {
      const r = results[i]!;
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(pattern);
      if (args.length > 0) expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    });
  });

  it('exits 3 when the connection is refused, on TCP and WebSocket', async () => {
    const port = await closedPort();
    for (const url of [`tcp://127.0.0.1:${port}`, `ws://127.0.0.1:${port}`]) {
      const r = await runCli(['request', url, 'time']);
      expect(r.code, url).toBe(3);
      expect(r.stderr).toMatch(/^sockline request: connection refused: .*ECONNREFUSED/);
    }
  });

  it('connect --raw udp:// to a port where nothing listens exits 3 instead of 0', async () => {
    const port = await closedPort();
    const r = await runCli(['connect', '--raw', `udp://127.0.0.1:${port}`], { input: 'hi\n' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^sockline: connection refused: .*ECONNREFUSED \(nothing listens at udp:/m);
  });

  it('exits 5 when a server accepts but never answers', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const r = await runCli(['request', `tcp://127.0.0.1:${port}`, 'time', '--timeout', '300']);
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/^sockline request: ERR_CONNECT_TIMEOUT: .*300 ms/);
    } finally {
      silent.close();
    }
  });

  describe('against `sockline serve`', () => {
    let serve: Awaited<ReturnType<typeof startServe>>;
    let a: ServeAddresses;

    beforeAll(async () => {
      serve = await startServe();
      a = serve.addresses;
    });
    afterAll(async () => {
      expect(await serve?.stop()).toBe(0);
    });

    it('serve prints its URLs on a ready line', () => {
      expect(a.tcp).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
      expect(a.udp).toMatch(/^udp:\/\/127\.0\.0\.1:[1-9]\d*$/);
      expect(a.ws).toMatch(/^ws:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
      expect(a.page).toBeUndefined();
    });

    it('request answers over every transport, and a remote error exits 1 with its code', async () => {
      const results = await Promise.all([
        runCli(['request', a.tcp!, 'sum', '[1,2,3]']),
        runCli(['request', a.ws!, 'echo', '{"a":[1,"x"]}']),
        runCli(['request', a.udp!, 'echo', 'plain text']),
        runCli(['request', a.udp!, 'sum', '[40,2]', '--reliable']),
      ]);
      expect(results.map((r) => [r.code, r.stdout])).toEqual([
        [0, '6\n'],
        [0, '{"a":[1,"x"]}\n'],
        [0, '"plain text"\n'],
        [0, '42\n'],
      ]);
      const bad = await runCli(['request', a.tcp!, 'nope']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toBe('sockline request: ERR_UNKNOWN_METHOD: no handler for "nope"\n');
    });

    it('publish reaches a subscriber on another transport; send is acknowledged', async () => {
      const sub = runNode(CLI, ['subscribe', a.udp!, 'news/#', '--count', '2', '--json', '--reliable']);
      await sub.waitFor(/^subscribed news\/#$/m, 'stderr');
      expect((await runCli(['publish', a.ws!, 'news/today', '{"headline":"hello"}'])).code).toBe(0);
      expect((await runCli(['publish', a.tcp!, 'news/sport', 'goal'])).code).toBe(0);
      expect(await sub.exited).toBe(0);
      expect(
        sub.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown),
      ).toEqual([
        { topic: 'news/today', value: { headline: 'hello' } },
        { topic: 'news/sport', value: 'goal' },
      ]);
      expect(await runCli(['send', a.tcp!, '{"hi":1}'])).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it('connect sends stdin lines and prints what comes back (the server echoes messages)', async () => {
      const text = await runCli(['connect', a.tcp!], { input: 'one\ntwo words\n' });
      expect(text.code).toBe(0);
      expect(text.stdout).toBe('one\ntwo words\n');
      expect(text.stderr).toContain('[state] open -> closing');
      const json = await runCli(['connect', a.ws!, '--json', '-q'], {
        input: '{"n":1}\nnot json\n[2,"x"]\n',
      });
      expect(json.code).toBe(0);
      expect(json.stdout).toBe('{"n":1}\n[2,"x"]\n');
      expect(json.stderr).toBe(
        'sockline: line 2 is not JSON, not sent: ' + json.stderr.split('not sent: ')[1],
      );
    });

    it('bench measures a given server and prints numbers', async () => {
      const r = await runCli(['bench', a.tcp!, '--count', '2000', '--pings', '20', '--json']);
      expect(r.code).toBe(0);
      const result = JSON.parse(r.stdout) as Record<string, number | string>;
      expect(result).toMatchObject({ url: a.tcp, pings: 20, messages: 2000, size: 64 });
      for (const k of ['rttMin', 'rttP50', 'rttP99', 'seconds', 'messagesPerSecond'])
        expect(result[k], k).toBeGreaterThan(0);
      expect(result.rttMin).toBeLessThanOrEqual(result.rttP50 as number);
      expect(result.rttP50).toBeLessThanOrEqual(result.rttP99 as number);
      expect(r.stderr).toContain(`${a.tcp}  messages: 2000 acknowledged`);
    });
  });

  it('bench without a URL starts its own server and measures tcp, ws and udp', async () => {
    const r = await runCli(['bench', '--count', '500', '--pings', '5']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual(['tcp', 'ws', 'udp']);
    for (const l of lines)
      expect(l).toMatch(/rtt p50 [\d.]+ ms .* [\d,]+ messages\/s \(500 × 64 B, acknowledged\)$/);
  });

  describe('send-file and receive-file through `sockline serve`', () => {
    let serve: Awaited<ReturnType<typeof startServe>>;
    let dir: string;
    const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    /** A file of `size` bytes: random, or sparse (zeros, no disk) for the large ones. */
    const makeFile = (name: string, size: number, random: boolean): string => {
      const file = path.join(dir, name);
      if (random) fs.writeFileSync(file, randomBytes(size));
      else fs.truncateSync((fs.closeSync(fs.openSync(file, 'w')), file), size);
      return file;
    };
    /** A receive-file that finds nothing to take within 300 ms: the server keeps nothing. */
    const nothingWaits = async (url: string): Promise<void> => {
      const r = await runCli(['receive-file', url, dir, '--wait', '300']);
      expect(r.code).toBe(5);
      expect(r.stderr).toBe('sockline receive-file: no file came within 300 ms (--wait)\n');
    };

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockline-files-test-'));
      serve = await startServe(['--max-file-size', '3G', '--max-stored', '3G']);
    });
    afterAll(async () => {
      expect(await serve?.stop()).toBe(0);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('sends 24 MiB over TCP to a receiver waiting on WebSocket: the same bytes, the same SHA-256', async () => {
      const source = makeFile('data.bin', 24 << 20, true);
      const out = path.join(dir, 'out');
      fs.mkdirSync(out);
      const { tcp, ws } = serve.addresses;
      // The receiver first: it waits for the file.
      const receiver = runNode(CLI, ['receive-file', ws!, out]);
      const sent = await runCli(['send-file', tcp!, source]);
      expect(sent.code, sent.stderr).toBe(0);
      expect(await receiver.exited, receiver.stderr).toBe(0);
      const sum = sha256(source);
      expect(sent.stdout).toBe(`${sum}  ${source}\n`);
      expect(receiver.stdout).toBe(`${sum}  ${path.join(out, 'data.bin')}\n`);
      expect(fs.readFileSync(path.join(out, 'data.bin')).equals(fs.readFileSync(source))).toBe(true);
      // Not a terminal: plain lines, the last with the total and the speed.
      expect(sent.stderr).toMatch(/^sent data\.bin: 24 MiB in [\d.]+ s, [\d.]+ [KMG]iB\/s$/m);
      expect(receiver.stderr).toMatch(/^received data\.bin: 24 MiB in [\d.]+ s, [\d.]+ [KMG]iB\/s$/m);
      for (const line of receiver.stderr.split('\n').filter((l) => l.startsWith('receiving')))
        expect(line).toMatch(/^receiving data\.bin: \d+% \(.+ of 24 MiB\), .+\/s, ETA \d+:\d\d$/);
      // Taken once: the server deleted its copy. A second file of the same name does not overwrite.
      await nothingWaits(tcp!);
      expect((await runCli(['send-file', ws!, source, '--name', 'data.bin'])).code).toBe(0);
      const again = await runCli(['receive-file', tcp!, out, '--name', 'data.bin']);
      expect(again.stdout).toBe(`${sum}  ${path.join(out, 'data.bin.1')}\n`);
    });

    it('refuses a file over --max-file-size with its code and message, exit 1, keeping nothing', async () => {
      const huge = makeFile('huge.iso', 4 * 2 ** 30, false);
      const r = await runCli(['send-file', serve.addresses.tcp!, huge]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        "sockline send-file: ERR_FILE_TOO_LARGE: a file of 4.0 GiB is over this server's limit of 3.0 GiB\n",
      );
      await nothingWaits(serve.addresses.tcp!);
    });

    it('Ctrl-C in the middle of an upload aborts it: exit 130, and the server keeps nothing', async () => {
      const large = makeFile('large.bin', 2 * 2 ** 30, false);
      const sender = runNode(CLI, ['send-file', serve.addresses.ws!, large]);
      await sender.waitFor(/^sending large\.bin: \d+%/m, 'stderr');
      sender.process.kill('SIGINT');
      expect(await sender.exited).toBe(130);
      expect(sender.stderr).toMatch(
        /^sockline send-file: interrupted: the upload was aborted: the server keeps nothing$/m,
      );
      await nothingWaits(serve.addresses.tcp!);
    });

    it('reports a missing file, a directory that is not one, and no URL as usage errors', async () => {
      const cases: Array<[string[], RegExp]> = [
        [
          ['send-file', serve.addresses.tcp!, path.join(dir, 'nope')],
          /^sockline send-file: cannot read .*nope/,
        ],
        [['send-file', serve.addresses.tcp!, dir], /is not a file$/m],
        [
          ['receive-file', serve.addresses.tcp!, path.join(dir, 'nope')],
          /^sockline receive-file: cannot write to/,
        ],
        [['send-file'], /missing <url>/],
      ];
      for (const [args, pattern] of cases) {
        const r = await runCli(args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(pattern);
      }
    });
  });

  describe('raw mode against services that are not sockline', () => {
    let lines: PeerHandle;
    let udp: PeerHandle;
    let ws: RunningServer;
    beforeAll(async () => {
      [lines, udp, ws] = await Promise.all([startNodeLineEcho(), startNodeUdpEcho(), startWsEcho()]);
    });
    afterAll(async () => {
      await Promise.all([lines?.close(), udp?.close(), ws?.close()]);
    });

    it('talks lines to a plain TCP line server, datagrams to UDP, messages to WebSocket', async () => {
      const input = 'PING\nhello there\n';
      const results = await Promise.all(
        [lines.url, udp.url, ws.url].map(async (url) => {
          // Wait for each echo before ending the input: a raw link closes once its input ends.
          const child = runNode(CLI, ['connect', '--raw', '-q', url]);
          child.write('PING\n');
          await child.waitFor(/^PING$/m);
          child.write('hello there\n');
          await child.waitFor(/^hello there$/m);
          child.process.stdin!.end();
          return { code: await child.exited, stdout: child.stdout };
        }),
      );
      for (const r of results) expect(r).toEqual({ code: 0, stdout: input });
    });

    it('--json normalises JSON lines and --framing none passes bytes through', async () => {
      const child = runNode(CLI, ['connect', '--raw', '--json', '-q', lines.url]);
      child.write('{ "op" : "ping" }\n');
      await child.waitFor(/^\{"op":"ping"\}$/m);
      child.process.stdin!.end();
      expect(await child.exited).toBe(0);
      const bytes = runNode(CLI, ['connect', '--raw', '--framing', 'none', '-q', lines.url]);
      bytes.write('a partial line, then the rest\n');
      await bytes.waitFor(/the rest\n/);
      bytes.process.stdin!.end();
      expect(await bytes.exited).toBe(0);
      expect(bytes.stdout).toBe('a partial line, then the rest\n');
    });
  });

  describe('TLS and tokens', () => {
    let serve: Awaited<ReturnType<typeof startServe>>;
    let dir: string;
    let caFile: string;

    beforeAll(async () => {
      const { cert, key } = testCert();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockline-cli-'));
      caFile = path.join(dir, 'cert.pem');
      fs.writeFileSync(caFile, cert);
      fs.writeFileSync(path.join(dir, 'key.pem'), key);
      serve = await startServe([
        '--cert',
        caFile,
        '--key',
        path.join(dir, 'key.pem'),
        '--tls',
        '0',
        '--token',
        's3cret',
      ]);
    });
    afterAll(async () => {
      await serve?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('serves tls:// and wss:// with the certificate and checks the token', async () => {
      const a = serve.addresses;
      expect(a.tls).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
      expect(a.wss).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
      expect(a.ws).toBeUndefined();
      const ok = await Promise.all(
        [a.tls!, a.wss!, a.tcp!].map((url) =>
          runCli(['request', url, 'sum', '[1,1]', '--ca', caFile, '--token', 's3cret']),
        ),
      );
      expect(ok.map((r) => r.stdout)).toEqual(['2\n', '2\n', '2\n']);
      const viaEnv = await runCli(['request', a.tls!, 'sum', '[2,2]', '--insecure'], {
        env: { SOCKLINE_TOKEN: 's3cret' },
      });
      expect(viaEnv.stdout).toBe('4\n');
    });

    it('exits 4 on an untrusted certificate and 6 on a refused token', async () => {
      const a = serve.addresses;
      for (const url of [a.tls!, a.wss!]) {
        const r = await runCli(['request', url, 'time', '--token', 's3cret']);
        expect(r.code, url).toBe(4);
        expect(r.stderr).toMatch(/^sockline request: TLS failure: /);
      }
      const wrong = await runCli(['request', a.tcp!, 'time', '--token', 'guess']);
      expect(wrong.code).toBe(6);
      expect(wrong.stderr).toMatch(/^sockline request: ERR_AUTH_FAILED: authentication failed/);
      expect((await runCli(['request', a.tcp!, 'time'])).code).toBe(6);
    });
  });
});
