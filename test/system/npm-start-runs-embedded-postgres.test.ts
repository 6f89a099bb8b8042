// `npm start` with no DATABASE_URL runs a real PostgreSQL (not PGlite behind a multiplexer): many concurrent clients
// get no 5xx and no protocol errors and every pipeline publishes; `herald keys create` reaches the running database;
// Ctrl-C leaves no postgres behind; Herald killed with SIGKILL takes its PostgreSQL down cleanly; a run killed outright
// (postgres included, postmaster.pid left behind) does not block the next start, and nothing stored is lost; as root,
// a data directory under a closed parent still starts.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, temporalAddress } from '../helpers/env';
import {
  clusterDirOf,
  parentOf,
  processesMentioning,
  PROTOCOL_ERROR,
  spawnNpmStart,
  stopNpmStart,
  waitReady,
  type NpmStart,
} from '../helpers/npm-start-process';
import { freePort } from '../helpers/ports';

jest.setTimeout(600_000);

const CLIENTS = Number(process.env.NPM_START_LOAD_CLIENTS ?? 30);
const LOAD_MS = Number(process.env.NPM_START_LOAD_MS ?? 30_000);
const KEY = 'embedded-load-key';

let dataDir: string;
let port: number;
let herald: NpmStart | null = null;
const taskQueue = `herald-embedded-${process.pid}`;

const start = () =>
  spawnNpmStart({ dataDir, port, apiKeys: `load:${KEY}`, taskQueue, temporalAddress: temporalAddress() });

async function api(method: string, route: string, body?: unknown, key = KEY) {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the failure message
  }
  return { status: res.status, body: json, text };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'herald-embedded-'));
  port = await freePort();
});
afterAll(async () => {
  if (herald && herald.child.exitCode === null) await stopNpmStart(herald);
  // Whatever a failed test left (a postgres on this data dir) is stopped by pid, then the directory goes.
  for (const p of processesMentioning(clusterDirOf(dataDir))) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await rm(dataDir, { recursive: true, force: true });
});

it(`serves ${CLIENTS} concurrent clients with 0 responses >= 500, every pipeline published, no protocol errors`, async () => {
  herald = start();
  await waitReady(herald);
  // The real server: its cluster directory exists and a postgres process serves it.
  expect(existsSync(path.join(clusterDirOf(dataDir), 'PG_VERSION'))).toBe(true);
  expect(processesMentioning(clusterDirOf(dataDir)).some((p) => /bin\/postgres /.test(p.cmd))).toBe(true);

  const statuses = new Map<number, number>();
  const failures: string[] = [];
  const created: string[] = [];
  const count = (status: number, what: string, text: string) => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status >= 500 && failures.length < 10) failures.push(`${what} -> ${status} ${text.slice(0, 300)}`);
  };
  // Each client does what a user's script does: submit a dry run, then read it and the list every 100 ms until it is
  // published, then submit the next one.
  const until = Date.now() + LOAD_MS;
  let n = 0;
  const client = async (c: number) => {
    while (Date.now() < until) {
      const i = n++;
      const post = await api('POST', '/v1/pipelines', {
        topic: `Load ${c}-${i}: why durable workflows beat cron jobs`,
        targets: [{ platform: 'x' }, { platform: 'mastodon' }],
        dryRun: true,
      });
      count(post.status, 'POST /v1/pipelines', post.text);
      if (post.status !== 202) continue;
      created.push(post.body.id);
      while (Date.now() < until) {
        const got = await api('GET', `/v1/pipelines/${post.body.id}`);
        count(got.status, 'GET /v1/pipelines/:id', got.text);
        const list = await api('GET', '/v1/pipelines?limit=20');
        count(list.status, 'GET /v1/pipelines', list.text);
        if (got.body?.status === 'published') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  const fiveHundreds = [...statuses].filter(([s]) => s >= 500).reduce((a, [, k]) => a + k, 0);
  expect({ fiveHundreds, failures }).toEqual({ fiveHundreds: 0, failures: [] });
  expect(total).toBeGreaterThan(CLIENTS * 10); // the load really ran: every client made many requests
  expect(created.length).toBeGreaterThanOrEqual(CLIENTS);

  // Every pipeline reaches published (the worker in the same process works them off).
  const pending = new Set(created);
  const deadline = Date.now() + 300_000;
  const notPublished = new Map<string, string>();
  while (pending.size && Date.now() < deadline) {
    for (const id of [...pending]) {
      const r = await api('GET', `/v1/pipelines/${id}`);
      expect(r.status).toBeLessThan(500);
      if (r.body?.status === 'published') {
        pending.delete(id);
        notPublished.delete(id);
      } else notPublished.set(id, r.body?.status);
    }
    if (pending.size) await new Promise((r) => setTimeout(r, 1000));
  }
  expect(Object.fromEntries(notPublished)).toEqual({});
  expect(herald.output()).not.toMatch(PROTOCOL_ERROR);
  // The rows are really in PostgreSQL: the list shows as many as were created.
  let listed = 0;
  let cursor: string | undefined;
  do {
    const page = await api('GET', `/v1/pipelines?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(page.status).toBe(200);
    listed += page.body.items.length;
    cursor = page.body.nextCursor ?? undefined;
  } while (cursor);
  expect(listed).toBe(created.length);
});

it('`herald keys create` works while npm start runs, and the new key is accepted', async () => {
  expect(herald && herald.child.exitCode === null).toBe(true);
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, ['bin/herald.cjs', 'keys', 'create', 'keys-tenant'], {
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
  expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
  const key = /hk_[A-Za-z0-9_-]+/.exec(out.stdout)?.[0];
  expect(key).toBeDefined();
  // The url file holds the password: this user only.
  const mode = statSync(path.join(dataDir, 'postgres.url')).mode & 0o777;
  expect(mode).toBe(0o600);
  const mine = await api('GET', '/v1/pipelines', undefined, key);
  expect(mine.status).toBe(200);
  expect(mine.body.items).toEqual([]); // a new tenant sees none of tenant "load"'s pipelines
  expect((await api('GET', '/v1/pipelines', undefined, 'hk_not_a_key')).status).toBe(401);
});

it('Ctrl-C stops PostgreSQL with Herald: exit 0, no postgres left, no postmaster.pid, url file removed', async () => {
  const stopped = await stopNpmStart(herald!);
  expect(stopped.code).toBe(0);
  expect(stopped.ms).toBeLessThan(30_000);
  expect(processesMentioning(clusterDirOf(dataDir))).toEqual([]);
  expect(existsSync(path.join(clusterDirOf(dataDir), 'postmaster.pid'))).toBe(false);
  expect(existsSync(path.join(dataDir, 'postgres.url'))).toBe(false);
});

it('Herald killed with SIGKILL (as run.mjs does after its 5 s grace): PostgreSQL shuts itself down cleanly, nothing orphaned', async () => {
  herald = start();
  await waitReady(herald);
  const pidFile = path.join(clusterDirOf(dataDir), 'postmaster.pid');
  const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  const app = parentOf(parentOf(postmaster)!)!;
  expect(parentOf(app)).toBe(herald.child.pid); // run.mjs -> app -> watchdog -> postmaster
  expect(processesMentioning(clusterDirOf(dataDir)).some((p) => p.pid === postmaster)).toBe(true);
  process.kill(app, 'SIGKILL'); // only the app: no chance to stop anything itself
  await herald.exited;
  const deadline = Date.now() + 30_000;
  while (processesMentioning(clusterDirOf(dataDir)).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect(processesMentioning(clusterDirOf(dataDir))).toEqual([]);
  expect(existsSync(pidFile)).toBe(false); // a clean shutdown, not a crash
});

it('a run killed outright (postgres too, postmaster.pid left behind) does not block the next start; nothing is lost', async () => {
  herald = start();
  await waitReady(herald);
  const before = await api('GET', '/v1/pipelines?limit=5');
  expect(before.status).toBe(200);
  const created = await api('POST', '/v1/pipelines', { topic: 'Written just before the kill', targets: [{ platform: 'x' }], dryRun: true });
  expect(created.status).toBe(202);

  // Kill everything at once with SIGKILL: postmaster (and its watchdog group), the app, run.mjs.
  const pidFile = path.join(clusterDirOf(dataDir), 'postmaster.pid');
  const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  const watchdog = parentOf(postmaster)!;
  const app = parentOf(watchdog)!;
  expect(app).not.toBe(herald.child.pid); // run.mjs -> app -> watchdog -> postmaster
  expect(parentOf(app)).toBe(herald.child.pid);
  process.kill(-watchdog, 'SIGKILL');
  process.kill(app, 'SIGKILL');
  herald.child.kill('SIGKILL');
  await herald.exited;
  const deadline = Date.now() + 30_000;
  while (processesMentioning(clusterDirOf(dataDir)).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect(processesMentioning(clusterDirOf(dataDir))).toEqual([]);
  expect(existsSync(pidFile)).toBe(true); // the fault landed: a stale lock file from a server that never shut down

  herald = start();
  await waitReady(herald);
  const after = await api('GET', `/v1/pipelines/${created.body.id}`);
  expect(after.status).toBe(200);
  for (const p of before.body.items) expect((await api('GET', `/v1/pipelines/${p.id}`)).body.status).toBe(p.status);
  let state = after.body;
  for (let i = 0; i < 240 && state.status !== 'published'; i++) {
    await new Promise((r) => setTimeout(r, 500));
    state = (await api('GET', `/v1/pipelines/${created.body.id}`)).body;
  }
  expect(state.status).toBe('published');
  const stopped = await stopNpmStart(herald);
  expect(stopped.code).toBe(0);
  expect(processesMentioning(clusterDirOf(dataDir))).toEqual([]);
});

// As root, PostgreSQL runs as the user "postgres"; a project under a directory closed to others (a clone in /root)
// still starts: the cluster is made under /var/lib/herald and linked from <dataDir>/postgres.
(process.getuid?.() === 0 ? it : it.skip)('as root, a data directory under a closed parent still starts (cluster linked from .data/postgres)', async () => {
  const closed = await mkdtemp(path.join(tmpdir(), 'herald-closed-')); // 0700: closed to the postgres user
  const nested = path.join(closed, 'project', '.data');
  let target: string | null = null;
  const { mkdir, readlink, lstat } = await import('node:fs/promises');
  await mkdir(nested, { recursive: true });
  const closedPort = await freePort();
  const h = spawnNpmStart({ dataDir: nested, port: closedPort, apiKeys: `load:${KEY}`, taskQueue, temporalAddress: temporalAddress() });
  try {
    await waitReady(h);
    expect((await lstat(path.join(nested, 'postgres'))).isSymbolicLink()).toBe(true);
    target = await readlink(path.join(nested, 'postgres'));
    expect(target).toMatch(/^\/var\/lib\/herald\/[0-9a-f]{16}\/postgres$/);
    expect(existsSync(path.join(target, 'PG_VERSION'))).toBe(true);
    const res = await fetch(`http://127.0.0.1:${closedPort}/v1/pipelines`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    const stopped = await stopNpmStart(h);
    expect(stopped.code).toBe(0);
    expect(processesMentioning(target)).toEqual([]);
  } finally {
    if (h.child.exitCode === null) await stopNpmStart(h);
    if (target) await rm(path.dirname(target), { recursive: true, force: true });
    await rm(closed, { recursive: true, force: true });
  }
});
