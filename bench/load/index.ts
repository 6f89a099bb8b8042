// `npm run bench -- load [clients] [seconds] [--baseline <git ref>]`: `npm start` with its embedded PostgreSQL (no DATABASE_URL) under N
// concurrent HTTP clients (default 50) for S seconds (default 60). Each client submits a dry-run pipeline (x and
// mastodon), then reads it and the first page of the list every 100 ms until it is published, and submits the next.
// Afterwards every pipeline must reach `published`. Prints a table and writes bench/results/load.json.
// The Temporal dev server is the one `npm run bench` starts (TEMPORAL_ADDRESS), so only Herald is measured.
// --baseline <ref> first measures that commit the same way (extracted with `git archive` to a temporary directory,
// sharing this node_modules), for a side-by-side row: b88d0c8 is the last commit with PGlite behind pglite-socket.
import { execSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { processesMentioning, PROTOCOL_ERROR, spawnNpmStart, stopNpmStart, waitReady } from '../../test/helpers/npm-start-process';
import { freePort } from '../../test/helpers/ports';

const args = process.argv.slice(2);
const baselineAt = args.indexOf('--baseline');
const BASELINE = baselineAt >= 0 ? args.splice(baselineAt, 2)[1] : null;
const CLIENTS = Number(args[0] ?? 50);
const SECONDS = Number(args[1] ?? 60);
const KEY = 'bench-load-key';

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0);

async function measure(label: string, root: string | undefined, temporalAddress: string) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'herald-bench-load-'));
  const port = await freePort();
  const t0 = Date.now();
  const herald = spawnNpmStart({ dataDir, port, apiKeys: `bench:${KEY}`, taskQueue: `herald-bench-load-${process.pid}-${label.replace(/\W+/g, '-')}`, temporalAddress, root });
  try {
    await waitReady(herald, 180_000);
    const startMs = Date.now() - t0;
    const api = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${port}${route}`, {
        method,
        headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, text };
    };

    const latencies: Record<string, number[]> = { post: [], get: [], list: [] };
    const statuses = new Map<number, number>();
    const errors: string[] = [];
    const created: string[] = [];
    let networkErrors = 0;
    const timed = async (kind: string, method: string, route: string, body?: unknown) => {
      const t = performance.now();
      try {
        const r = await api(method, route, body);
        latencies[kind].push(performance.now() - t);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status >= 500 && errors.length < 5) errors.push(`${method} ${route} -> ${r.status} ${r.text.slice(0, 200)}`);
        return r;
      } catch (err) {
        networkErrors++;
        if (errors.length < 5) errors.push(`${method} ${route} -> ${(err as Error).message}`);
        return null;
      }
    };
    const until = Date.now() + SECONDS * 1000;
    let n = 0;
    const load0 = loadavg()[0];
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        while (Date.now() < until) {
          const r = await timed('post', 'POST', '/v1/pipelines', {
            topic: `Bench ${c}-${n++}: why durable workflows beat cron jobs`,
            targets: [{ platform: 'x' }, { platform: 'mastodon' }],
            dryRun: true,
          });
          if (r?.status !== 202) continue;
          const id = JSON.parse(r.text).id as string;
          created.push(id);
          // Read it and the list every 100 ms until it is published, as a user's script would; then the next one.
          while (Date.now() < until) {
            const got = await timed('get', 'GET', `/v1/pipelines/${id}`);
            await timed('list', 'GET', '/v1/pipelines?limit=20');
            if (got?.status === 200 && JSON.parse(got.text).status === 'published') break;
            await new Promise((res) => setTimeout(res, 100));
          }
        }
      }),
    );
    const loadMs = Date.now() - (until - SECONDS * 1000);

    // Drain: every pipeline must reach published.
    const drain0 = Date.now();
    const pending = new Set(created);
    const last = new Map<string, string>();
    while (pending.size && Date.now() - drain0 < 300_000) {
      for (const id of [...pending]) {
        const r = await api('GET', `/v1/pipelines/${id}`).catch(() => null);
        const status = r && r.status === 200 ? (JSON.parse(r.text).status as string) : `http ${r?.status ?? 'error'}`;
        last.set(id, status);
        if (status === 'published') pending.delete(id);
      }
      if (pending.size) await new Promise((r) => setTimeout(r, 1000));
    }
    const drainMs = Date.now() - drain0;
    const stopped = await stopNpmStart(herald, 30_000);
    const leftover = processesMentioning(path.join(dataDir, 'postgres'));
    const protocolErrors = herald.output().split('\n').filter((l) => PROTOCOL_ERROR.test(l));

    const all = Object.values(latencies).flat().sort((a, b) => a - b);
    const requests = all.length + networkErrors;
    const fiveXX = [...statuses].filter(([s]) => s >= 500).reduce((a, [, k]) => a + k, 0);
    const row = (name: string, xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return { name, requests: s.length, p50: Math.round(pct(s, 50)), p95: Math.round(pct(s, 95)), p99: Math.round(pct(s, 99)) };
    };
    const rows = [row('POST /v1/pipelines', latencies.post), row('GET /v1/pipelines/:id', latencies.get), row('GET /v1/pipelines', latencies.list), row('all', all)];
    const published = created.length - pending.size;
    await writeFile(path.resolve(__dirname, '..', 'results', `load-${label.replace(/\W+/g, '-')}.log`), herald.output()).catch(() => undefined);
    return {
      label,
      clients: CLIENTS,
      seconds: SECONDS,
      machine: { cpus: cpus().length, loadavg1mAtStart: Number(load0.toFixed(2)) },
      startMs,
      loadMs,
      requests,
      requestsPerSecond: Number((requests / (loadMs / 1000)).toFixed(1)),
      statuses: Object.fromEntries(statuses),
      fiveXX,
      networkErrors,
      latencyMs: rows,
      pipelines: { created: created.length, published, notPublished: Object.fromEntries([...pending].map((id) => [id, last.get(id)])) },
      drainMs,
      protocolErrors: protocolErrors.slice(0, 5),
      protocolErrorLines: protocolErrors.length,
      stop: { code: stopped.code, ms: stopped.ms, killedAfter30s: stopped.killed, postgresLeftRunning: leftover.length },
      sampleErrors: errors,
    };
  } finally {
    if (herald.child.exitCode === null) await stopNpmStart(herald);
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress) throw new Error('run with `npm run bench -- load` (it starts a Temporal dev server)');
  await mkdir(path.resolve(__dirname, '..', 'results'), { recursive: true });
  const results = [];
  if (BASELINE) {
    const dir = await mkdtemp(path.join(tmpdir(), 'herald-baseline-'));
    try {
      execSync(`git archive ${BASELINE} | tar -x -C ${dir}`, { cwd: path.resolve(__dirname, '../..'), stdio: 'inherit' });
      await symlink(path.resolve(__dirname, '../../node_modules'), path.join(dir, 'node_modules'));
      results.push(await measure(`baseline ${BASELINE}`, dir, temporalAddress));
    } finally {
      await unlink(path.join(dir, 'node_modules')).catch(() => undefined); // the link only, never what it points to
      await rm(dir, { recursive: true, force: true });
    }
  }
  results.push(await measure('this tree (embedded PostgreSQL)', undefined, temporalAddress));

  console.log(`\nnpm start with embedded defaults, ${CLIENTS} clients for ${SECONDS} s each, ${cpus().length} CPUs (load average at start: ${results.map((r) => r.machine.loadavg1mAtStart).join(', ')})\n`);
  console.log('| run | route | requests | p50 ms | p95 ms | p99 ms |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of results) for (const l of r.latencyMs) console.log(`| ${r.label} | ${l.name} | ${l.requests} | ${l.p50} | ${l.p95} | ${l.p99} |`);
  console.log('');
  console.log('| run | requests | 5xx | network errors | pipelines created | published | drain after load | protocol errors in log | Ctrl-C exit, time | postgres left |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|---:|');
  for (const r of results) {
    console.log(
      `| ${r.label} | ${r.requests} | ${r.fiveXX} | ${r.networkErrors} | ${r.pipelines.created} | ${r.pipelines.published} | ${(r.drainMs / 1000).toFixed(1)} s | ${r.protocolErrorLines} | ${r.stop.killedAfter30s ? 'hung, killed' : r.stop.code}, ${(r.stop.ms / 1000).toFixed(1)} s | ${r.stop.postgresLeftRunning} |`,
    );
    if (r.sampleErrors.length) console.log(`\n${r.label}: sample errors:\n  ${r.sampleErrors.join('\n  ')}\n`);
  }
  const out = path.resolve(__dirname, '..', 'results', 'load.json');
  await writeFile(out, JSON.stringify(BASELINE ? { baseline: results[0], current: results[1] } : { current: results[0] }, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), out)} (each run's own output: bench/results/load-*.log)`);
  const current = results[results.length - 1];
  if (current.fiveXX || current.networkErrors || current.pipelines.published < current.pipelines.created || current.protocolErrorLines) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
