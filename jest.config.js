/** @type {import('jest').Config} */
const swc = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }];
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // A few dependencies ship ESM only (content-disposition under @fastify/static; preact, which draws the review page's
  // previews): compile them to CommonJS too. PGlite (test/helpers/in-process-postgres.ts) imports Node builtins with
  // import(), which Jest's sandbox refuses: compiled, they become require().
  transform: { '^.+\\.ts$': swc, '^.+\\.[mc]?js$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition|@electric-sql/pglite|preact|preact-render-to-string)/)'],
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  testTimeout: 60000,
};
