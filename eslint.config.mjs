import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Names that must never reach the runtime-neutral core or the browser build.
const nodeOnlyModules = [
  'node:*',
  'ws',
  'net',
  'tls',
  'dgram',
  'dns',
  'events',
  'stream',
  'buffer',
  'fs',
  'http',
  'https',
  'crypto',
  'os',
  'path',
  'util',
  'child_process',
];

/** An import of another runtime's folder of src/ (`../browser/x.js` from src/node, …). */
const otherRuntime = (...folders) => ({
  regex: `^\\.{1,2}/(\\.\\./)*(${folders.join('|')})/`,
  message:
    'src/core imports neither src/node nor src/browser, and those two never import each other: shared code lives in src/core.',
});

const forbidNodeAndDom = (extraGlobals, ...otherRuntimes) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        {
          group: nodeOnlyModules,
          message: 'src/core and src/browser must stay runtime-neutral: no Node modules here.',
        },
        otherRuntime(...otherRuntimes),
      ],
    },
  ],
  'no-restricted-globals': [
    'error',
    ...[
      'Buffer',
      'process',
      'global',
      'require',
      '__dirname',
      '__filename',
      'setImmediate',
      ...extraGlobals,
    ].map((name) => ({ name, message: `${name} is not available in every runtime sockline supports.` })),
  ],
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'docs/api/', 'docs/reference/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        URL: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        globalThis: 'readonly',
        window: 'readonly',
        document: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Named exports only.' },
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object instead of an enum.' },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: forbidNodeAndDom(['window', 'document', 'navigator', 'WebSocket', 'self'], 'node', 'browser'),
  },
  {
    files: ['src/browser/**/*.ts'],
    rules: forbidNodeAndDom(['window'], 'node'),
  },
  {
    files: ['src/node/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [otherRuntime('browser')] }] },
  },
);
