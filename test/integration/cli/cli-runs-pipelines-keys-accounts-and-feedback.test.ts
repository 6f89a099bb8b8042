import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, testDatabaseUrl } from '../../helpers/env';
import { dryRunRequest, startHarness, type Harness } from '../../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

function herald(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/herald.cjs'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('npx herald', () => {
  it('run shows each stage live and ends with the variants and publications', async () => {
    const { code, out } = await herald(
      ['run', '--topic', 'CLI end to end', '--format', 'thread', '--brief', 'One. Two. Three.', '--platform', 'x', '--platform', 'bluesky', '--dry-run'],
      { HERALD_API_URL: h.baseUrl, HERALD_API_KEY: h.keys.a },
    );
    expect(out).toMatch(/pipeline pl_/);
    expect(out).toMatch(/published/);
    expect(out).toMatch(/── x ──/);
    expect(out).toMatch(/── bluesky ──/);
    expect(out).toMatch(/previewed\s+x/);
    expect(code).toBe(0);
  });

  it('run explains a request the API refused and exits 1', async () => {
    const { code, out } = await herald(['run', '--topic', 'Late', '--platform', 'x', '--dry-run', '--publish-at', '2020-01-01T09:00:00Z'], { HERALD_API_URL: h.baseUrl, HERALD_API_KEY: h.keys.a });
    expect(code).toBe(1);
    expect(out).toMatch(/400 validation_failed/);
    expect(out).toMatch(/publishAt: publishAt is in the past/);
  });

  it('run refuses a platform Herald does not know before sending anything (usage: exit 2)', async () => {
    const { code, out } = await herald(['run', '--topic', 'Bad', '--platform', 'myspace', '--dry-run'], { HERALD_API_URL: h.baseUrl, HERALD_API_KEY: h.keys.a });
    expect(code).toBe(2);
    expect(out).toMatch(/--platform <platform>' argument 'myspace' is invalid/);
  });

  it('keys create makes a working key that is stored only as a hash', async () => {
    const { code, out } = await herald(['keys', 'create', 'cli-tenant'], { DATABASE_URL: testDatabaseUrl() });
    expect(code).toBe(0);
    const key = out.trim().split('\n').pop()!.trim();
    expect(key).toMatch(/^hk_/);
    const res = await h.api('GET', '/v1/pipelines', undefined, { key });
    expect(res.status).toBe(200);
    const { rows } = await h.pool.query("SELECT key_hash FROM api_keys WHERE tenant_id = 'cli-tenant'");
    expect(rows).toHaveLength(1);
    expect(rows[0].key_hash).not.toContain(key);
    const dump = await h.pool.query('SELECT * FROM api_keys');
    expect(JSON.stringify(dump.rows)).not.toContain(key);
  });

  it('accounts add and list go through the API and never print the secret', async () => {
    const env = { HERALD_API_URL: h.baseUrl, HERALD_API_KEY: h.keys.b };
    const add = await herald(['accounts', 'add', '--platform', 'slack', '--handle', '#news', '--credential', 'url=https://hooks.example.test/secret-cli'], env);
    expect(add.code).toBe(0);
    expect(add.out).toMatch(/connected slack account #news: acc_/);
    const list = await herald(['accounts', 'list'], env);
    expect(list.out).toMatch(/slack\s+#news/);
    expect(add.out + list.out).not.toContain('secret-cli');
  });
});

describe('feedback', () => {
  it('records scores and reports count, average and approval rate by text provider', async () => {
    const res = await h.api('POST', '/v1/pipelines', dryRunRequest(), { key: h.keys.b });
    await h.waitFor(res.body.id, (s) => s.status === 'published', { key: h.keys.b });
    const one = await h.api('POST', `/v1/pipelines/${res.body.id}/feedback`, { score: 8, approved: true, comment: 'good' }, { key: h.keys.b });
    expect(one.status).toBe(201);
    await h.api('POST', `/v1/pipelines/${res.body.id}/feedback`, { score: 4, approved: false }, { key: h.keys.b });
    const bad = await h.api('POST', `/v1/pipelines/${res.body.id}/feedback`, { score: 11 }, { key: h.keys.b });
    expect(bad.status).toBe(400);
    const stats = await h.api('GET', '/v1/feedback/stats', undefined, { key: h.keys.b });
    expect(stats.body).toEqual({
      count: 2,
      averageScore: 6,
      approvalRate: 0.5,
      byProvider: [{ provider: 'offline', count: 2, averageScore: 6, approvalRate: 0.5 }],
    });
    // Tenant A sees none of tenant B's feedback, and cannot score B's pipeline.
    expect((await h.api('GET', '/v1/feedback/stats')).body.count).toBe(0);
    expect((await h.api('POST', `/v1/pipelines/${res.body.id}/feedback`, { score: 1 })).status).toBe(404);
  });
});
