// Size of the browser client as an app gets it, and where the bytes are. Each case is bundled
// by esbuild the way an app bundles it (minified, ES2022, platform browser) and measured as
// min and min+gzip (level 9). The breakdown splits the bundle at esbuild's per-module markers
// and gives each module its share of the gzipped total: what the bundle loses when that
// module's code is taken out (so text a module repeats from another costs little). A
// measurement, not a test (STYLE habit 14); the budgets live in test/e2e/bundle.test.ts.
//
//   node bench/profile/size.mjs                  every case: summary and the 12 largest modules
//   node bench/profile/size.mjs --case raw       one case (connect, raw, iife, verbose, iterate,
//                                                handle, streams, streams-connect)
//   node bench/profile/size.mjs --top 40         more modules
//   node bench/profile/size.mjs --from dist      the built package (npm run build) instead of src
//   node bench/profile/size.mjs --json           one JSON object per case
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';
import ts from 'typescript';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const TOP = Number(flag('--top', 12));
const FROM = flag('--from', 'src');
const ONLY = flag('--case', null);
const JSON_OUT = args.includes('--json');

const root = fileURLToPath(new URL('../../', import.meta.url));
/** `sockline` and its subpaths, from the sources or from the built files. */
const alias =
  FROM === 'dist'
    ? {}
    : {
        'sockline/verbose': `${root}src/core/opt-in/verbose.ts`,
        'sockline/iterate': `${root}src/core/opt-in/iterate.ts`,
        'sockline/handle': `${root}src/core/opt-in/handle.ts`,
        'sockline/streams': `${root}src/browser/streams.ts`,
        sockline: `${root}src/browser/index.ts`,
      };

/** An app that imports `connect` from `sockline` and the opt-in `name` for its effect. */
const withOptIn = (name) => ({
  title: `import 'sockline/${name}' with { connect } from 'sockline'`,
  target: null,
  code: `import 'sockline/${name}';\nimport { connect } from 'sockline';\nexport const c = connect('wss://x.invalid/');`,
});

/** What an app writes, per case, and the issue's target for it. */
export const CASES = {
  connect: {
    title: "import { connect } from 'sockline' (protocol client)",
    target: 6144,
    code: "import { connect } from 'sockline';\nexport const c = connect('wss://x.invalid/');",
  },
  raw: {
    title: "import { connectRaw } from 'sockline' (raw mode only)",
    target: 3072,
    code: "import { connectRaw } from 'sockline';\nexport const c = connectRaw('wss://x.invalid/');",
  },
  verbose: withOptIn('verbose'),
  iterate: withOptIn('iterate'),
  handle: withOptIn('handle'),
  streams: {
    title: "import { connect } from 'sockline' with { streams } from 'sockline/streams' (both clients)",
    target: null,
    code: "import { connect } from 'sockline';\nimport { streams } from 'sockline/streams';\nexport const c = connect('wss://x.invalid/', { streams });",
  },
  'streams-connect': {
    title: "import { connect, streams } from 'sockline/streams' (the full client alone)",
    target: null,
    code: "import { connect, streams } from 'sockline/streams';\nexport const c = connect('wss://x.invalid/', { streams });",
  },
  iife: {
    title: 'the IIFE (<script>, the whole API)',
    target: null,
    entry: FROM === 'dist' ? null : `${root}src/browser/iife.ts`,
  },
};

const gz = (text) => gzipSync(text, { level: 9 }).length;

/** Bundles one case twice: minified (what ships) and with module markers (for the breakdown). */
async function bundle(c) {
  const common = {
    bundle: true,
    format: c.entry === undefined ? 'esm' : 'iife',
    globalName: 'Sockline',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
    alias,
    ...(c.entry === undefined
      ? { stdin: { contents: c.code, resolveDir: root, loader: 'js' } }
      : { entryPoints: [c.entry] }),
  };
  const shipped = (await build({ ...common, minify: true })).outputFiles[0].text;
  const marked = (await build({ ...common, minifySyntax: true, minifyIdentifiers: true })).outputFiles[0]
    .text;
  return { shipped, marked };
}

/** The marked bundle cut at esbuild's `// path` lines, each piece whitespace-minified. */
async function modules(marked) {
  const pieces = [];
  let file = '(prelude)';
  let lines = [];
  const flush = async () => {
    const code = lines.join('\n');
    lines = [];
    if (code.trim() === '') return;
    const min = (await transform(code, { minifyWhitespace: true, loader: 'js' }).catch(() => null))?.code;
    pieces.push({ file, code: min ?? code });
  };
  for (const line of marked.split('\n')) {
    const m = /^\s*\/\/ ((?:src|dist|node_modules)\/\S+)$/.exec(line);
    if (m === null) {
      lines.push(line);
      continue;
    }
    await flush();
    file = m[1];
  }
  await flush();
  return pieces;
}

/** Each module's share of the gzipped total: gzip of all minus gzip without that module. */
function shares(pieces) {
  const all = gz(pieces.map((p) => p.code).join(''));
  const byFile = new Map();
  pieces.forEach((p, i) => {
    const without = gz(pieces.map((q, j) => (j === i ? '' : q.code)).join(''));
    const row = byFile.get(p.file) ?? { file: p.file, min: 0, gzip: 0 };
    row.min += p.code.length;
    row.gzip += all - without;
    byFile.set(p.file, row);
  });
  return [...byFile.values()].sort((a, b) => b.gzip - a.gzip);
}

/**
 * What the string and template literals of 12 characters or more (messages, mostly) add to the
 * gzip: the bundle's gzip minus the gzip with each of them emptied (TypeScript's parser finds
 * them, so quotes inside regular expressions and templates are not mistaken for strings).
 */
function textShare(code) {
  const file = ts.createSourceFile('bundle.js', code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.JS);
  const spans = [];
  const visit = (node) => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      // The text lies between the opening character and the closing one (or `${`).
      const close = ts.isTemplateHead(node) || ts.isTemplateMiddle(node) ? 2 : 1;
      if (node.text.length >= 12) spans.push([node.getStart(file) + 1, node.end - close]);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = '';
  let at = 0;
  for (const [start, end] of spans.sort((a, b) => a[0] - b[0])) {
    out += code.slice(at, start);
    at = end;
  }
  out += code.slice(at);
  return gz(code) - gz(out);
}

export async function measure(name) {
  const c = CASES[name];
  const { shipped, marked } = await bundle(c);
  const rows = shares(await modules(marked));
  return {
    case: name,
    title: c.title,
    target: c.target,
    min: shipped.length,
    gzip: gz(shipped),
    text: textShare(shipped),
    modules: rows,
  };
}

const names = ONLY === null ? Object.keys(CASES) : [ONLY];
for (const name of names) {
  if (name === 'iife' && FROM === 'dist') {
    const { readFileSync } = await import('node:fs');
    const code = readFileSync(`${root}dist/sockline.min.js`, 'utf8');
    console.log(`iife (dist/sockline.min.js): ${code.length} B min, ${gz(code)} B min+gzip`);
    continue;
  }
  const r = await measure(name);
  if (JSON_OUT) {
    console.log(JSON.stringify(r));
    continue;
  }
  const target =
    r.target === null
      ? ''
      : ` (target ${r.target} B, ${r.gzip - r.target >= 0 ? '+' : ''}${r.gzip - r.target} B)`;
  console.log(`\n${r.title}: ${r.min} B min, ${r.gzip} B min+gzip${target}`);
  console.log(`  string literals of 12+ characters: ${r.text} B of the gzip`);
  console.log('   gzip share      min  module');
  for (const m of r.modules.slice(0, TOP)) {
    console.log(`  ${String(m.gzip).padStart(9)} B ${String(m.min).padStart(7)} B  ${m.file}`);
  }
}
