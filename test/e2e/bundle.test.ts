import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { rollup } from 'rollup';
import { describe, expect, it } from 'vitest';
import configs from '../../rollup.config.mjs';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

describe('bundling for the browser', () => {
  it('an esbuild app importing { connect } from sockline pulls in no Node module', async () => {
    const result = await build({
      entryPoints: [here('./fixtures/app.js')],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
      metafile: true,
    });
    const code = result.outputFiles[0]!.text;
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((f) => /node_modules|(^|\/)node:/.test(f))).toEqual([]);
    expect(inputs.some((f) => f.endsWith('dist/browser.js'))).toBe(true);
    // Nothing of the Node build either; the WebSocket transport comes from the shared core.
    expect(inputs.filter((f) => /dist\/node[./]/.test(f))).toEqual([]);
    expect(inputs.some((f) => f.endsWith('dist/core/websocket-transport.js'))).toBe(true);
    // Nothing is left for a runtime loader: no import statement, no require().
    expect(code).not.toMatch(/\bimport\s*[\s{*"'(]|\brequire\(/);
    expect(code).not.toMatch(/["']node:[a-z_/]+["']/);
    // Symbols that only the Node transports use.
    expect(code).not.toMatch(/createSocket|createConnection|setNoDelay|isomorphic-ws/);
    expect(code).toContain('WebSocket');
    const gz = gzipSync(code, { level: 9 }).length;
    console.log(
      `browser app bundle: ${code.length} B min, ${gz} B min+gzip (budget for the full client: 6144 B)`,
    );
    expect(gz).toBeGreaterThan(0);
  });

  it('the Node build reaches no module of the browser build', async () => {
    const result = await build({
      stdin: { contents: "export * from 'sockline/node';", resolveDir: here('./fixtures'), loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'node',
      external: ['ws', 'redis', '@redis/*'],
      write: false,
      logLevel: 'silent',
      metafile: true,
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.endsWith('dist/node.js'))).toBe(true);
    expect(inputs.filter((f) => /dist\/browser[./]/.test(f))).toEqual([]);
  });

  it('the IIFE build fails when a Node built-in reaches the browser graph', async () => {
    const iife = configs.find((c) => c.input === 'src/browser/index.ts');
    expect(iife).toBeDefined();
    const attempt = rollup({ ...iife, input: here('./fixtures/node-in-browser-graph.ts') });
    await expect(attempt).rejects.toThrow(/node:net/);
  });
});
