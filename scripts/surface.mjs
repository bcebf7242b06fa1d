// The public surface of each package entry, as users get it: the values an entry exports at
// run time (the keys of the built ESM module in dist/, so `npm run build` first) and the types
// it exports beside them (the TypeScript checker on the entry's source, minus those values).
// A class exported as a type only counts as a type. A measurement, not a test.
//
//   node scripts/surface.mjs           counts per entry
//   node scripts/surface.mjs --list    and the names
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../', import.meta.url));
const entries = [
  ['sockline (browser build), sockline/browser', 'src/browser/index.ts', 'dist/browser.js'],
  ['sockline/core', 'src/core/index.ts', 'dist/core.js'],
  ['sockline (Node build), sockline/node', 'src/node/index.ts', 'dist/node.js'],
  ['sockline/redis', 'src/node/redis/index.ts', 'dist/redis.js'],
];
const list = process.argv.includes('--list');
const program = ts.createProgram(
  entries.map(([, source]) => root + source),
  {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
  },
);
const checker = program.getTypeChecker();
for (const [name, source, built] of entries) {
  const values = Object.keys(await import(pathToFileURL(root + built).href)).sort();
  const module = checker.getSymbolAtLocation(program.getSourceFile(root + source));
  const types = checker
    .getExportsOfModule(module)
    .map((s) => s.name)
    .filter((n) => !values.includes(n))
    .sort();
  console.log(`${name}: ${values.length} values, ${types.length} types`);
  if (list) console.log(`  values: ${values.join(', ')}\n  types: ${types.join(', ')}`);
}
