// One graph: `core`, `node`, `browser` and `redis` as ESM (.js) and CJS (.cjs), one file per
// module, bundled types (.d.ts / .d.cts) per library entry, the `sockline` command (`cli`), and
// the browser entry with every opt-in as an IIFE (`Sockline` global) in which any unresolved import is a build error.
import { builtinModules } from 'node:module';
import esbuild, { minify } from 'rollup-plugin-esbuild';
import { dts } from 'rollup-plugin-dts';

const libraries = {
  core: 'src/core/index.ts',
  node: 'src/node/index.ts',
  browser: 'src/browser/index.ts',
  streams: 'src/browser/streams.ts',
  'streams-node': 'src/node/streams.ts',
  verbose: 'src/core/opt-in/verbose.ts',
  iterate: 'src/core/opt-in/iterate.ts',
  handle: 'src/core/opt-in/handle.ts',
  redis: 'src/node/redis/index.ts',
};

/** Entries imported for their effect, with no exports. */
const OPT_INS = ['verbose', 'iterate', 'handle'];

const input = { ...libraries, cli: 'src/node/cli/main.ts' };

const external = ['ws', 'redis', /^@redis\//, ...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

const transpile = () => esbuild({ target: 'es2022', tsconfig: 'tsconfig.build.json', sourceMap: true });

/** Turns every warning that means "something is missing from the graph" into an error. */
function strict(warning, warn) {
  if (
    warning.code === 'UNRESOLVED_IMPORT' ||
    warning.code === 'MISSING_GLOBAL_NAME' ||
    warning.code === 'MISSING_NODE_BUILTINS' ||
    warning.code === 'MISSING_EXPORT' ||
    warning.code === 'CIRCULAR_DEPENDENCY'
  ) {
    throw new Error(`build error: ${warning.message}`);
  }
  // The opt-in entries export nothing (they are imported for their effect): their types are
  // an empty module, as expected.
  if (warning.code === 'EMPTY_BUNDLE' && warning.names?.every((n) => OPT_INS.includes(n))) return;
  warn(warning);
}

export default [
  {
    input,
    external,
    onwarn: strict,
    plugins: [transpile()],
    output: [
      // One file per module, so a bundler drops every module an app does not reach
      // (`sideEffects: false`) instead of picking statements out of one shared chunk.
      {
        dir: 'dist',
        format: 'es',
        preserveModules: true,
        preserveModulesRoot: 'src',
        entryFileNames: '[name].js',
        sourcemap: true,
      },
      {
        dir: 'dist',
        format: 'cjs',
        preserveModules: true,
        preserveModulesRoot: 'src',
        entryFileNames: '[name].cjs',
        sourcemap: true,
        interop: 'auto',
      },
    ],
  },
  // The CDN build: no externals at all, so a Node module reaching the browser graph
  // cannot resolve and fails the build.
  {
    input: 'src/browser/iife.ts',
    onwarn: strict,
    plugins: [transpile()],
    output: [
      { file: 'dist/sockline.js', format: 'iife', name: 'Sockline', sourcemap: true },
      {
        file: 'dist/sockline.min.js',
        format: 'iife',
        name: 'Sockline',
        sourcemap: true,
        plugins: [minify({ target: 'es2022' })],
      },
    ],
  },
  // Types: one build of every entry, so a class that two entries export (`SocklineClient` from
  // `sockline` and from `sockline/browser`, `Link` from `sockline/core`) is declared once, in a
  // shared chunk both import, and stays one type. `.d.cts` chunks import each other as `.cjs`.
  ...['d.ts', 'd.cts'].map((ext) => ({
    input: libraries,
    external,
    onwarn: strict,
    plugins: [dts({ tsconfig: 'tsconfig.build.json' })],
    output: {
      dir: 'dist',
      format: 'es',
      entryFileNames: `[name].${ext}`,
      chunkFileNames: `types/[name]-[hash].${ext}`,
    },
  })),
];
