// Where the test run's real services are. scripts/run.mjs (npm test) starts Temporal and sets TEMPORAL_ADDRESS.
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const TEST_DATA_DIR = path.join(ROOT, '.data', 'test');
// One bundle per run (named like the run's database), so two runs in one tree never read each other's workflow code.
export const WORKFLOW_BUNDLE_PATH = path.join(TEST_DATA_DIR, `workflow-bundle-${process.env.HERALD_TEST_DB ?? 'herald_test'}.js`);

export function adminDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}
/** This run's own database (scripts/run.mjs names it per run). */
export function testDatabaseName(): string {
  const name = process.env.HERALD_TEST_DB ?? 'herald_test';
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`HERALD_TEST_DB must be lowercase letters, digits and _ (got "${name}")`);
  return name;
}
export function testDatabaseUrl(): string {
  const u = new URL(adminDatabaseUrl());
  u.pathname = `/${testDatabaseName()}`;
  return u.toString();
}
export function temporalAddress(): string {
  const a = process.env.TEMPORAL_ADDRESS;
  if (!a) throw new Error('TEMPORAL_ADDRESS is not set: run the suite with `npm test`, which starts a Temporal dev server');
  return a;
}
