// A PostgreSQL outage must not kill a worker: one started while the database is away waits for it and then polls, and a
// connection that dies while a worker holds it is an error for that query only, never the end of the process.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool } from '../../src/db/pool';
import { temporalAddress, testDatabaseUrl } from '../helpers/env';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { alive, spawnWorkerProcess, type WorkerProc } from '../helpers/worker-process';

jest.setTimeout(180_000);

let proxy: TcpProxy;
let worker: WorkerProc | null = null;

function viaProxy(): string {
  const u = new URL(testDatabaseUrl());
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}

async function until(what: string, timeoutMs: number, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  const target = new URL(testDatabaseUrl());
  proxy = await startTcpProxy({ host: target.hostname || '127.0.0.1', port: Number(target.port) || 5432 });
});

afterAll(async () => {
  if (worker && alive(worker)) {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
  await proxy?.close();
});

it('a worker started while PostgreSQL refuses connections waits for it, then polls once it is back', async () => {
  await proxy.refuse();
  const w = (worker = spawnWorkerProcess(1, {
    ...(process.env as Record<string, string>),
    DATABASE_URL: viaProxy(),
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: `herald-dbwait-${randomBytes(4).toString('hex')}`,
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    TEXT_PROVIDERS: 'offline',
    IMAGE_SOURCES: 'card',
  }));
  const exited = () => !alive(w);

  // It tried, was refused, and said so (the fault landed) instead of exiting.
  await until('the worker to report that PostgreSQL is not reachable', 60_000, () => exited() || w.output.includes('PostgreSQL is not reachable yet'));
  expect(exited()).toBe(false);
  expect(w.output).toMatch(/ECONNREFUSED/);
  // Still waiting a few tries later.
  await until('a second try', 30_000, () => exited() || w.output.split('PostgreSQL is not reachable yet').length > 2);
  expect(exited()).toBe(false);
  expect(w.output).not.toContain('worker polling');

  await proxy.restore();
  await until('the worker to poll after PostgreSQL came back', 90_000, () => exited() || w.output.includes('worker polling'));
  expect(exited()).toBe(false);
  expect(w.output).toContain('worker polling');
});

it('a connection that dies while a client is checked out fails that client, not the process; the pool serves again', async () => {
  const pool = createPool(viaProxy(), 2);
  try {
    const client = await pool.connect();
    await client.query('SELECT 1');
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    const before = proxy.stats.terminated;
    proxy.terminate();
    await ended;
    expect(proxy.stats.terminated).toBeGreaterThan(before);
    // Without the pool's listener the 'error' this client just emitted would have ended the Jest process here.
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    const { rows } = await pool.query<{ n: number }>('SELECT 2 AS n');
    expect(rows[0].n).toBe(2);
  } finally {
    await pool.end();
  }
});
