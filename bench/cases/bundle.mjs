// browser bundle: bytes a browser downloads for the client, min + gzip (level 9, node:zlib).
// Runs in the harness process: no sockets, nothing to pin.
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const browserEntry = (tree) => join(tree, 'src/browser/index.ts');
const IIFE_ENTRY = `${root}src/browser/iife.ts`;

/** What each entry imports; `sockline` resolves to the current browser source. */
const ENTRIES = [
  { name: 'sockline (ESM, `connect`)', package: 'sockline', code: "export { connect } from 'sockline';" },
  {
    name: 'sockline (ESM, `connectRaw`)',
    package: 'sockline',
    code: "export { connectRaw } from 'sockline';",
  },
  { name: 'socket.io-client', package: 'socket.io-client', code: "export { io } from 'socket.io-client';" },
  {
    name: 'mqtt (browser build)',
    package: 'mqtt',
    code: "import mqtt from 'mqtt';\nexport { mqtt };",
  },
  { name: 'partysocket', package: 'partysocket', code: "export { PartySocket } from 'partysocket';" },
  {
    name: 'reconnecting-websocket',
    package: 'reconnecting-websocket',
    code: "import ReconnectingWebSocket from 'reconnecting-websocket';\nexport { ReconnectingWebSocket };",
  },
];

const sizes = (bytes) => ({ min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });

/** `code` bundled, `sockline` resolved to the browser entry of the checkout `tree`. */
async function bundle(code, tree = root, logLevel = 'error') {
  const { build } = await import('esbuild');
  const result = await build({
    stdin: { contents: code, resolveDir: root, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    alias: { sockline: browserEntry(tree) },
    logLevel,
  });
  return result.outputFiles[0].contents;
}

/**
 * The IIFE from the current source, as the other rows are: a dist/ left from an earlier build
 * would report another version (test/e2e/bundle.test.ts measures the built file).
 */
async function iife() {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [IIFE_ENTRY],
    bundle: true,
    minify: true,
    format: 'iife',
    globalName: 'Sockline',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  return {
    source: 'src/browser/iife.ts bundled by esbuild (iife, minified)',
    bytes: result.outputFiles[0].contents,
  };
}

/**
 * The sockline rows of the old revision of a --baseline run (its src/browser/index.ts); an
 * export it does not have is a row without sizes and says so.
 */
async function revisionRows(baseline) {
  const rows = [];
  for (const e of ENTRIES.filter((x) => x.package === 'sockline')) {
    const row = { name: e.name, package: 'sockline', revision: baseline.rev, source: 'esbuild esm' };
    try {
      rows.push({ ...row, ...sizes(await bundle(e.code, baseline.root, 'silent')) });
    } catch (err) {
      const missing = /No matching export[^\n]*/.exec(String(err?.message ?? err));
      rows.push({ ...row, min: NaN, gzip: NaN, missing: missing ? missing[0] : String(err?.message ?? err) });
    }
  }
  return rows;
}

export const bench = {
  name: 'bundle',
  title: 'Browser bundle: min + gzip',
  describe:
    'The IIFE for `<script>` (src/browser/iife.ts bundled by esbuild as an IIFE, minified: the whole ' +
    'API); and esbuild bundles (minify, platform browser, format esm) of ' +
    "`import { connect } from 'sockline'` and `import { connectRaw } from 'sockline'` (resolved to " +
    'src/browser/index.ts, so the current source), ' +
    "`import { io } from 'socket.io-client'`, `import mqtt from 'mqtt'` (its browser build), partysocket " +
    'and reconnecting-websocket. gzip level 9 (node:zlib).',
  local: true,
  async run(ctx) {
    const rows = [];
    const i = await iife();
    rows.push({ name: 'sockline (IIFE)', package: 'sockline', source: i.source, ...sizes(i.bytes) });
    for (const e of ENTRIES) {
      rows.push({ name: e.name, package: e.package, source: 'esbuild esm', ...sizes(await bundle(e.code)) });
    }
    if (ctx.baseline !== undefined) rows.push(...(await revisionRows(ctx.baseline)));
    return { rows };
  },
};
