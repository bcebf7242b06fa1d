import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Every code block of README.md and docs/api.md compiles against the built package's types, as
 * a user's strict TypeScript project (`node16`, no skipLibCheck) sees them, so the docs cannot
 * drift from the API: `ts` blocks as TypeScript, `js` blocks with `checkJs` (CommonJS when
 * they `require`), the inline scripts of `html` blocks against the `Sockline` global. `sh` and
 * `text` blocks are not code; a block without a language is refused, so none slips through.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = ['README.md', 'docs/api.md'];
const NOT_CODE = new Set(['sh', 'text']);

/** The names the docs use without defining them: an application's own functions and objects. */
const GLOBALS = `
declare function fetchToken(): Promise<string>;
declare function userFor(token: string | undefined): Promise<string>;
declare const httpServer: import('node:http').Server;
declare const Sockline: typeof import('sockline/browser');
`;

interface Block {
  readonly doc: string;
  readonly line: number;
  readonly lang: string;
  readonly code: string;
}

function blocks(doc: string): Block[] {
  const text = fs.readFileSync(path.join(root, doc), 'utf8');
  const found: Block[] = [];
  for (const m of text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    const line = text.slice(0, m.index).split('\n').length;
    found.push({ doc, line, lang: m[1]!, code: m[2]! });
  }
  return found;
}

/** The file a block is checked as, or null for a block that is not code. */
function asFile(block: Block): { name: string; code: string } | null {
  const base = `${block.doc.replace(/\W/g, '_')}-line-${block.line}`;
  // A block that imports or exports is a module; others get `export {}` (top-level await).
  const module = (code: string): string =>
    /^\s*(import|export)\s/m.test(code) ? code : `${code}\nexport {};\n`;
  switch (block.lang) {
    case 'ts':
      return { name: `${base}.ts`, code: module(block.code) };
    case 'js':
      return /\brequire\(/.test(block.code)
        ? { name: `${base}.cjs`, code: block.code }
        : { name: `${base}.mjs`, code: module(block.code) };
    case 'html': {
      const scripts = [...block.code.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((s) => s[1]!);
      return { name: `${base}.js`, code: scripts.join('\n') };
    }
    default:
      return null;
  }
}

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockline-docs-'));
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(path.join(modules, '@types'), { recursive: true });
  fs.symlinkSync(root, path.join(modules, 'sockline'));
  fs.symlinkSync(path.join(root, 'node_modules/@types/node'), path.join(modules, '@types/node'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  fs.writeFileSync(path.join(dir, 'globals.d.ts'), GLOBALS);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the code blocks of the docs', () => {
  const all = DOCS.flatMap(blocks);

  it('have a language, and most are code', () => {
    for (const b of all) expect(b.lang, `${b.doc}:${b.line}`).toMatch(/^(ts|js|html|sh|text)$/);
    expect(all.filter((b) => !NOT_CODE.has(b.lang)).length).toBeGreaterThanOrEqual(10);
  });

  it('compile under strict TypeScript against the built package', async () => {
    const files = all.map(asFile).filter((f): f is { name: string; code: string } => f !== null);
    for (const f of files) fs.writeFileSync(path.join(dir, f.name), f.code);
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          target: 'es2022',
          module: 'node16',
          moduleResolution: 'node16',
          lib: ['es2022', 'dom'],
          types: ['node'],
          allowJs: true,
          checkJs: true,
        },
        files: ['globals.d.ts', ...files.map((f) => f.name)],
      }),
    );
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir }).catch(
      (err: { stdout: string }) => err,
    );
    expect(result.stdout.split('\n').filter((l) => l.trim() !== '')).toEqual([]);
  });
});
