// `npm run bench -- api [--clients 50] [--seconds 60] [--phase-s 10] [--api-in-process]`: API latency under
// concurrency while the worker runs. Phases alternate until each side has had `seconds`: in a Herald phase every one of
// `clients` closed-loop clients POSTs a dry-run thread pipeline (4 platforms, title cards) and then GETs it by id, again
// and again; in a bare phase as many clients call client.workflow.start for the bare workflow
// (bench/lib/bare-workflows.ts) on its own worker and task queue, same dev server. p50/p95/p99 of each and the ratio of
// p99s (POST / bare start; target <= 1.5). Prints a table and writes bench/results/api.json.
//
// The API runs as its own process (`src/api/server.ts`, what `npm run api` runs, with its own pool and Temporal
// connection), as in production: the clients, in this process, reach it over HTTP on loopback with keep-alive
// connections (node:http, one socket per client), and the bare starts are made from this process, whose event loop
// then does nothing else. `--api-in-process` serves the API from this process instead, on the event loop the 50
// clients also run on (how the bench measured before): the POSTs then wait behind the clients' own work, which the
// bare starts, with no HTTP on either side, do not.
//
// Each client's first request of every phase is not in the percentiles (both sides; shown apart as "first of a
// phase"): all 50 arrive at once after 10 s in which the other side ran, when the API's PostgreSQL connections have
// been closed for idleness (pg's pool closes them after 10 s) and must be opened again, cold. That is a burst after
// a pause, not the steady load of 50 clients the target is about.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { freePort } from '../../test/helpers/ports';
import { load1m, ROOT, rssMbOf, runBench, startHeraldStack, threadRequest, timed, type HeraldStack, type Timed } from '../lib/herald-stack';
import { boundedOutput, sleep, stopChild, track } from '../lib/stack';
import { printTable, writeResults, type Cell } from '../lib/report';
import { round, roundSummary, summarize } from '../lib/stats';

const TENANT = { id: 'bench', key: 'herald-bench-api-key' };
const say = (m: string) => console.log(`[api] ${m}`);

/** The API as `npm run api` runs it, on the stack's database, task queue and Redis; resolves once /health answers. */
async function startApiProcess(stack: HeraldStack): Promise<{ child: ChildProcess; baseUrl: string; output: () => string }> {
  const port = await freePort();
  const out = boundedOutput(6);
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', 'src/api/server.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...stack.env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  child.stdout!.on('data', (c: Buffer) => out.feed(c));
  child.stderr!.on('data', (c: Buffer) => out.feed(c));
  const baseUrl = `http://127.0.0.1:${port}`;
  const output = () => out.lines.join(' | ');
  for (const readyBy = Date.now() + 120_000; ; ) {
    if (child.exitCode !== null) throw new Error(`the API process exited (code ${child.exitCode}): ${output()}`);
    const ok = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
    if (ok) return { child, baseUrl, output };
    if (Date.now() > readyBy) {
      await stopChild(child, 5_000);
      throw new Error(`the API process did not answer /health within 120 s: ${output()}`);
    }
    await sleep(250);
  }
}

/**
 * One JSON request, timed from send to the last byte, on a keep-alive agent (status 0 on a network error or timeout).
 * node:http rather than fetch: the client's own work is not Herald's, and fetch's costs several times as much CPU on
 * the machine the API shares.
 */
function request(agent: http.Agent, baseUrl: string, key: string, method: string, p: string, body?: unknown, timeoutMs = 30_000): Promise<Timed> {
  const t0 = performance.now();
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve) => {
    const done = (status: number, json: any) => resolve({ status, json, ms: performance.now() - t0 });
    const req = http.request(
      `${baseUrl}${p}`,
      {
        method,
        agent,
        timeout: timeoutMs,
        headers: { authorization: `Bearer ${key}`, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => done(0, err.message));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any = text;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON
          }
          done(res.statusCode ?? 0, json);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => done(0, err.message));
    req.end(payload);
  });
}

/** CPU seconds (user + system) a process has used so far; null when it is gone. */
function cpuSecondsOf(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    // Fields 14 and 15 (utime, stime) after the command name, in clock ticks (100 a second on Linux).
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '60' },
      'phase-s': { type: 'string', default: '10' },
      'api-in-process': { type: 'boolean', default: false },
    },
  });
  const CLIENTS = Math.max(1, Number(values.clients));
  const SECONDS = Math.max(1, Number(values.seconds));
  const PHASE_S = Math.max(1, Math.min(SECONDS, Number(values['phase-s'])));
  const IN_PROCESS = values['api-in-process'];
  const t0 = Date.now();
  const stack = await startHeraldStack({ name: 'api', tenants: [TENANT], workers: 1, overallMs: SECONDS * 2_000 + 600_000, say });
  let apiProcess: Awaited<ReturnType<typeof startApiProcess>> | null = null;
  const post: number[] = [];
  const get: number[] = [];
  const bare: number[] = [];
  const firstPost: number[] = [];
  const firstGet: number[] = [];
  const firstBare: number[] = [];
  const statuses: Record<string, number> = {};
  const errors: string[] = [];
  const phases: { kind: string; seconds: number; requests: number; load1m: number; cpuS: { bench: number; api: number | null } }[] = [];
  const count = (k: string, status: number, body: unknown) => {
    statuses[`${k} ${status}`] = (statuses[`${k} ${status}`] ?? 0) + 1;
    if ((status === 0 || status >= 500) && errors.length < 5) errors.push(`${k} ${status} ${JSON.stringify(body).slice(0, 200)}`);
  };
  let submitted = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  try {
    let call: (method: string, p: string, body?: unknown) => Promise<Timed>;
    if (IN_PROCESS) {
      call = (method, p, body) => timed(stack.baseUrl, TENANT.key, method, p, body);
      say(`API in this process (${stack.baseUrl}), on the clients' event loop; fetch`);
    } else {
      apiProcess = await startApiProcess(stack);
      const { baseUrl } = apiProcess;
      call = (method, p, body) => request(agent, baseUrl, TENANT.key, method, p, body);
      say(`API in its own process (pid ${apiProcess.child.pid}, ${baseUrl}); node:http keep-alive clients`);
    }
    const apiPid = IN_PROCESS ? process.pid : apiProcess!.child.pid;
    // Warm-up, not counted.
    await Promise.all(Array.from({ length: 5 }, (_, i) => call('POST', '/v1/pipelines', threadRequest(-1 - i))));
    const runId = randomBytes(3).toString('hex');
    let seq = 0;
    for (let spent = 0; spent < SECONDS; spent += PHASE_S) {
      const phaseS = Math.min(PHASE_S, SECONDS - spent);
      for (const kind of ['herald', 'bare'] as const) {
        const until = performance.now() + phaseS * 1000;
        const cpu0 = { bench: process.cpuUsage(), api: cpuSecondsOf(apiPid) };
        let requests = 0;
        await Promise.all(
          Array.from({ length: CLIENTS }, async () => {
            // Each client's first request of a phase opens it: all of them at once, after 10 s of the other side's
            // work. Its latency goes to `first`, not to the percentiles (see the header), on both sides alike.
            for (let first = true; performance.now() < until; first = false) {
              const i = seq++;
              requests++;
              if (kind === 'herald') {
                const p = await call('POST', '/v1/pipelines', threadRequest(i));
                count('POST', p.status, p.json);
                if (p.status !== 202) continue;
                (first ? firstPost : post).push(p.ms);
                submitted++;
                const g = await call('GET', `/v1/pipelines/${p.json.id}`);
                count('GET', g.status, g.json);
                if (g.status === 200) (first ? firstGet : get).push(g.ms);
              } else {
                const t = performance.now();
                try {
                  await stack.api.client.workflow.start('barePipeline', { taskQueue: stack.bareTaskQueue, workflowId: `bare-api-${runId}-${i}` });
                  (first ? firstBare : bare).push(performance.now() - t);
                  count('start', 200, null);
                } catch (err) {
                  count('start', 0, (err as Error).message);
                }
              }
            }
          }),
        );
        const benchUs = process.cpuUsage(cpu0.bench);
        const apiNow = cpuSecondsOf(apiPid);
        const cpuS = {
          bench: round((benchUs.user + benchUs.system) / 1e6, 1),
          api: IN_PROCESS ? null : apiNow !== null && cpu0.api !== null ? round(apiNow - cpu0.api, 1) : null,
        };
        phases.push({ kind, seconds: phaseS, requests, load1m: load1m(), cpuS });
        say(`${kind} phase of ${phaseS} s: ${requests} requests, load ${load1m()}, CPU s: bench process ${cpuS.bench}${cpuS.api === null ? '' : `, API process ${cpuS.api}`}`);
      }
    }
  } finally {
    const rss = rssMbOf(stack.workers[0].pid);
    say(`stopping (worker rss ${rss} MB${apiProcess ? `, API rss ${rssMbOf(apiProcess.child.pid)} MB` : ''}, ${submitted} pipelines submitted)`);
    agent.destroy();
    if (apiProcess) await stopChild(apiProcess.child, 15_000);
    await stack.stop();
  }
  const sPost = summarize(post);
  const sGet = summarize(get);
  const sBare = summarize(bare);
  const ratio = sPost.p99 / sBare.p99;
  const row = (label: string, s: ReturnType<typeof summarize>): Cell[] => [label, s.n, s.p50, s.p95, s.p99, s.max];
  printTable(`api bench: ${CLIENTS} concurrent clients, ${SECONDS} s per side in ${PHASE_S} s phases, worker running, API ${IN_PROCESS ? 'in the bench process' : 'in its own process'}`, ['request, ms', 'n', 'p50', 'p95', 'p99', 'max'], [
    row('POST /v1/pipelines', sPost),
    row('GET /v1/pipelines/{id}', sGet),
    row('bare client.workflow.start', sBare),
    row('first of a phase: POST', summarize(firstPost)),
    row('first of a phase: GET', summarize(firstGet)),
    row('first of a phase: bare start', summarize(firstBare)),
  ]);
  printTable('ratio', ['metric', 'value'], [['p99 POST / p99 bare start', `${round(ratio, 2)} (target <= 1.5)`], ['p99 GET / p99 bare start', round(sGet.p99 / sBare.p99, 2)]]);
  if (errors.length) console.log(`errors (first ${errors.length}):\n  ${errors.join('\n  ')}`);
  const file = writeResults('api', {
    config: {
      clients: CLIENTS,
      secondsPerSide: SECONDS,
      phaseS: PHASE_S,
      api: IN_PROCESS ? 'in the bench process, on the clients\' event loop (fetch clients)' : 'own process (src/api/server.ts), node:http keep-alive clients',
      request: 'dry-run thread, 4 platforms, title cards; GET by id after each POST',
    },
    latencyMs: { post: roundSummary(sPost, 1), get: roundSummary(sGet, 1), bareStart: roundSummary(sBare, 1) },
    firstOfPhaseMs: { post: roundSummary(summarize(firstPost), 1), get: roundSummary(summarize(firstGet), 1), bareStart: roundSummary(summarize(firstBare), 1) },
    p99Ratio: { postOverBareStart: round(ratio, 3), getOverBareStart: round(sGet.p99 / sBare.p99, 3), target: '<= 1.5' },
    statuses,
    errors,
    phases,
    totalS: round((Date.now() - t0) / 1000, 1),
  });
  say(`results: ${file}`);
  return errors.length ? 1 : 0;
}

runBench('api', main);
