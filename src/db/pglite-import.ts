import { rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { EmbeddedDatabaseError } from './embedded-postgres';

/**
 * Earlier versions of `npm start` kept their database in `<dataDir>/pglite` (PGlite, PostgreSQL compiled to
 * WebAssembly). The first start with the real embedded PostgreSQL copies every row of every Herald table from there,
 * in foreign-key order, inside one transaction, then renames the directory to `pglite.imported-<time>` so it is
 * imported exactly once. Every value travels as PostgreSQL's own text form and is cast back to the column's type, so
 * jsonb, arrays, bytea and timestamps arrive exactly as they were.
 *
 * Run after the migrations (the target has the current schema); columns added since the old version get their
 * defaults. A table or a migration the current schema does not know stops the import rather than dropping data.
 */

export interface PgliteImportResult {
  source: string;
  renamedTo: string;
  rows: Record<string, number>;
}

const PAGE = 100;
const MARKER = 'herald: pglite imported from ';

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

interface PgliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  close(): Promise<void>;
}

/** The message start-up stops with when an import fails: what happened and exactly what to do. */
export function importFailureMessage(source: string, reason: string): string {
  const relative = path.relative(process.cwd(), source);
  const rel = relative && !relative.startsWith('..') ? relative : source;
  return [
    `Herald could not import the database of an earlier version in ${rel} (PGlite) into the embedded PostgreSQL:`,
    `  ${reason}`,
    'Nothing was imported and that directory is unchanged. Either:',
    `  - fix the cause above and run \`npm start\` again (the import is retried at every start until it succeeds), or`,
    `  - start without that data: \`mv ${rel} ${rel}.skipped\` (it stays on disk and is never imported).`,
  ].join('\n');
}

/** Imports `<dataDir>/pglite` if present; null when there is nothing to import. Throws with importFailureMessage. */
export async function importPgliteIfPresent(
  dataDir: string,
  pool: Pool,
  log: (msg: string) => void = () => undefined,
): Promise<PgliteImportResult | null> {
  const source = path.resolve(dataDir, 'pglite');
  const isCluster = await stat(path.join(source, 'PG_VERSION')).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isCluster) return null;

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const renamedTo = `${source}.imported-${stamp}`;
  let rows: Record<string, number>;
  let already: boolean;
  try {
    log(`importing the earlier embedded database ${source} (once)`);
    const client = await pool.connect();
    try {
      already = await alreadyImported(client, source);
      rows = already ? {} : await copyAll(source, client);
    } finally {
      client.release();
    }
  } catch (err) {
    throw new EmbeddedDatabaseError(importFailureMessage(source, (err as Error).message), { cause: err });
  }
  try {
    await rename(source, renamedTo);
  } catch (err) {
    throw new EmbeddedDatabaseError(
      `the rows of ${source} were imported, but the directory could not be renamed to ${renamedTo} (${(err as Error).message}); ` +
        'rename or move it yourself so it is not offered for import again.',
      { cause: err },
    );
  }
  if (already) log(`${source} had been imported already; renamed to ${renamedTo}`);
  return { source, renamedTo, rows };
}

async function alreadyImported(client: PoolClient, source: string): Promise<boolean> {
  const { rows } = await client.query<{ d: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS d FROM pg_database WHERE datname = current_database()`,
  );
  return (rows[0]?.d ?? '').includes(MARKER + source);
}

async function copyAll(source: string, client: PoolClient): Promise<Record<string, number>> {
  const { PGlite } = await import('@electric-sql/pglite');
  let db: PgliteLike;
  try {
    db = (await PGlite.create(source)) as unknown as PgliteLike;
  } catch (err) {
    throw new Error(`PGlite could not open it: ${(err as Error).message}`, { cause: err });
  }
  try {
    // Which tables and columns the old database has.
    const srcCols = new Map<string, Set<string>>();
    for (const r of (
      await db.query<{ t: string; c: string }>(
        `SELECT table_name AS t, column_name AS c FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name IN
            (SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE')`,
      )
    ).rows) {
      if (!srcCols.has(r.t)) srcCols.set(r.t, new Set());
      srcCols.get(r.t)!.add(r.c);
    }
    srcCols.delete('schema_migrations');

    // Migrations the old database had must all be known here (a newer version's data could not be placed safely).
    if ((await db.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'schema_migrations'`)).rows.length) {
      const theirs = (await db.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version);
      const ours = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const unknown = theirs.filter((v) => !ours.has(v));
      if (unknown.length) throw new Error(`it was written by a newer Herald (migrations ${unknown.join(', ')} are unknown to this one); run that version`);
    }

    // The current schema: column types, and foreign keys for the order.
    const types = new Map<string, Map<string, string>>();
    for (const r of (
      await client.query<{ t: string; c: string; type: string }>(
        `SELECT c.relname AS t, a.attname AS c, format_type(a.atttypid, a.atttypmod) AS type
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''`,
      )
    ).rows) {
      if (!types.has(r.t)) types.set(r.t, new Map());
      types.get(r.t)!.set(r.c, r.type);
    }
    const missing = [...srcCols.keys()].filter((t) => !types.has(t));
    if (missing.length) throw new Error(`it has tables this version does not know (${missing.join(', ')}); run the version that wrote it`);
    const deps = new Map<string, Set<string>>([...srcCols.keys()].map((t) => [t, new Set<string>()]));
    for (const r of (
      await client.query<{ child: string; parent: string }>(
        `SELECT cc.relname AS child, pc.relname AS parent
           FROM pg_constraint k JOIN pg_class cc ON cc.oid = k.conrelid JOIN pg_class pc ON pc.oid = k.confrelid
           JOIN pg_namespace n ON n.oid = k.connamespace
          WHERE k.contype = 'f' AND n.nspname = 'public'`,
      )
    ).rows) {
      if (r.child !== r.parent && deps.has(r.child) && deps.has(r.parent)) deps.get(r.child)!.add(r.parent);
    }
    const order: string[] = [];
    while (order.length < deps.size) {
      const ready = [...deps.keys()].filter((t) => !order.includes(t) && [...deps.get(t)!].every((p) => order.includes(p))).sort();
      if (!ready.length) throw new Error('its tables reference each other in a cycle; this version cannot order them');
      order.push(...ready);
    }

    const counts: Record<string, number> = {};
    await client.query('BEGIN');
    try {
      for (const table of order) {
        const typeOf = types.get(table)!;
        const cols = [...srcCols.get(table)!].filter((c) => typeOf.has(c)).sort();
        const dropped = [...srcCols.get(table)!].filter((c) => !typeOf.has(c));
        const hasValues = await db.query(`SELECT 1 FROM ${ident(table)} WHERE ${dropped.map((c) => `${ident(c)} IS NOT NULL`).join(' OR ') || 'false'} LIMIT 1`);
        if (hasValues.rows.length) throw new Error(`table ${table} has values in columns this version does not have (${dropped.join(', ')})`);
        const select = cols.map((c, i) => `${ident(c)}::text AS c${i}`).join(', ');
        const total = Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ident(table)}`)).rows[0].n);
        let copied = 0;
        let after = '(0,0)';
        for (;;) {
          const page = (
            await db.query<Record<string, string | null> & { tid: string }>(
              `SELECT ctid::text AS tid, ${select} FROM ${ident(table)} WHERE ctid > $1::tid ORDER BY ctid LIMIT ${PAGE}`,
              [after],
            )
          ).rows;
          if (!page.length) break;
          after = page[page.length - 1].tid;
          const params: (string | null)[] = [];
          const tuples = page.map((row) => `(${cols.map((c, i) => `$${params.push(row[`c${i}`] ?? null)}::${typeOf.get(c)}`).join(', ')})`);
          const res = await client.query(`INSERT INTO ${ident(table)} (${cols.map(ident).join(', ')}) VALUES ${tuples.join(', ')}`, params);
          copied += res.rowCount ?? 0;
        }
        if (copied !== total) throw new Error(`table ${table}: copied ${copied} of ${total} rows`);
        counts[table] = copied;
      }
      const { rows: dbName } = await client.query<{ d: string }>('SELECT current_database() AS d');
      await client.query(`COMMENT ON DATABASE ${ident(dbName[0].d)} IS ${literal(`${MARKER}${source} at ${new Date().toISOString()}`)}`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    return counts;
  } finally {
    await db.close().catch(() => undefined);
  }
}

function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
