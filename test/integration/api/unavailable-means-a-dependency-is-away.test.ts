// What counts as "a dependency is away" (503) and what does not (a bug stays a 500), decided on errors produced for real
// by PostgreSQL, node-postgres and the Temporal client, never on hand-made error objects.
import { createServer, type Server, type Socket } from 'node:net';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { createApiTemporalClient } from '../../../src/api/temporal-client';
import { isTemporalUnavailable } from '../../../src/api/temporal-errors';
import { isDatabaseUnavailable, unavailableError } from '../../../src/api/unavailable';
import { loadConfig } from '../../../src/config';
import { createPool } from '../../../src/db/pool';
import { temporalAddress, testDatabaseUrl } from '../../helpers/env';

jest.setTimeout(60_000);

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function urlOnPort(port: number): string {
  const u = new URL(testDatabaseUrl());
  u.host = `127.0.0.1:${port}`;
  return u.toString();
}

describe('PostgreSQL', () => {
  test('refused connection: unavailable', async () => {
    const pool = createPool(urlOnPort(await closedPort()), 1);
    const err = await rejection(pool.query('SELECT 1'));
    await pool.end();
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(unavailableError(err)).toMatchObject({ statusCode: 503, code: 'unavailable', retryAfterSeconds: 5 });
  });

  test('a server that accepts and never answers: the pool gives up within its 3 s connect timeout, unavailable', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const pool = createPool(urlOnPort((silent.address() as { port: number }).port), 1);
    const t0 = Date.now();
    const err = await rejection(pool.query('SELECT 1'));
    const ms = Date.now() - t0;
    await pool.end().catch(() => undefined);
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => silent.close(() => r()));
    expect(sockets.length).toBe(1); // the connection really was made and left unanswered
    expect(ms).toBeGreaterThanOrEqual(2_900);
    expect(ms).toBeLessThan(5_000);
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  test('backend ended by an administrator mid-query (57P01): unavailable', async () => {
    const victim = new PgClient({ connectionString: testDatabaseUrl() });
    victim.on('error', () => undefined);
    await victim.connect();
    const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const admin = new PgClient({ connectionString: testDatabaseUrl() });
    await admin.connect();
    const sleeping = rejection(victim.query('SELECT pg_sleep(30)'));
    // Wait until the sleep is really running on that backend, then end it.
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query<{ q: string }>('SELECT query AS q FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (rows[0]?.q.includes('pg_sleep')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const ended = (await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid])).rows[0].ok;
    const err = await sleeping;
    await admin.end();
    await victim.end().catch(() => undefined);
    expect(ended).toBe(true);
    expect((err as { code?: string }).code).toBe('57P01');
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  test('a query cancelled by statement_timeout (57014): unavailable', async () => {
    const c = new PgClient({ connectionString: testDatabaseUrl() });
    await c.connect();
    await c.query('SET statement_timeout = 50');
    const err = await rejection(c.query('SELECT pg_sleep(2)'));
    await c.end();
    expect((err as { code?: string }).code).toBe('57014');
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  test('errors in the request or in our SQL are not "unavailable": division by zero, syntax, unknown table, bad integer, unique violation', async () => {
    const c = new PgClient({ connectionString: testDatabaseUrl() });
    await c.connect();
    const errors = [
      await rejection(c.query('SELECT 1/0')),
      await rejection(c.query('SELEC 1')),
      await rejection(c.query('SELECT * FROM no_such_table_here')),
      await rejection(c.query("SELECT 'abc'::int")),
    ];
    await c.query('CREATE TEMP TABLE t_unique (x int PRIMARY KEY)');
    await c.query('INSERT INTO t_unique VALUES (1)');
    errors.push(await rejection(c.query('INSERT INTO t_unique VALUES (1)')));
    await c.end();
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['22012', '42601', '42P01', '22P02', '23505']);
    expect(errors.map((e) => isDatabaseUnavailable(e))).toEqual([false, false, false, false, false]);
    expect(errors.map((e) => unavailableError(e))).toEqual([null, null, null, null, null]);
  });
});

describe('Temporal', () => {
  const config = loadConfig({ TEMPORAL_ADDRESS: temporalAddress(), API_KEYS: 't:k', TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') });

  test("an unreachable server: the API's client fails within ~2 s with an error classified unavailable", async () => {
    const base = new TemporalClient({ connection: Connection.lazy({ address: `127.0.0.1:${await closedPort()}` }) });
    const api = createApiTemporalClient(base, config);
    const t0 = Date.now();
    const err = await rejection(api.workflow.start('contentPipeline', { taskQueue: 'nowhere', workflowId: 'outage-classifier', args: [{}] }));
    const ms = Date.now() - t0;
    await api.connection.close();
    await base.connection.close();
    expect(ms).toBeLessThan(5_000);
    expect(isTemporalUnavailable(err)).toBe(true);
    expect(unavailableError(err)).toMatchObject({ statusCode: 503, code: 'unavailable' });
  });

  test('a server that answers "not found" is not unavailable', async () => {
    const base = new TemporalClient({ connection: await Connection.connect({ address: temporalAddress() }) });
    const api = createApiTemporalClient(base, config);
    const err = await rejection(api.workflow.getHandle(`no-such-workflow-${Date.now()}`).describe());
    await api.connection.close();
    await base.connection.close();
    expect((err as Error).name).toBe('WorkflowNotFoundError');
    expect(isTemporalUnavailable(err)).toBe(false);
    expect(unavailableError(err)).toBeNull();
  });
});
