// The unit tier (`npm run test:unit`): test/unit only, no global setup, so it needs no PostgreSQL, Temporal or Redis.
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/unit'],
  globalSetup: undefined,
  globalTeardown: undefined,
};
