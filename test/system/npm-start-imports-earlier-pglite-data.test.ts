// Upgrading from a version whose `npm start` kept its data in PGlite (.data/pglite): the first start with the real
// embedded PostgreSQL imports everything once. The old database is built here the way that version built it (PGlite
// with the project's migrations), filled with the rows a real run produced (a published dry-run pipeline with its
// publications and media, a connected account, a key made with `herald keys create`); after the upgrade the API shows
// the same pipeline and account, the old key still works, every row of every table is identical, and a second start
// imports nothing again. A database that cannot be imported stops start-up with instructions and is left untouched.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { until } from '../helpers/api-process';
import { ROOT, temporalAddress } from '../helpers/env';
import { processesMentioning, spawnNpmStart, stopNpmStart, waitReady, type NpmStart } from '../helpers/npm-start-process';
import { freePort } from '../helpers/ports';

jest.setTimeout(600_000);

const KEY = 'pglite-import-key';
const taskQueue = `herald-import-${process.pid}`;
const dirs: string[] = [];
const started: NpmStart[] = [];

async function tempDir(prefix: string) {
  const d = await mkdtemp(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function start(dataDir: string): Promise<{ herald: NpmStart; api: (m: string, r: string, b?: unknown, k?: string) => Promise<{ status: number; body: any }> }> {
  const port = await freePort();
  const running = spawnNpmStart({ dataDir, port, apiKeys: `imp:${KEY}`, taskQueue, temporalAddress: temporalAddress() });
  started.push(running);
  await waitReady(running);
  const api = async (method: string, route: string, body?: unknown, key = KEY) => {
    const res = await fetch(`http://127.0.0.1:${port}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  return { herald: running, api };
}

async function stop(h: NpmStart) {
  const r = await stopNpmStart(h);
  expect(r.code).toBe(0);
}

/** Runs body, then stops h whatever happened (a failed expectation must not leave a Herald holding the data dir). */
async function thenStop(h: NpmStart, body: () => Promise<void>) {
  try {
    await body();
  } catch (err) {
    if (h.child.exitCode === null) await stopNpmStart(h);
    throw err;
  }
  await stop(h);
}

/**
 * Waits until the webhook dispatcher has passed over every lifecycle event (it polls the outbox every second and stamps
 * `dispatched_at`): a dump taken before that would differ from the imported copy once its own dispatcher stamps it.
 */
async function outboxDrained(url: string) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await until('every lifecycle event dispatched', 120_000, async () => {
      const { rows } = await c.query(`SELECT count(*) AS n FROM lifecycle_events WHERE dispatched_at IS NULL`);
      return Number(rows[0].n) === 0 ? true : undefined;
    });
  } finally {
    await c.end();
  }
}

/** The dump with long values (image bytes) replaced by their length and digest, so a failure prints readably. */
function digest(dump: Dump) {
  const short = (v: string | null) => (v !== null && v.length > 200 ? `${v.length} chars, sha256 ${createHash('sha256').update(v).digest('hex')}` : v);
  return Object.fromEntries(Object.entries(dump).map(([t, d]) => [t, { columns: d.columns, rows: d.rows.map((r) => r.map(short)) }]));
}

type Dump = Record<string, { columns: { name: string; type: string }[]; rows: (string | null)[][] }>;

/** Every row of every table (schema_migrations aside) as PostgreSQL's text, in a stable order. */
async function dumpPostgres(url: string): Promise<Dump> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const cols = await c.query<{ t: string; c: string; type: string }>(
      `SELECT c.relname AS t, a.attname AS c, format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND c.relname <> 'schema_migrations'
        ORDER BY c.relname, a.attnum`,
    );
    const dump: Dump = {};
    for (const r of cols.rows) (dump[r.t] ??= { columns: [], rows: [] }).columns.push({ name: r.c, type: r.type });
    for (const [t, d] of Object.entries(dump)) {
      const list = d.columns.map((col) => `"${col.name}"::text`).join(', ');
      const res = await c.query({ text: `SELECT ${list} FROM "${t}" ORDER BY 1, 2`, rowMode: 'array' });
      d.rows = res.rows;
    }
    return dump;
  } finally {
    await c.end();
  }
}

/** The old layout: PGlite in <dataDir>/pglite with the project's migrations, holding the given rows (built in a child). */
async function writePglite(dataDir: string, dump: Dump, extraSql: string[] = []) {
  const order = [
    'tenants',
    'api_keys',
    'accounts',
    'pipelines',
    'publications',
    'media',
    'feedback',
    'schedules',
    'pipeline_timeline',
    'lifecycle_events',
    'webhook_subscriptions',
    'webhook_deliveries',
  ];
  expect(Object.keys(dump).sort()).toEqual([...order].sort()); // a new table must be added to this fixture
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/pglite-fixture.ts'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (out += d));
    c.once('exit', (code) => resolve({ code, out }));
    c.stdin!.end(JSON.stringify({ dir: dataDir, tables: dump, order, extraSql }));
  });
  expect(result).toEqual({ code: 0, out: '' });
}

function cli(dataDir: string, args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, ['bin/herald.cjs', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (d) => (stdout += d));
    c.stderr!.on('data', (d) => (stderr += d));
    c.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

afterAll(async () => {
  for (const h of started) if (h.child.exitCode === null) await stopNpmStart(h);
  for (const d of dirs) {
    for (const p of processesMentioning(d)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await rm(d, { recursive: true, force: true });
  }
});

let before: { pipeline: any; accounts: any; cliKey: string; dump: Dump };
let upgradedDir: string;

it('imports an earlier .data/pglite once: same pipeline, account and keys through the API, every row identical', async () => {
  // 1. A real run produces the rows an earlier version would have held.
  const source = await tempDir('herald-import-src-');
  const a = await start(source);
  let pipeline: any;
  let cliKey = '';
  let dump: Dump = {};
  let accounts: any;
  await thenStop(a.herald, async () => {
    const account = await a.api('POST', '/v1/accounts', { platform: 'slack', handle: '#news', credentials: { url: 'https://hooks.slack.example/services/T0/B0/secret' } });
    expect(account.status).toBe(201);
    const created = await a.api('POST', '/v1/pipelines', { topic: 'Carried over from PGlite', targets: [{ platform: 'x' }, { platform: 'mastodon' }], dryRun: true });
    expect(created.status).toBe(202);
    for (let i = 0; i < 240; i++) {
      pipeline = (await a.api('GET', `/v1/pipelines/${created.body.id}`)).body;
      if (pipeline.status === 'published') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(pipeline.status).toBe('published');
    const made = await cli(source, ['keys', 'create', 'imp-cli']);
    expect(made.code).toBe(0);
    cliKey = /hk_[A-Za-z0-9_-]+/.exec(made.stdout)![0];
    const url = (await readFile(path.join(source, 'postgres.url'), 'utf8')).trim();
    await outboxDrained(url);
    dump = await dumpPostgres(url);
    accounts = (await a.api('GET', '/v1/accounts')).body;
  });
  expect(dump.pipelines.rows).toHaveLength(1);
  expect(dump.publications.rows).toHaveLength(2);
  expect(dump.api_keys.rows).toHaveLength(1);
  expect(dump.accounts.rows).toHaveLength(1);
  expect(dump.lifecycle_events.rows.length).toBeGreaterThan(0);
  before = { pipeline, accounts, cliKey, dump };

  // 2. The same rows in the old layout: PGlite under .data/pglite, with the same encryption key file, no postgres yet.
  upgradedDir = await tempDir('herald-import-dst-');
  await writePglite(upgradedDir, dump);
  await copyFile(path.join(source, 'encryption.key'), path.join(upgradedDir, 'encryption.key'));

  // 3. Upgrade: npm start imports it.
  const b = await start(upgradedDir);
  await thenStop(b.herald, async () => {
    const entries = await readdir(upgradedDir);
    expect(entries).not.toContain('pglite');
    expect(entries.filter((e) => /^pglite\.imported-\d{8}T\d{6}Z$/.test(e))).toHaveLength(1);
    expect((await b.api('GET', `/v1/pipelines/${pipeline.id}`)).body).toEqual(pipeline);
    expect((await b.api('GET', '/v1/accounts')).body).toEqual(accounts);
    const list = await b.api('GET', '/v1/pipelines', undefined, cliKey); // the key made before the upgrade still works
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([]);
    expect((await b.api('GET', '/v1/pipelines', undefined, 'hk_never_issued')).status).toBe(401);
    const after = await dumpPostgres((await readFile(path.join(upgradedDir, 'postgres.url'), 'utf8')).trim());
    expect(digest(after)).toEqual(digest(dump));
  });
});

it('a second start imports nothing again', async () => {
  const b = await start(upgradedDir);
  await thenStop(b.herald, async () => {
    const after = await dumpPostgres((await readFile(path.join(upgradedDir, 'postgres.url'), 'utf8')).trim());
    expect(digest(after)).toEqual(digest(before.dump));
    expect((await b.api('GET', `/v1/pipelines/${before.pipeline.id}`)).body).toEqual(before.pipeline);
  });
});

it('a PGlite database that cannot be imported stops start-up with what to do, and is left as it was', async () => {
  const dir = await tempDir('herald-import-bad-');
  // Written by a "newer" version: a migration this one does not know.
  await writePglite(dir, before.dump, [`INSERT INTO schema_migrations (version) VALUES ('999_from_the_future.sql')`]);
  const listing = async () => (await readdir(path.join(dir, 'pglite'), { recursive: true })).sort();
  const filesBefore = await listing();
  const port = await freePort();
  const h = spawnNpmStart({ dataDir: dir, port, apiKeys: `imp:${KEY}`, taskQueue, temporalAddress: temporalAddress() });
  const { code } = await h.exited;
  expect(code).not.toBe(0);
  const out = h.output();
  expect(out).toContain(path.join(dir, 'pglite'));
  expect(out).toMatch(/999_from_the_future\.sql/);
  expect(out).toMatch(/mv .*pglite .*pglite\.skipped/);
  expect(await listing()).toEqual(filesBefore);
  // Its PostgreSQL does not outlive the failed start (the watchdog stops it once Herald has exited).
  for (const end = Date.now() + 30_000; processesMentioning(path.join(dir, 'postgres')).length && Date.now() < end; ) await new Promise((r) => setTimeout(r, 200));
  expect(processesMentioning(path.join(dir, 'postgres'))).toEqual([]);

  // Following the message: moved away, the next start works (and imports nothing).
  await rename(path.join(dir, 'pglite'), path.join(dir, 'pglite.skipped'));
  const ok = await start(dir);
  await thenStop(ok.herald, async () => {
    expect((await ok.api('GET', '/v1/pipelines')).body.items).toEqual([]);
  });
});
