// Builds the database layout of earlier versions (PGlite in <dir>/pglite, the project's migrations applied) holding
// the given rows. Run as a child process (`node --import tsx test/helpers/pglite-fixture.ts`, JSON on stdin): PGlite
// loads its WebAssembly with a dynamic import, which Jest's module sandbox does not allow.
// stdin: { dir, tables: { [table]: { columns: [{ name, type }], rows: (string | null)[][] } }, order: string[], extraSql: string[] }
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Pool } from 'pg';
import { runMigrations } from '../../src/db/migrate';

interface Spec {
  dir: string;
  tables: Record<string, { columns: { name: string; type: string }[]; rows: (string | null)[][] }>;
  order: string[];
  extraSql: string[];
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const spec = JSON.parse(input) as Spec;
  const db = await PGlite.create(path.join(spec.dir, 'pglite'));
  try {
    // runMigrations speaks to a pg Pool; PGlite runs a multi-statement migration with exec.
    const poolLike = {
      connect: async () => ({
        query: async (sql: string, params?: unknown[]) => (params ? db.query(sql, params) : ((await db.exec(sql)).at(-1) ?? { rows: [] })),
        release: () => undefined,
      }),
    } as unknown as Pool;
    await runMigrations(poolLike);
    for (const t of spec.order) {
      const { columns, rows } = spec.tables[t];
      for (const row of rows) {
        const values = columns.map((c, i) => `$${i + 1}::${c.type}`).join(', ');
        // PGlite takes bytea parameters as bytes, everything else as PostgreSQL's text form.
        const params = row.map((v, i) => (v !== null && columns[i].type === 'bytea' ? Buffer.from(v.replace(/^\\x/, ''), 'hex') : v));
        await db.query(`INSERT INTO "${t}" (${columns.map((c) => `"${c.name}"`).join(', ')}) VALUES (${values})`, params);
      }
    }
    for (const sql of spec.extraSql) await db.exec(sql);
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
