import * as http from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumLaunchOptions } from '../support/chromium.js';
import { startWsEcho, type RunningServer } from '../support/servers.js';

const dist = (name: string): string => fileURLToPath(new URL(`../../dist/${name}`, import.meta.url));

const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>sockline IIFE</title></head>
<body><pre id="out">waiting</pre>
<script src="/sockline.min.js"></script>
<script>
  window.result = new Promise((resolve, reject) => {
    const conn = Sockline.connect('ws://' + location.host + '/', { protocol: 'raw' });
    conn.on('message', (m) => conn.close().then(() => resolve(m)));
    conn.opened.then(() => conn.send('hello from the CDN build'), reject);
  });
  window.result.then((m) => (document.getElementById('out').textContent = m));
</script></body></html>`;

describe('the IIFE build on a plain page', () => {
  let server: http.Server;
  let ws: RunningServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    server = http.createServer(async (req, res) => {
      if (req.url === '/sockline.min.js') {
        res
          .writeHead(200, { 'content-type': 'text/javascript' })
          .end(await readFile(dist('sockline.min.js')));
      } else if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(page);
      } else {
        res.writeHead(404).end();
      }
    });
    ws = await startWsEcho(server);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await chromium.launch(chromiumLaunchOptions);
  });

  afterAll(async () => {
    await browser?.close();
    await ws?.close();
  });

  it('exposes window.Sockline and echoes over WebSocket', async () => {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (err) => errors.push(err.message));
    await tab.goto(base);
    const exported = await tab.evaluate(() =>
      Object.keys((window as unknown as { Sockline: object }).Sockline),
    );
    expect(exported).toContain('connect');
    expect(exported).not.toContain('default');
    const echoed = await tab.evaluate(() => (window as unknown as { result: Promise<string> }).result);
    expect(echoed).toBe('hello from the CDN build');
    await expect(tab.locator('#out')).toBeDefined();
    expect(await tab.textContent('#out')).toBe('hello from the CDN build');
    expect(errors).toEqual([]);
  });
});
