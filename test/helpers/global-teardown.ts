import { Client } from 'pg';
import { adminDatabaseUrl, testDatabaseName } from './env';

/** Drops this run's database; KEEP_TEST_DB=1 keeps it for a look after a failure. */
export default async function globalTeardown(): Promise<void> {
  if (process.env.KEEP_TEST_DB) return;
  const admin = new Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${testDatabaseName()} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
