import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import { adminDatabaseUrl, testDatabaseName, WORKFLOW_BUNDLE_PATH } from './env';

/** Drops this run's database and its workflow bundle; KEEP_TEST_DB=1 keeps the database for a look after a failure. */
export default async function globalTeardown(): Promise<void> {
  await rm(WORKFLOW_BUNDLE_PATH, { force: true });
  if (process.env.KEEP_TEST_DB) return;
  const admin = new Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${testDatabaseName()} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
