import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * PostgreSQL without installing PostgreSQL: PGlite (Postgres compiled to WebAssembly) with its files under the data
 * directory, served over the wire protocol on 127.0.0.1 so `pg` talks to it like any server.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const dir = path.resolve(dataDir, 'pglite');
  await mkdir(dir, { recursive: true });
  const db = await PGlite.create(dir);
  // Several connections share one session; transactions are short here, so waiting behind one is brief.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const conn = server.getServerConn(); // "127.0.0.1:port"
  return {
    url: `postgres://postgres@${conn}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
