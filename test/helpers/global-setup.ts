import { mkdir, writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Client } from 'pg';
import { createPool } from '../../src/db/pool';
import { runMigrations } from '../../src/db/migrate';
import { WORKFLOWS_PATH, workflowInterceptorModules } from '../../src/worker/create-worker';
import { adminDatabaseUrl, TEST_DATA_DIR, testDatabaseName, testDatabaseUrl, WORKFLOW_BUNDLE_PATH } from './env';

/** Once per run: a fresh test database with every migration, and one workflow bundle that every worker reuses. */
export default async function globalSetup(): Promise<void> {
  const admin = new Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${testDatabaseName()} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${testDatabaseName()}`);
  await admin.end();
  const pool = createPool(testDatabaseUrl());
  await runMigrations(pool);
  await pool.end();

  await mkdir(TEST_DATA_DIR, { recursive: true });
  if (process.env.TEMPORAL_ADDRESS) {
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: workflowInterceptorModules(), logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never });
    await writeFile(WORKFLOW_BUNDLE_PATH, code);
  }
}
