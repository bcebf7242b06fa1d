import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/node/index.js';
import { chromiumLaunchOptions } from '../support/chromium.js';

/**
 * The package as users get it: `npm pack`, unpacked into a `node_modules` with its runtime
 * dependency (`ws`) and nothing else of ours, then used by consumer projects — Node ESM and
 * CommonJS programs, TypeScript under `node16` (ESM and CJS) and `bundler` resolution with
 * `strict` and without `skipLibCheck`, and an esbuild browser app run in Chromium.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`./consumers/${name}`, import.meta.url));
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

let dir: string;

/** Writes a consumer project: `files` by name, JSON for objects. */
function project(name: string, files: Record<string, string | object>): string {
  const at = path.join(dir, name);
  fs.mkdirSync(at, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(at, file), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return at;
}

/** `tsc --noEmit` in a project: its diagnostics, one per line (empty when it compiles). */
async function typecheck(at: string): Promise<string[]> {
  const result = await run(process.execPath, [tsc, '-p', at, '--pretty', 'false'], { cwd: at }).catch(
    (err: { stdout: string }) => err,
  );
  return result.stdout.split('\n').filter((l) => l.trim() !== '');
}

const strict = { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022' };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockline-consumers-'));
  // The build is npm test's first step; packing again here would rebuild for nothing.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: root,
  });
  const { filename } = (JSON.parse(stdout) as Array<{ filename: string }>)[0]!;
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(path.join(modules, 'sockline'), { recursive: true });
  await run('tar', [
    '-xzf',
    path.join(dir, filename),
    '-C',
    path.join(modules, 'sockline'),
    '--strip-components=1',
  ]);
  fs.mkdirSync(path.join(modules, '@types'));
  fs.symlinkSync(path.join(root, 'node_modules/ws'), path.join(modules, 'ws'));
  fs.symlinkSync(path.join(root, 'node_modules/@types/node'), path.join(modules, '@types/node'));
}, 60_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('carries no type from a dependency: no declaration imports ws', () => {
    const dist = path.join(dir, 'node_modules/sockline/dist');
    const declarations = fs
      .readdirSync(dist, { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.d\.c?ts$/.test(f));
    expect(declarations.length).toBeGreaterThan(8);
    for (const f of declarations) {
      expect(fs.readFileSync(path.join(dist, f), 'utf8'), f).not.toMatch(/from ['"](ws|isomorphic-ws)['"]/);
    }
  });

  it.each(['node-run.mjs', 'node-run.cjs'])('runs in Node: %s', async (name) => {
    const at = project('run', { [name]: fs.readFileSync(fixture(name), 'utf8') });
    const { stdout } = await run(process.execPath, [path.join(at, name)], { cwd: at, timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual({ sum: 6, unknown: 'ERR_UNKNOWN_METHOD', code: 'ERR_NOT_SOCKLINE' });
  });

  it.each([
    ['ESM', 'module'],
    ['CommonJS', 'commonjs'],
  ])(
    'type-checks under node16 (%s) without skipLibCheck, and misuse does not compile',
    async (_name, type) => {
      const at = project(`node16-${type}`, {
        'package.json': { type },
        'tsconfig.json': {
          compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16', types: ['node'] },
          files: ['index.ts'],
        },
        'index.ts': fs.readFileSync(fixture('node-types.ts'), 'utf8'),
      });
      expect(await typecheck(at)).toEqual([]);
      // The @ts-expect-error lines are what proves misuse fails: without them, each is an error.
      const lines = fs.readFileSync(path.join(at, 'index.ts'), 'utf8');
      const expected = lines.match(/\/\/ @ts-expect-error/g)!.length;
      fs.writeFileSync(path.join(at, 'index.ts'), lines.replace(/\/\/ @ts-expect-error/g, '//'));
      const errors = await typecheck(at);
      expect(
        errors.filter((l) => / error TS\d+/.test(l)),
        errors.join('\n'),
      ).toHaveLength(expected);
    },
  );

  it('type-checks under bundler resolution with the browser types, no @types/node', async () => {
    const at = project('bundler', {
      'package.json': { type: 'module' },
      'tsconfig.json': {
        compilerOptions: {
          ...strict,
          module: 'esnext',
          moduleResolution: 'bundler',
          lib: ['es2022', 'dom'],
          types: [],
        },
        files: ['index.ts', 'app.ts'],
      },
      'index.ts': fs.readFileSync(fixture('browser-types.ts'), 'utf8'),
      'app.ts': fs.readFileSync(fixture('browser-app.ts'), 'utf8'),
    });
    expect(await typecheck(at)).toEqual([]);
    const lines = fs.readFileSync(path.join(at, 'index.ts'), 'utf8');
    const expected = lines.match(/\/\/ @ts-expect-error/g)!.length;
    fs.writeFileSync(path.join(at, 'index.ts'), lines.replace(/\/\/ @ts-expect-error/g, '//'));
    expect((await typecheck(at)).filter((l) => / error TS\d+/.test(l))).toHaveLength(expected);
  });

  it('bundles into a browser app with esbuild that works in Chromium against a server', async () => {
    const at = project('browser-app', { 'app.ts': fs.readFileSync(fixture('browser-app.ts'), 'utf8') });
    const bundle = await build({
      entryPoints: [path.join(at, 'app.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs.some((f) => f.includes('node_modules/sockline/dist/browser.js'))).toBe(true);
    expect(inputs.filter((f) => /node_modules\/(ws|@types)|(^|\/)node:/.test(f))).toEqual([]);
    const page = '<!doctype html><meta charset="utf-8"><script type="module" src="/app.js"></script>';
    const httpServer = http.createServer((req, res) => {
      if (req.url === '/app.js')
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle.outputFiles[0]!.text);
      else res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    });
    const server = createServer({ ws: { server: httpServer } });
    server.handle('sum', (numbers: number[]) => numbers.reduce((a, b) => a + b, 0));
    await server.listen();
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const browser = await chromium.launch(chromiumLaunchOptions);
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (err) => errors.push(err.message));
      await tab.goto(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/`);
      await tab.waitForFunction(() => 'result' in window);
      const result = await tab.evaluate(() => (window as unknown as { result: Promise<unknown> }).result);
      expect(result).toEqual({ sum: 6, news: { headline: 'from the browser' } });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    }
  });
});
