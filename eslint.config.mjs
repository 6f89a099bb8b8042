// Lint keeps workflow code deterministic and promises awaited.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http', 'http2',
  'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'timers', 'tls', 'url', 'util', 'worker_threads', 'zlib',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', 'coverage/**', 'scripts/**', 'bin/**', '*.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Workflow code is replayed: it must not touch the outside world or anything non-deterministic.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...NODE_BUILTINS.flatMap((n) => [n, `node:${n}`]).map((name) => ({ name, message: 'No Node builtins in workflow code.' })),
            { name: 'pg', message: 'Workflows do no I/O; call an activity.' },
            { name: 'ioredis', message: 'Workflows do no I/O; call an activity.' },
            { name: 'twitter-text', message: 'Adaptation runs in activities.' },
          ],
          patterns: [
            { group: ['**/providers/**', '**/db/**', '**/api/**', '**/resilience/**', '**/config/**', '**/worker/**'], message: 'Workflows import only domain code, messages and activity types.' },
            { group: ['**/activities', '**/activities/**'], allowTypeImports: true, message: 'Import activity types only (import type).' },
            { group: ['**/domain/adapt', '**/domain/text-count', '**/domain/platform-rules'], message: 'Adaptation runs in activities.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No process.env in workflows: pass values in the input.' },
        { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() from @temporalio/workflow in a loop.' },
        { name: 'fetch', message: 'Workflows do no I/O; call an activity.' },
      ],
      'no-restricted-syntax': ['error', { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'Use uuid4() or pass randomness in.' }],
    },
  },
);
