// Size of the browser client as an app gets it: `import { connect } from 'sockline'` bundled
// by esbuild straight from src/browser/index.ts, minified, ES2022; prints min and min+gzip
// bytes and the largest modules. A measurement, not a test (STYLE habit 14).
//
//   node bench/profile/size.mjs            summary and the 12 largest modules
//   node bench/profile/size.mjs --top 30
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const TOP = topAt === -1 ? 12 : Number(args[topAt + 1]);
const entry = fileURLToPath(new URL('../../src/browser/index.ts', import.meta.url));

const result = await build({
  stdin: { contents: `export { connect } from ${JSON.stringify(entry)};`, resolveDir: '.', loader: 'js' },
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  metafile: true,
  logLevel: 'error',
});
const code = result.outputFiles[0].text;
const gz = gzipSync(code, { level: 9 }).length;
console.log(`browser client: ${code.length} B min, ${gz} B min+gzip (target 6144 B)`);
const output = Object.values(result.metafile.outputs)[0];
const rows = Object.entries(output.inputs)
  .map(([file, { bytesInOutput }]) => [file.replace(/^.*?src\//, 'src/'), bytesInOutput])
  .sort((a, b) => b[1] - a[1])
  .slice(0, TOP);
for (const [file, bytes] of rows) console.log(`${String(bytes).padStart(7)} B  ${file}`);
