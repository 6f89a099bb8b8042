import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';
import { isDatabaseUnavailable } from './availability';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

/** Applies every migrations/NNN_*.sql not yet applied, each in its own transaction, in order. Returns the names applied. */
export async function runMigrations(pool: Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    // One migrator at a time, even with several processes starting together.
    await client.query('SELECT pg_advisory_lock(727274)');
    try {
      const done = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const files = (await readdir(dir)).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
      const applied: string[] = [];
      for (const file of files) {
        if (done.has(file)) continue;
        const sql = await readFile(path.join(dir, file), 'utf8');
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(file);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock(727274)');
    }
  } finally {
    client.release();
  }
}

export interface WaitForDatabaseOptions {
  /** Called before each wait with the error and the delay; an entry point logs it. */
  onWait?: (err: Error, delayMs: number) => void;
  /** Longest pause between two tries, ms. */
  maxDelayMs?: number;
}

/**
 * runMigrations, waiting for PostgreSQL while it is unreachable (a worker or API started before the database, or
 * during an outage) instead of exiting: tries again after 0.5 s, doubling up to maxDelayMs. Any other error (a failed
 * migration) is thrown at once.
 */
export async function runMigrationsWhenReachable(pool: Pool, opts: WaitForDatabaseOptions = {}): Promise<string[]> {
  const maxDelayMs = opts.maxDelayMs ?? 5_000;
  for (let delay = 500; ; delay = Math.min(delay * 2, maxDelayMs)) {
    try {
      return await runMigrations(pool);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      opts.onWait?.(err as Error, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
