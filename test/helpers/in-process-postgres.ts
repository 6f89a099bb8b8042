// PostgreSQL inside the test process (PGlite: PostgreSQL compiled to WebAssembly), with the project's migrations, for
// unit tests of code that reads a repository: the real SQL of src/db runs, and no server is needed. It answers the
// part of node-postgres' Pool that the repositories and runMigrations use (query, connect/release), one statement at
// a time, as PGlite is a single connection. Jest's configs compile PGlite's dynamic imports of Node builtins to
// require(), which Jest's module sandbox allows.
//
// Making a database (initdb) costs seconds of CPU; the migrated database is therefore kept as a snapshot under
// .data/test, named by the migrations and PGlite's version, and later runs start from it in a fraction of that.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Pool } from 'pg';
import { MIGRATIONS_DIR, runMigrations } from '../../src/db/migrate';
import { ROOT, TEST_DATA_DIR } from './env';

export interface InProcessPostgres {
  pool: Pool;
  close(): Promise<void>;
}

function poolOf(db: PGlite): Pool {
  // A statement without parameters may hold several (a migration file): exec runs them all; query runs one with $n.
  const query = async (sql: string, params?: unknown[]) =>
    params && params.length > 0 ? db.query(sql, params) : ((await db.exec(sql)).at(-1) ?? { rows: [], fields: [] });
  return { query, connect: async () => ({ query, release: () => undefined }), end: async () => undefined } as unknown as Pool;
}

async function snapshotPath(): Promise<string> {
  const hash = createHash('sha256');
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string };
  hash.update(pkg.version);
  for (const f of (await readdir(MIGRATIONS_DIR)).sort()) hash.update(f).update(await readFile(path.join(MIGRATIONS_DIR, f)));
  return path.join(TEST_DATA_DIR, `pglite-migrated-${hash.digest('hex').slice(0, 16)}.tar.gz`);
}

export async function startInProcessPostgres(): Promise<InProcessPostgres> {
  const snapshot = await snapshotPath();
  const saved = await readFile(snapshot).catch(() => null);
  if (saved) {
    const db = await PGlite.create({ loadDataDir: new Blob([saved]) });
    return { pool: poolOf(db), close: () => db.close() };
  }
  const db = await PGlite.create();
  const pool = poolOf(db);
  await runMigrations(pool);
  // Written whole under another name first, so a run reading it meanwhile never sees half a file.
  const dump = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
  await mkdir(TEST_DATA_DIR, { recursive: true });
  const partial = `${snapshot}.${process.pid}.partial`;
  await writeFile(partial, dump);
  await rename(partial, snapshot);
  return { pool, close: () => db.close() };
}
