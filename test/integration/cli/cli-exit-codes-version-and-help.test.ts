// What `herald` answers without a server: its version, a command's help, usage errors (exit 2) and an API on a closed
// port (exit 3). Exit code 1 (an API error, a pipeline that ended badly) needs a server: see the other files here.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../../helpers/env';
import { freePort } from '../../helpers/ports';
import { herald } from './herald-cli';

let closedUrl: string;
let emptyDataDir: string;
beforeAll(async () => {
  // A port that was free a moment ago and that nothing here listens on.
  closedUrl = `http://127.0.0.1:${await freePort()}`;
  emptyDataDir = await mkdtemp(path.join(tmpdir(), 'herald-cli-'));
});
afterAll(async () => {
  await rm(emptyDataDir, { recursive: true, force: true });
});

const env = () => ({ HERALD_API_URL: closedUrl, HERALD_API_KEY: 'any-key', DATA_DIR: emptyDataDir });

it('--version prints the version of package.json and exits 0', async () => {
  const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
  const r = await herald(['--version'], env());
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe(version);
});

it('<command> --help and help <command> show that command\'s flags and exit 0', async () => {
  const r = await herald(['approve', '--help'], env());
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/Usage: herald approve \[options\] <id>/);
  expect(r.stdout).toMatch(/--edit-body <text>/);
  expect(r.stdout).toMatch(/--edit-variant <platform=text>/);
  expect(r.stdout).toMatch(/--json/); // the global flags are listed too
  const nested = await herald(['help', 'schedules'], env());
  expect(nested.code).toBe(0);
  expect(nested.stdout).toMatch(/create \[options\]/);
  expect(nested.stdout).toMatch(/unpause <id>/);
});

describe('usage errors exit 2 before anything is sent', () => {
  it.each([
    ['an unknown flag', ['list', '--colour']],
    ['an unknown command', ['publish-everything']],
    ['no command at all', []],
    ['a missing argument', ['approve']],
    ['a missing required flag', ['reject', 'pl_1']],
    ['a value outside the choices', ['list', '--status', 'done']],
    ['a malformed number', ['list', '--limit', 'lots']],
    ['a malformed time', ['reschedule', 'pl_1', '--at', 'tomorrow']],
    ['a malformed key=value', ['approve', 'pl_1', '--edit-variant', 'x']],
    ['a run without --topic', ['run', '--platform', 'x', '--dry-run']],
    ['schedules create with both --cron and --every', ['schedules', 'create', '--cron', '@daily', '--every', '1h', '--topic', 't', '--platform', 'x', '--dry-run']],
  ])('%s', async (_what, args) => {
    const r = await herald(args, env());
    expect(r.code).toBe(2);
    expect(r.stderr).not.toBe('');
    expect(r.stderr).not.toMatch(/cannot reach/); // refused before any request
  });

  it('no API key anywhere (no flag, no HERALD_API_KEY, no development key of npm start)', async () => {
    const r = await herald(['list'], { HERALD_API_URL: closedUrl, DATA_DIR: emptyDataDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no API key/);
  });
});

describe('an API that cannot be reached exits 3', () => {
  it.each([
    ['list --json', ['list', '--json']],
    ['show', ['show', 'pl_1']],
    ['watch', ['watch', 'pl_1']],
    ['approve', ['approve', 'pl_1', '--edit-body', 'new words']],
    ['run', ['run', '--topic', 'T', '--platform', 'x', '--dry-run']],
    ['schedules list', ['schedules', 'list']],
    ['webhooks list', ['webhooks', 'list']],
  ])('%s', async (_what, args) => {
    const r = await herald(args, env());
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach the Herald API at ${closedUrl}`);
    expect(r.stdout).toBe('');
  });

  it('keys create with its database on a closed port', async () => {
    const r = await herald(['keys', 'create', 'acme'], { DATABASE_URL: `postgres://postgres@127.0.0.1:${new URL(closedUrl).port}/herald`, DATA_DIR: emptyDataDir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach the database: .*ECONNREFUSED/);
  });

  it('--api-url wins over HERALD_API_URL', async () => {
    const r = await herald(['list', '--api-url', closedUrl], { HERALD_API_URL: 'http://127.0.0.1:1', HERALD_API_KEY: 'k', DATA_DIR: emptyDataDir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(closedUrl);
  });
});
