import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumLaunchOptions } from '../support/chromium.js';
import { CLI, runNode, START, startServe, type Child, type ServeAddresses } from './cli-support.js';

const SCREENSHOT = fileURLToPath(new URL('../../test-results/demo-chat.png', import.meta.url));

/** The texts of the chat messages a page shows, in order. */
const messagesOf = (page: Page): Promise<string[]> =>
  page.$$eval('#log li.msg', (items) =>
    items.map((li) => `${li.querySelector('.from')!.textContent}: ${li.querySelector('.text')!.textContent}`),
  );

const membersOf = (page: Page): Promise<string[]> =>
  page.$$eval('#members li', (items) => items.map((li) => li.textContent!.trim()));

async function until<T>(
  what: string,
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
    value = await probe();
  }
  return value;
}

/** Width and height from a PNG's IHDR, after checking its signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('npm start: the chat demo', () => {
  let serve: Awaited<ReturnType<typeof startServe>>;
  let addresses: ServeAddresses;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let carol: Child;
  let dave: Child;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    [serve, browser] = await Promise.all([
      startServe(['--max-file-size', '6M'], START),
      chromium.launch(chromiumLaunchOptions),
    ]);
    addresses = serve.addresses;
  });

  afterAll(async () => {
    carol?.process.kill();
    dave?.process.kill();
    await browser?.close();
    await serve?.stop();
  });

  it('prints its URLs and serves the page and the browser bundle from one HTTP server', async () => {
    expect(addresses.tcp).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(addresses.udp).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);
    expect(addresses.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    expect(new URL(addresses.page!).port).toBe(new URL(addresses.ws!).port);
    expect(serve.child.stdout).toContain(`chat page  ${addresses.page}`);
    const bundle = await fetch(new URL('/sockline.min.js', addresses.page));
    expect(bundle.status).toBe(200);
    expect(await bundle.text()).toContain('Sockline');
  });

  it('two pages, a TCP and a UDP terminal chat, and everyone sees everything once', async () => {
    const open = async (name: string): Promise<Page> => {
      const page = await browser.newPage({ viewport: { width: 900, height: 560 } });
      page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
      await page.goto(`${addresses.page}?name=${name}`);
      await until(
        `${name} open`,
        () => page.textContent('#state'),
        (s) => s === 'open',
      );
      return page;
    };
    [alice, bob] = await Promise.all([open('alice'), open('bob')]);
    carol = runNode(CLI, ['chat', addresses.tcp!, '--name', 'carol']);
    dave = runNode(CLI, ['chat', addresses.udp!, '--name', 'dave']);
    await Promise.all([
      carol.waitFor(/joined lobby as carol/, 'stderr'),
      dave.waitFor(/joined lobby as dave/, 'stderr'),
    ]);

    for (const page of [alice, bob]) {
      const members = await until(
        'four members',
        () => membersOf(page),
        (m) => m.length === 4,
      );
      expect(members.sort()).toEqual(['alice ws', 'bob ws', 'carol tcp', 'dave udp']);
    }

    // People type: into the page's input, and into the terminals' stdin.
    await alice.fill('#text', 'hello from alice');
    await alice.press('#text', 'Enter');
    await until(
      'alice echoed',
      () => messagesOf(alice),
      (m) => m.length === 1,
    );
    await bob.fill('#text', 'hi alice, bob here');
    await bob.click('form button');
    await until(
      'bob echoed',
      () => messagesOf(bob),
      (m) => m.length === 2,
    );
    carol.write('carol on tcp\n');
    await carol.waitFor(/carol: carol on tcp/);
    dave.write('dave on udp\n');

    const expected = [
      'alice: hello from alice',
      'bob: hi alice, bob here',
      'carol: carol on tcp',
      'dave: dave on udp',
    ];
    for (const page of [alice, bob]) {
      expect(
        await until(
          'four messages',
          () => messagesOf(page),
          (m) => m.length >= 4,
        ),
      ).toEqual(expected);
    }
    for (const terminal of [carol, dave]) {
      await terminal.waitFor(/dave: dave on udp/);
      expect(terminal.stdout.match(/^\[\d\d:\d\d:\d\d\] \w+: .*$/gm)!.map((l) => l.slice(11))).toEqual(
        expected,
      );
    }
    expect(await alice.textContent('#rtt')).toMatch(/^\d+(\.\d)? ms$/);
  });

  it('a screenshot shows the conversation the page holds', async () => {
    await until(
      'no away member',
      () => membersOf(alice),
      (m) => m.length === 4 && !m.some((x) => x.includes('away')),
    );
    // The page measures its round trip every second: the figure may change while the picture
    // is taken, everything else may not.
    const withoutRtt = (body: string): string => body.replace(/RTT [^\n]*/, 'RTT');
    const text = await alice.innerText('body');
    await mkdir(new URL('../../test-results/', import.meta.url), { recursive: true });
    await alice.screenshot({ path: SCREENSHOT });
    // What the picture shows, read from the DOM at the same moment: unchanged since.
    expect(withoutRtt(await alice.innerText('body'))).toBe(withoutRtt(text));
    const png = await readFile(SCREENSHOT);
    expect(png.byteLength).toBeGreaterThan(10_000);
    expect(pngSize(png)).toEqual({ width: 900, height: 560 });
    for (const line of ['hello from alice', 'hi alice, bob here', 'carol on tcp', 'dave on udp'])
      expect(text).toContain(line);
    expect(text).toMatch(/room\s+lobby/);
    expect(text).toMatch(/you\s+alice/);
    expect(text).toMatch(/\bopen\b/);
    expect(text).toMatch(/RTT\s+\d+(\.\d)? ms/);
    // Every message lies inside the visible part of the conversation, not scrolled away.
    const log = (await alice.locator('#log').boundingBox())!;
    for (const box of await Promise.all(
      (await alice.locator('#log li.msg').all()).map((li) => li.boundingBox()),
    )) {
      expect(box!.y).toBeGreaterThanOrEqual(log.y);
      expect(box!.y + box!.height).toBeLessThanOrEqual(log.y + log.height);
    }
    await writeFile(SCREENSHOT.replace(/\.png$/, '.txt'), text);
    expect(pageErrors).toEqual([]);
  });

  it('the server restarts; pages and terminals reconnect, resume, and lose nothing', async () => {
    const before = await messagesOf(alice);
    serve.child.process.kill('SIGHUP');
    // Messages sent while the server goes down and comes back: queued, then delivered once.
    const sent: string[] = [];
    const restarted = serve.child.waitFor(/^restarted /m);
    for (let i = 1; i <= 10; i++) {
      const who = i % 2 === 0 ? bob : alice;
      const name = i % 2 === 0 ? 'bob' : 'alice';
      await who.evaluate(
        (text) => (window as unknown as { chat: { send(t: string): void } }).chat.send(text),
        `m${i}`,
      );
      sent.push(`${name}: m${i}`);
      carol.write(`c${i}\n`);
      await new Promise((r) => setTimeout(r, 40));
    }
    await restarted;
    for (let i = 11; i <= 12; i++) {
      carol.write(`c${i}\n`);
    }
    const expectedOf = (name: string): string[] => sent.filter((s) => s.startsWith(`${name}:`));
    const carols = Array.from({ length: 12 }, (_, i) => `carol: c${i + 1}`);

    for (const page of [alice, bob]) {
      const all = await until(
        'every message',
        () => messagesOf(page),
        (m) => m.length >= before.length + 22,
      );
      await new Promise((r) => setTimeout(r, 300)); // anything duplicated would show up by now
      const after = (await messagesOf(page)).slice(before.length);
      const log = `${await page.innerText('#log')}\nserver stderr: ${serve.child.stderr}`;
      expect(after, log).toHaveLength(22);
      expect(new Set(after).size, log).toBe(22);
      // Per sender, in the order sent.
      expect(after.filter((m) => m.startsWith('alice:'))).toEqual(expectedOf('alice'));
      expect(after.filter((m) => m.startsWith('bob:'))).toEqual(expectedOf('bob'));
      expect(after.filter((m) => m.startsWith('carol:'))).toEqual(carols);
      expect(all.slice(0, before.length)).toEqual(before);
      expect(Number(await page.textContent('#reconnects'))).toBeGreaterThan(0);
      expect(log).toContain('reconnected: session resumed');
    }
    await dave.waitFor(/carol: c12/);
    expect(dave.stdout.match(/: c\d+$/gm)).toHaveLength(12);
    expect(carol.stderr).toContain('session resumed');
    // Presence is rebuilt on the new server from the clients' sessions.
    await until(
      'four members again',
      () => membersOf(alice),
      (m) => m.length === 4,
    );
    expect(pageErrors).toEqual([]);
  });

  it('shares a file: one page streams it up, the other downloads the same bytes; one too large is refused', async () => {
    const bytes = randomBytes(4 * 1024 * 1024 + 3);
    const files = (page: Page): Promise<string[]> =>
      page.$$eval('#log li.file', (items) => items.map((li) => li.querySelector('.text')!.textContent!));
    await alice.setInputFiles('#file', { name: 'photo.bin', mimeType: 'image/x-test', buffer: bytes });
    for (const page of [alice, bob])
      await until(
        'the file in the conversation',
        () => files(page),
        (f) => f.length === 1,
      );
    expect(await files(bob)).toEqual(['shared photo.bin (4.0 MiB)']);
    expect(await alice.textContent('#log li.upload')).toBe('shared photo.bin');
    // Terminals see it as a line of text.
    await carol.waitFor(/alice: shared photo\.bin \(4\.0 MiB\)/);

    const saved = bob.waitForEvent('download');
    await bob.click('#log li.file button');
    const download = await saved;
    expect(download.suggestedFilename()).toBe('photo.bin');
    const got = await readFile((await download.path())!);
    expect(got.byteLength).toBe(bytes.byteLength);
    expect(got.equals(bytes)).toBe(true);
    expect(await bob.textContent('#log li.file .progress')).toBe('saved');

    // Over the server's --max-file-size: refused with its reason, and nobody sees an entry.
    await bob.setInputFiles('#file', {
      name: 'video.bin',
      mimeType: 'video/x-test',
      buffer: Buffer.alloc(7 * 1024 * 1024),
    });
    const refusal = await until(
      'the refusal',
      () => bob.$$eval('#log li.upload', (items) => items.map((li) => li.textContent!)),
      (n) => n.length === 1 && !n[0]!.startsWith('sharing'),
    );
    expect(refusal).toEqual([
      "could not share video.bin: ERR_FILE_TOO_LARGE: a file of 7.0 MiB is over this server's limit of 6.0 MiB",
    ]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await files(alice)).toHaveLength(1);
    expect(pageErrors).toEqual([]);
  });

  it('stops on SIGINT and every terminal client exits 0 at the end of its input', async () => {
    carol.process.stdin!.end();
    dave.process.stdin!.end();
    expect(await carol.exited).toBe(0);
    expect(await dave.exited).toBe(0);
    expect(await serve.stop()).toBe(0);
  });
});
