// Lint keeps workflow code deterministic, promises awaited, and each folder of src/ to its own job (the layering below).
// Several rules (no-restricted-imports, no-restricted-syntax, no-restricted-globals) are set for more than one folder; in
// flat config a later block REPLACES an earlier block's options for the same rule, so each folder's block is built from
// every restriction that applies to it instead of stacking blocks.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http', 'http2',
  'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'timers', 'tls', 'url', 'util', 'worker_threads', 'zlib',
];
// The builtins that reach outside the process (files, network, other processes); pure helpers (crypto, util) stay allowed.
const IO_BUILTINS = [
  'child_process', 'cluster', 'dgram', 'dns', 'fs', 'fs/promises', 'http', 'http2', 'https', 'net', 'process', 'readline',
  'tls', 'worker_threads',
];
const builtinPaths = (names, message) => names.flatMap((n) => [n, `node:${n}`]).map((name) => ({ name, message }));

// A relative import of a folder of src/ (`../activities`, `../../worker/deps`, `../../src/providers/errors`).
const srcFolder = (folder) => `^(\\.\\.?/)+(src/)?${folder}(/|$)`;

// Runs of SQL belong to the repositories in src/db.
const SQL_START = '/^\\s*(SELECT\\s|INSERT\\s+INTO\\s|UPDATE\\s+\\w+\\s+SET\\s|DELETE\\s+FROM\\s|WITH\\s+\\w+\\s+AS\\s*\\()/';
const NO_SQL = [
  { selector: "CallExpression[callee.property.name='query']", message: 'Queries run in a repository under src/db.' },
  { selector: `Literal[value=${SQL_START}]`, message: 'SQL lives in a repository under src/db.' },
  { selector: `TemplateLiteral > TemplateElement:first-child[value.raw=${SQL_START}]`, message: 'SQL lives in a repository under src/db.' },
];
const NO_ENV = [{ object: 'process', property: 'env', message: 'Only src/config reads the environment: take the value from Config.' }];

const WORKFLOW_IMPORTS = {
  paths: [
    ...builtinPaths(NODE_BUILTINS, 'No Node builtins in workflow code.'),
    { name: 'pg', message: 'Workflows do no I/O; call an activity.' },
    { name: 'ioredis', message: 'Workflows do no I/O; call an activity.' },
    { name: 'twitter-text', message: 'Adaptation runs in activities.' },
  ],
  patterns: [
    { group: ['**/providers/**', '**/db/**', '**/api/**', '**/resilience/**', '**/config/**', '**/worker/**'], message: 'Workflows import only domain code, messages and activity types.' },
    { group: ['**/activities', '**/activities/**'], allowTypeImports: true, message: 'Import activity types only (import type).' },
    { group: ['**/domain/adapt', '**/domain/text-count', '**/domain/platform-rules'], message: 'Adaptation runs in activities.' },
  ],
};
const DOMAIN_IMPORTS = {
  paths: [
    ...builtinPaths(IO_BUILTINS, 'Domain code does no I/O: take the result as an argument.'),
    ...['pg', 'ioredis', '@temporalio/client', '@temporalio/worker', 'fastify'].map((name) => ({ name, message: 'Domain code does no I/O.' })),
  ],
  patterns: [{ regex: srcFolder('(db|api|activities|providers|resilience|worker|workflows|bootstrap|pipelines|dev|cli)'), message: 'Domain code depends on nothing else in src/.' }],
};
const API_IMPORTS = {
  patterns: [{ regex: srcFolder('(activities|worker)'), message: 'The API starts and reads work; it never imports activities or the worker (use src/pipelines, src/bootstrap, src/domain).' }],
};
// The console is a browser client of the public API: the typed client and pure domain files, nothing of the server.
// `api` is not in the list (src/console/api.ts has the name); the browser build refuses what src/api would pull in.
const CONSOLE_IMPORTS = {
  paths: builtinPaths(NODE_BUILTINS, 'The console runs in a browser: no Node builtins.'),
  patterns: [{ regex: srcFolder('(db|activities|providers|resilience|worker|workflows|bootstrap|pipelines|dev|cli|config|observability|webhooks)'), message: 'The console uses only src/client (the public API) and pure src/domain files.' }],
};
const RESILIENCE_IMPORTS = {
  patterns: [{ regex: srcFolder('providers'), message: 'Resilience owns its types; providers depend on it, not the other way round.' }],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Plain Node scripts (npm script runner, the `herald` bin, tool configs): no type information, Node's globals.
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'fetch', 'AbortController', 'AbortSignal', 'setTimeout',
          'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'queueMicrotask', 'structuredClone', 'TextEncoder',
          'TextDecoder', 'performance'].map((g) => [g, 'readonly']),
      ),
    },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.cjs', '*.config.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', __filename: 'readonly' } },
  },
  // ---- layering of src/ ----
  {
    files: ['src/**/*.ts'],
    ignores: ['src/config/**'],
    rules: { 'no-restricted-properties': ['error', ...NO_ENV] },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/db/**', 'src/workflows/**'],
    rules: { 'no-restricted-syntax': ['error', ...NO_SQL] },
  },
  {
    files: ['src/api/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', API_IMPORTS] },
  },
  {
    files: ['src/console/**/*.ts', 'src/console/**/*.tsx'],
    rules: { 'no-restricted-imports': ['error', CONSOLE_IMPORTS] },
  },
  {
    files: ['src/resilience/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', RESILIENCE_IMPORTS] },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', DOMAIN_IMPORTS],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Domain code does no I/O: take the value as an argument.' },
        { name: 'fetch', message: 'Domain code does no I/O.' },
      ],
    },
  },
  {
    // Workflow code is replayed: it must not touch the outside world or anything non-deterministic. Each function stays
    // short enough to read as a story of named steps.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', WORKFLOW_IMPORTS],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No process.env in workflows: pass values in the input.' },
        { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() from @temporalio/workflow in a loop.' },
        { name: 'fetch', message: 'Workflows do no I/O; call an activity.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'Use uuid4() or pass randomness in.' },
        ...NO_SQL,
      ],
      'max-lines-per-function': ['error', { max: 80 }],
    },
  },
);
