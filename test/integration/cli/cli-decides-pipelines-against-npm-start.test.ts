// `npx herald` against a real `npm start` (its own port, data directory, embedded PostgreSQL and task queue): approve
// with an edited body, reject, list the scheduled ones as JSON, reschedule, cancel, and the exit codes a script relies
// on (1 for an API error and for a watched pipeline that ended badly). The test reads the results over HTTP itself.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { temporalAddress } from '../../helpers/env';
import { clusterDirOf, processesMentioning, spawnNpmStart, stopNpmStart, waitReady, type NpmStart } from '../../helpers/npm-start-process';
import { freePort } from '../../helpers/ports';
import { herald, jsonLines } from './herald-cli';

jest.setTimeout(600_000);

const KEY = 'cli-npm-start-key';
let dataDir: string;
let port: number;
let server: NpmStart | null = null;
let env: Record<string, string>;

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function waitForState(id: string, pred: (s: any) => boolean, timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any = null;
  while (Date.now() < deadline) {
    const res = await api('GET', `/v1/pipelines/${id}`);
    last = res.body;
    if (res.status === 200 && pred(res.body)) return res.body;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`pipeline ${id} did not reach the expected state; last: ${JSON.stringify(last)?.slice(0, 1500)}`);
}

/** Starts a pipeline with `herald run --no-follow --json` and returns its id. */
async function start(args: string[]): Promise<string> {
  const r = await herald(['run', '--topic', 'Durable workflows in practice', '--platform', 'x', '--platform', 'linkedin', '--dry-run', '--no-follow', '--json', ...args], env);
  if (r.code !== 0) throw new Error(`herald run exited ${r.code}:\n${r.out}\nnpm start said:\n${server?.output().slice(-3000)}`);
  const [created] = jsonLines(r.stdout);
  expect(created.id).toMatch(/^pl_/);
  return created.id;
}

const hoursAhead = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'herald-cli-npm-start-'));
  port = await freePort();
  env = { HERALD_API_URL: `http://127.0.0.1:${port}`, HERALD_API_KEY: KEY };
  server = spawnNpmStart({ dataDir, port, apiKeys: `cli:${KEY}`, taskQueue: `herald-cli-${process.pid}`, temporalAddress: temporalAddress() });
  await waitReady(server);
});
afterAll(async () => {
  if (server && server.child.exitCode === null) await stopNpmStart(server);
  for (const p of processesMentioning(clusterDirOf(dataDir))) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await rm(dataDir, { recursive: true, force: true });
});

it('npx herald approve --edit-body publishes the edited words', async () => {
  const id = await start(['--approval']);
  await waitForState(id, (s) => s.status === 'awaiting_approval');
  const body = 'Edited by a reviewer from the command line: durable workflows keep every step.';
  const r = await herald(['approve', id, '--edit-body', body], env, { npx: true });
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`approved ${id}: now `));
  const done = await waitForState(id, (s) => s.status === 'published');
  expect(done.content.body).toBe(body);
  expect(done.approval).toMatchObject({ decision: 'approved', edited: true });
  for (const v of done.variants) expect(v.parts.join(' ')).toContain('Edited by a reviewer');

  // Deciding twice is an API error (409): exit 1, the API's code and message on stderr.
  const again = await herald(['approve', id, '--edit-body', 'too late'], env, { npx: true });
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/409 conflict: /);
});

it('npx herald reject --reason rejects; watch on it exits 1 (the pipeline ended badly)', async () => {
  const id = await start(['--approval']);
  await waitForState(id, (s) => s.status === 'awaiting_approval');
  const r = await herald(['reject', id, '--reason', 'off-brand tone', '--json'], env, { npx: true });
  expect(r.code).toBe(0);
  expect(jsonLines(r.stdout)[0]).toMatchObject({ id });
  const done = await waitForState(id, (s) => s.status === 'rejected');
  expect(done.approval).toMatchObject({ decision: 'rejected', reason: 'off-brand tone' });

  const watched = await herald(['watch', id], env);
  expect(watched.code).toBe(1);
  expect(watched.stdout).toMatch(/rejected/);
});

it('npx herald list --status scheduled --json, reschedule --at and cancel', async () => {
  const id = await start(['--publish-at', hoursAhead(1)]);
  const other = await start([]);
  await waitForState(id, (s) => s.status === 'scheduled');
  await waitForState(other, (s) => s.status === 'published');

  const list = await herald(['list', '--status', 'scheduled', '--json'], env, { npx: true });
  expect(list.code).toBe(0);
  const [page] = jsonLines(list.stdout);
  expect(page.items.map((p: any) => p.id)).toContain(id);
  expect(page.items.map((p: any) => p.id)).not.toContain(other);
  expect(page.items.every((p: any) => p.status === 'scheduled')).toBe(true);
  expect(page).toHaveProperty('nextCursor');

  const at = hoursAhead(2);
  const moved = await herald(['reschedule', id, '--at', at], env, { npx: true });
  expect(moved.code).toBe(0);
  expect(moved.stdout).toMatch(new RegExp(`${id} publishes at `));
  const rescheduled = await waitForState(id, (s) => s.publishAt !== null && Date.parse(s.publishAt) === Date.parse(at));
  expect(rescheduled.status).toBe('scheduled');

  const cancelled = await herald(['cancel', id], env, { npx: true });
  expect(cancelled.code).toBe(0);
  expect(cancelled.stdout).toMatch(/cancel requested/);
  const done = await waitForState(id, (s) => s.status === 'cancelled');
  expect(done.publications.every((p: any) => p.status === 'skipped')).toBe(true);

  const list2 = await herald(['list', '--status', 'scheduled', '--json'], env);
  expect(jsonLines(list2.stdout)[0].items.map((p: any) => p.id)).not.toContain(id);
});

it('an unknown pipeline is an API error: exit 1 with 404 not_found', async () => {
  const r = await herald(['show', 'pl_does_not_exist'], env);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/404 not_found/);
  expect(r.stdout).toBe('');
});
