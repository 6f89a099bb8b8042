// The unit tier (`npm run test:unit`): test/unit only, with no global setup, so it needs no PostgreSQL, Temporal or
// Redis (in-process imitation servers on 127.0.0.1 only). Two workers: part of the tier waits on heartbeat intervals
// and on an ESLint process rather than on the CPU, so it overlaps with the CPU-bound adaptation properties.
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/unit'],
  globalSetup: undefined,
  globalTeardown: undefined,
  maxWorkers: 2,
};
