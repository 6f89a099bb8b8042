// Part "workers" of `npm run bench -- scale`: throughput of two worker processes against one on work that activity
// slots bound, not this machine's 2 cores.
//
// Every pipeline is a real (not dry-run) thread to X, Mastodon, Bluesky and LinkedIn through the imitation platform
// servers of test/fakes over real HTTP (X_API_BASE_URL, LINKEDIN_*_BASE_URL, BLUESKY_SERVICE_URL, the Mastodon
// account's instanceUrl; connected accounts posted to /v1/accounts), each answering `platformMs` (300) after a
// request, and its text comes from the imitation OpenAI provider answering after `aiMs` (300). The imitation X reports
// a 100-posts-a-day user cap, which Herald honours; a pass-through in front of it reports 1,000,000 instead (a higher
// tier), or the second run would wait a day. No image (`image.mode:
// none`): title cards are CPU, not slot time. A pipeline then holds an activity slot for 10 slow calls (1 text call;
// thread parts: X 3, Mastodon 2, Bluesky 3, LinkedIn 1 post), about 3 s, against well under a second of CPU.
// Each worker has WORKER_MAX_ACTIVITIES = `slots`. The runs (two workers, one worker) go side by side by default, each
// on its own stack (database, Redis, task queue) against the same Temporal dev server, starting to submit at the same
// moment after each one's warm-up pipeline, two workers with `n` pipelines and one with n / 2, so that load from
// outside (this machine is shared) falls on both alike; `sequential` runs them one after the other with n each.
// Pipelines are submitted by 20 closed-loop clients; throughput is published pipelines a minute over first submit ->
// last published.
//
// Shared limits stay on: RATE_LIMIT_<provider> = 1000000/1d for the four platforms and OpenAI (generous, a daily window
// so the Redis log keeps every grant of the run), one Redis for both workers. The output shows the grants in Redis per
// limiter key beside each worker's own provider calls (herald_provider_calls_total from its /metrics), and counts at
// the imitation servers that every thread part was stored exactly once (by Mastodon's Idempotency-Key, Bluesky's
// record key, and for X and LinkedIn, which have no key, by the run's item tag and the "k/N" part number in the text).
//
// What bounds a run is measured, not assumed: each worker's /metrics (WORKER_METRICS_PORT) is read every second for
// its activity and workflow-task slots in use, and before/after for the SDK's histograms (activity execution and
// schedule-to-start by activity type, workflow task execution and schedule-to-start); CPU seconds of the workers, the
// Temporal dev server, this process (API and imitation servers), Redis and the run's PostgreSQL backends are read from
// /proc, and the machine's busy share from /proc/stat. `wftSlots` adds one more one-worker run with
// WORKER_MAX_WORKFLOW_TASKS set, to see whether workflow-task slots matter.
import fs from 'node:fs';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { startBlueskyFake, type BlueskyFake } from '../../test/fakes/bluesky-server';
import { littleTextToPlain, startLinkedInFake, type LinkedInFake } from '../../test/fakes/linkedin-server';
import { startMastodonFake, type MastodonFake } from '../../test/fakes/mastodon-server';
import { startOpenAIFake } from '../../test/fakes/openai-server';
import type { SocialFakeBase, SocialPost, SocialRequest } from '../../test/fakes/social-fake-control';
import { startXFake, type XFake } from '../../test/fakes/x-server';
import { freePort } from '../../test/helpers/ports';
import { followPipelines, load1m, startHeraldStack, timed, type HeraldStack } from '../lib/herald-stack';
import { printTable, type Cell } from '../lib/report';
import { sleep } from '../lib/stack';
import { round } from '../lib/stats';
import { say, submit, TENANT } from './common';

export interface WorkersOptions {
  n: number;
  slots: number;
  aiMs: number;
  platformMs: number;
  limitMs: number;
  /** When set: one more one-worker run with WORKER_MAX_WORKFLOW_TASKS = this. */
  wftSlots?: number;
  /** Runs one after the other, each with n pipelines, instead of side by side. */
  sequential?: boolean;
}

const PLATFORMS = ['x', 'mastodon', 'bluesky', 'linkedin'] as const;
type P = (typeof PLATFORMS)[number];
const GENEROUS = '1000000/1d';
const PUBLISH_PATH: Record<P, RegExp> = {
  x: /^\/2\/tweets$/,
  mastodon: /^\/api\/v1\/statuses$/,
  bluesky: /\/com\.atproto\.repo\.createRecord$/,
  linkedin: /^\/rest\/posts$/,
};

interface Fakes {
  x: XFake;
  mastodon: MastodonFake;
  bluesky: BlueskyFake;
  linkedin: LinkedInFake;
}

// --- /proc: CPU seconds -------------------------------------------------------------------------------------------------

const TICK = 100; // USER_HZ on Linux

function procCpuS(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK; // utime, stime
  } catch {
    return null;
  }
}

function procInfo(pid: number): { ppid: number; cmd: string } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { ppid, cmd: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ') };
  } catch {
    return null;
  }
}

/** Processes whose parent is `ppid` and whose command line matches. */
function childrenOf(ppid: number, match: RegExp): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      const i = procInfo(pid);
      return i !== null && i.ppid === ppid && match.test(i.cmd);
    });
}

/** The machine's jiffies: busy and total (all CPUs). */
function machineJiffies(): { busy: number; total: number } {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = cpu[3] + cpu[4];
  return { busy: total - idle, total };
}

// --- Prometheus text ---------------------------------------------------------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

async function scrape(port: number): Promise<Sample[]> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    return r.ok ? parseProm(await r.text()) : [];
  } catch {
    return [];
  }
}

/** Sum of a metric's values by one label (all other labels summed over). */
function sumBy(samples: Sample[], name: string, label?: string, where: (l: Record<string, string>) => boolean = () => true): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name || !where(s.labels)) continue;
    const k = label ? (s.labels[label] ?? '') : 'all';
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) out[k] = v - (before[k] ?? 0);
  return out;
}

const isActivityWorker = (l: Record<string, string>) => l.worker_type === 'ActivityWorker';
const isWorkflowWorker = (l: Record<string, string>) => l.worker_type === 'WorkflowWorker';

/** The SDK histograms (sums and counts) of all workers added up, by activity type or in total. */
function histograms(all: Sample[][]) {
  const flat = all.flat();
  return {
    actExecS: sumBy(flat, 'temporal_activity_execution_latency_sum', 'activity_type'),
    actExecN: sumBy(flat, 'temporal_activity_execution_latency_count', 'activity_type'),
    actSchedS: sumBy(flat, 'temporal_activity_schedule_to_start_latency_sum', 'activity_type'),
    actSchedN: sumBy(flat, 'temporal_activity_schedule_to_start_latency_count', 'activity_type'),
    wftExecS: sumBy(flat, 'temporal_workflow_task_execution_latency_sum'),
    wftExecN: sumBy(flat, 'temporal_workflow_task_execution_latency_count'),
    wftSchedS: sumBy(flat, 'temporal_workflow_task_schedule_to_start_latency_sum'),
    wftSchedN: sumBy(flat, 'temporal_workflow_task_schedule_to_start_latency_count'),
    wftReplayS: sumBy(flat, 'temporal_workflow_task_replay_latency_sum'),
    providerCalls: sumBy(flat, 'herald_provider_calls_total', 'provider'),
  };
}

// --- X's daily cap ------------------------------------------------------------------------------------------------------

const X_DAILY = 1_000_000;

/**
 * A pass-through in front of the imitation X that rewrites its user cap (x-user-limit-24hour-*, 100 posts a day
 * counted from the posts it holds, which Herald honours as a limit) to X_DAILY: an account of a higher tier. Every
 * other header, the body and the 300 ms wait are the imitation's own.
 */
async function liftXDailyCap(x: XFake): Promise<{ url: string; close(): Promise<void> }> {
  const agent = new Agent({ keepAlive: true });
  const server = createServer((req, res) => {
    const up = httpRequest(new URL(req.url ?? '/', x.url), { method: req.method, headers: req.headers, agent }, (r) => {
      const headers = { ...r.headers };
      if (headers['x-user-limit-24hour-limit'] !== undefined) {
        headers['x-user-limit-24hour-limit'] = String(X_DAILY);
        headers['x-user-limit-24hour-remaining'] = String(Math.max(0, X_DAILY - x.posts.length));
      }
      res.writeHead(r.statusCode ?? 502, headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

// --- accounts and requests ---------------------------------------------------------------------------------------------

async function connectAccounts(stack: HeraldStack, f: Fakes): Promise<Record<P, string>> {
  const far = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const xt = f.x.issueTokens();
  const bt = f.bluesky.issueTokens();
  const lt = f.linkedin.issueTokens();
  const bodies: Record<P, unknown> = {
    x: { platform: 'x', handle: f.x.user.username, credentials: { accessToken: xt.accessToken, refreshToken: xt.refreshToken }, settings: { userId: f.x.user.id, username: f.x.user.username }, expiresAt: far },
    mastodon: { platform: 'mastodon', handle: f.mastodon.account.acct, credentials: { accessToken: f.mastodon.issueTokens().accessToken }, settings: { instanceUrl: f.mastodon.url } },
    bluesky: { platform: 'bluesky', handle: f.bluesky.account.handle, credentials: { accessJwt: bt.accessJwt, refreshJwt: bt.refreshJwt, did: f.bluesky.account.did }, settings: { did: f.bluesky.account.did }, expiresAt: far },
    linkedin: { platform: 'linkedin', handle: f.linkedin.member.name, credentials: { accessToken: lt.accessToken, refreshToken: lt.refreshToken }, settings: { personId: f.linkedin.member.id }, expiresAt: far },
  };
  const ids = {} as Record<P, string>;
  for (const p of PLATFORMS) {
    const r = await timed(stack.baseUrl, TENANT.key, 'POST', '/v1/accounts', bodies[p]);
    if (r.status !== 201) throw new Error(`connecting ${p} answered ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`);
    ids[p] = r.json.id;
  }
  return ids;
}

const tagOf = (run: string, i: number) => `${run}-item-${String(i).padStart(4, '0')}`;

function request(run: string, i: number, accounts: Record<P, string>) {
  return {
    topic: `Scale ${tagOf(run, i)}: durable workflows vs cron jobs`,
    brief: 'Cron jobs fail silently; a durable workflow records every step and carries on after a crash.',
    format: 'thread',
    targets: PLATFORMS.map((platform) => ({ platform, accountId: accounts[platform] })),
    image: { mode: 'none' },
    cache: false,
  };
}

// --- exactly once at the servers ---------------------------------------------------------------------------------------

/** What a reader sees of a stored post (LinkedIn's little-text escapes resolved). */
const shown = (p: P, post: SocialPost) => (p === 'linkedin' ? littleTextToPlain(post.text) : post.text);

/** The request that stored a post (for its dedupe key). */
function storingRequest(fake: SocialFakeBase, postId: string): SocialRequest | undefined {
  return fake.requests.find((r) => r.stored.includes(postId));
}

/** The post a publish request answers (X, Mastodon, Bluesky), if any. */
function replyTargetOf(req: SocialRequest): string | undefined {
  const b = req.body as { reply?: { in_reply_to_tweet_id?: unknown }; in_reply_to_id?: unknown; record?: { reply?: { parent?: { uri?: unknown } } } } | undefined;
  const t = b?.reply?.in_reply_to_tweet_id ?? b?.in_reply_to_id ?? b?.record?.reply?.parent?.uri;
  return typeof t === 'string' ? t : undefined;
}

function dedupeKeyOf(p: P, req: SocialRequest | undefined): string | undefined {
  if (!req) return undefined;
  if (p === 'mastodon') {
    const h = req.headers['idempotency-key'];
    return Array.isArray(h) ? h[0] : h;
  }
  if (p === 'bluesky') {
    const b = req.body as { rkey?: unknown } | undefined;
    return typeof b?.rkey === 'string' ? b.rkey : undefined;
  }
  return undefined;
}

/**
 * Per platform: the posts of this run stored, expected (each pipeline's variant parts), parts stored more than once or
 * never, publish requests, and for Mastodon and Bluesky the stored posts per dedupe key. A thread is found from its
 * first part (the only one sure to carry the run's item tag) along the reply chain: a part posted twice hangs twice
 * off the same parent, a thread posted twice has two first parts with the same tag.
 */
async function exactlyOnce(stack: HeraldStack, f: Fakes, run: string, ids: string[], since: number) {
  const tagRe = new RegExp(`(${run}-item-\\d{4})`);
  const expected: Record<P, Map<string, number>> = { x: new Map(), mastodon: new Map(), bluesky: new Map(), linkedin: new Map() };
  for (const id of ids) {
    const r = await timed(stack.baseUrl, TENANT.key, 'GET', `/v1/pipelines/${id}`);
    if (r.status !== 200) continue;
    const tag = tagRe.exec(r.json.request?.topic ?? '')?.[1];
    if (!tag) continue;
    for (const v of r.json.variants ?? []) if ((PLATFORMS as readonly string[]).includes(v.platform)) expected[v.platform as P].set(tag, v.parts.length);
  }
  const out = {} as Record<P, { stored: number; expected: number; doubled: number; missing: number; publishRequests: number; dedupeKeys?: number; keysStoredTwice?: number }>;
  let problems = 0;
  for (const p of PLATFORMS) {
    const fake = f[p];
    const children = new Map<string, SocialPost[]>();
    for (const post of fake.posts) if (post.replyTo) children.set(post.replyTo, [...(children.get(post.replyTo) ?? []), post]);
    const roots = new Map<string, SocialPost[]>();
    for (const post of fake.posts) {
      const tag = post.replyTo === null ? tagRe.exec(shown(p, post))?.[1] : undefined;
      if (tag) roots.set(tag, [...(roots.get(tag) ?? []), post]);
    }
    const mine: SocialPost[] = [];
    let doubled = 0;
    let missing = 0;
    let want = 0;
    for (const [tag, parts] of expected[p]) {
      want += parts;
      const rs = roots.get(tag) ?? [];
      doubled += Math.max(0, rs.length - 1);
      let length = 0;
      // Walk every post of the thread(s) breadth-first: extra children are doubles.
      const queue = [...rs];
      while (queue.length) {
        const post = queue.shift()!;
        mine.push(post);
        length++;
        const next = children.get(post.id) ?? [];
        doubled += Math.max(0, next.length - 1);
        queue.push(...next);
      }
      missing += Math.max(0, parts - length);
    }
    // This run's publish requests since its first submit: those that stored one of its posts, answer one (a reply
    // part) or carry its item tag (a first part or LinkedIn's one post), stored or not. More requests than posts: retries.
    const mineIds = new Set(mine.map((m) => m.id));
    const tagged = new RegExp(`${run}-item-\\d{4}`);
    const requests = fake.requests.filter(
      (r) =>
        r.method === 'POST' &&
        PUBLISH_PATH[p].test(r.path) &&
        r.at >= since &&
        (r.stored.some((id) => mineIds.has(id)) || mineIds.has(replyTargetOf(r) ?? '') || tagged.test(r.raw.toString('utf8'))),
    ).length;
    const row: (typeof out)[P] = { stored: mine.length, expected: want, doubled, missing, publishRequests: requests };
    if (p === 'mastodon' || p === 'bluesky') {
      const perKey = new Map<string, number>();
      for (const post of mine) {
        const key = dedupeKeyOf(p, storingRequest(fake, post.id)) ?? '(none)';
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
      }
      row.dedupeKeys = [...perKey.keys()].filter((k) => k !== '(none)').length;
      row.keysStoredTwice = [...perKey.entries()].filter(([k, c]) => k === '(none)' || c > 1).length;
      problems += row.keysStoredTwice;
    }
    problems += doubled + missing + (mine.length !== want ? 1 : 0);
    out[p] = row;
  }
  return { perPlatform: out, problems };
}

/** Grants in the Redis rate-limit logs per limiter key (ZCARD of …rl:{key}:req), for the run's stack. */
async function limiterGrants(stack: HeraldStack): Promise<Record<string, number>> {
  const redis = stack.api.redis;
  const out: Record<string, number> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', '*rl:{*}:req', 'COUNT', 1000);
    cursor = next;
    for (const k of keys) out[/rl:\{([^}]+)\}/.exec(k)?.[1] ?? k] = await redis.zcard(k);
  } while (cursor !== '0');
  return out;
}

// --- one run -----------------------------------------------------------------------------------------------------------

interface RunSpec {
  label: string;
  workers: number;
  /** Pipelines this run gets. */
  n: number;
  wftSlots?: number;
}

/** Lets runs side by side start submitting at the same moment (after each one's warm-up); fail() releases them all. */
function barrier(parties: number) {
  let arrived = 0;
  let release!: () => void;
  let fail!: (err: unknown) => void;
  const all = new Promise<void>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  all.catch(() => undefined);
  return {
    arrive: () => {
      if (++arrived >= parties) release();
      return all;
    },
    fail,
  };
}
type Barrier = ReturnType<typeof barrier>;

async function oneRun(spec: RunSpec, o: WorkersOptions, f: Fakes, aiUrl: string, xUrl: string, gate: Barrier) {
  try {
    return await measureRun(spec, o, f, aiUrl, xUrl, gate);
  } catch (err) {
    gate.fail(err);
    throw err;
  }
}

async function measureRun(spec: RunSpec, o: WorkersOptions, f: Fakes, aiUrl: string, xUrl: string, gate: Barrier) {
  const ports = await Promise.all(Array.from({ length: spec.workers }, () => freePort()));
  const extraEnv: Record<string, string> = {
    HOST: '127.0.0.1',
    WORKER_MAX_ACTIVITIES: String(o.slots),
    ...(spec.wftSlots ? { WORKER_MAX_WORKFLOW_TASKS: String(spec.wftSlots) } : {}),
    TEXT_PROVIDERS: 'openai',
    OPENAI_API_KEY: 'scale',
    OPENAI_BASE_URL: aiUrl,
    X_API_BASE_URL: xUrl,
    X_CLIENT_ID: f.x.clientId,
    LINKEDIN_API_BASE_URL: f.linkedin.url,
    LINKEDIN_OAUTH_BASE_URL: f.linkedin.url,
    LINKEDIN_CLIENT_ID: f.linkedin.clientId,
    LINKEDIN_CLIENT_SECRET: f.linkedin.clientSecret,
    BLUESKY_SERVICE_URL: f.bluesky.url,
    RATE_LIMIT_OPENAI: GENEROUS,
    RATE_LIMIT_OPENAI_TOKENS: '1000000000/1d',
    RATE_LIMIT_X: GENEROUS,
    RATE_LIMIT_MASTODON: GENEROUS,
    RATE_LIMIT_BLUESKY: GENEROUS,
    RATE_LIMIT_LINKEDIN: GENEROUS,
  };
  const stack = await startHeraldStack({
    name: `scale_workers_${spec.label.replace(/\W/g, '_')}`,
    tenants: [TENANT],
    workers: spec.workers,
    extraEnv,
    workerEnv: (i) => ({ WORKER_METRICS_PORT: String(ports[i]) }),
    overallMs: 3 * o.limitMs + 900_000,
    say,
  });
  try {
    const accounts = await connectAccounts(stack, f);
    // Warm-up: one pipeline end to end (bundles, connections, the sticky caches).
    const warm = await submit(stack, [request(`${spec.label}w`, 0, accounts)]);
    const warmSeen = await followPipelines(stack.baseUrl, TENANT.key, warm, Date.now() + 180_000, 250);
    if ([...warmSeen.values()][0]?.status !== 'published') throw new Error(`the warm-up pipeline ended ${[...warmSeen.values()][0]?.status ?? 'unseen'}: ${stack.workerOutput.flatMap((w) => w.lines).join(' | ')}`);
    await gate.arrive();

    const pids = stack.workers.map((w) => w.pid!);
    const temporalPid = childrenOf(process.ppid, /temporal.*server start-dev/).find((pid) => procInfo(pid)!.cmd.includes(`--port ${new URL(`http://${process.env.TEMPORAL_ADDRESS}`).port}`));
    const redisPid = childrenOf(process.pid, new RegExp(`redis-server .*:${new URL(stack.redisUrl).port}\\b`))[0];
    const dbName = new URL(stack.dbUrl).pathname.slice(1);
    const pgPids = async () => (await stack.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [dbName])).rows.map((r) => r.pid);
    const pg0 = new Map((await pgPids()).map((pid) => [pid, procCpuS(pid) ?? 0]));
    const cpu0 = { workers: pids.map(procCpuS), temporal: procCpuS(temporalPid), redis: procCpuS(redisPid), bench: process.cpuUsage() };
    const m0 = machineJiffies();
    const h0 = histograms(await Promise.all(ports.map(scrape)));

    // Sampling: slots in use per worker, every second.
    const occupancy = { act: [] as number[], wft: [] as number[], actFull: 0, samples: 0, loads: [] as number[] };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const all = await Promise.all(ports.map(scrape));
        let act = 0;
        let wft = 0;
        let full = 0;
        for (const s of all) {
          const a = sumBy(s, 'temporal_worker_task_slots_used', undefined, isActivityWorker).all ?? 0;
          act += a;
          wft += sumBy(s, 'temporal_worker_task_slots_used', undefined, isWorkflowWorker).all ?? 0;
          if (a >= o.slots) full++;
        }
        occupancy.act.push(act);
        occupancy.wft.push(wft);
        occupancy.actFull += full;
        occupancy.samples += all.length;
        occupancy.loads.push(os.loadavg()[0]);
        await sleep(1000);
      }
    })();

    const start = Date.now();
    const ids = await submit(stack, Array.from({ length: spec.n }, (_, i) => request(spec.label, i, accounts)));
    let lastSay = 0;
    const seen = await followPipelines(stack.baseUrl, TENANT.key, ids, start + o.limitMs, 500, (done, total) => {
      if (Date.now() - lastSay > 15_000) {
        lastSay = Date.now();
        say(`${spec.label}: ${done}/${total} final, load ${load1m()}`);
      }
    });
    sampling = false;
    await sampler;
    const h1 = histograms(await Promise.all(ports.map(scrape)));
    const m1 = machineJiffies();
    const bench = process.cpuUsage(cpu0.bench);
    const pg1 = await pgPids();
    const pgCpu = pg1.reduce((s, pid) => s + Math.max(0, (procCpuS(pid) ?? 0) - (pg0.get(pid) ?? 0)), 0);
    const cpu = {
      workers: round(pids.reduce((s, pid, i) => s + ((procCpuS(pid) ?? 0) - (cpu0.workers[i] ?? 0)), 0), 1),
      temporal: temporalPid ? round((procCpuS(temporalPid) ?? 0) - (cpu0.temporal ?? 0), 1) : null,
      benchProcess: round((bench.user + bench.system) / 1e6, 1),
      redis: redisPid ? round((procCpuS(redisPid) ?? 0) - (cpu0.redis ?? 0), 1) : null,
      postgresBackends: round(pgCpu, 1),
    };

    const published = [...seen.values()].filter((s) => s.status === 'published');
    const spanMs = Math.max(...published.map((s) => Date.parse(s.updatedAt))) - start;
    const spanS = spanMs / 1000;
    const once = await exactlyOnce(stack, f, spec.label, ids, start);
    const grants = await limiterGrants(stack);
    const perWorkerCalls = await Promise.all(ports.map(async (port) => sumBy(await scrape(port), 'herald_provider_calls_total', 'provider')));

    const execS = diff(h1.actExecS, h0.actExecS);
    const execN = diff(h1.actExecN, h0.actExecN);
    const schedS = diff(h1.actSchedS, h0.actSchedS);
    const schedN = diff(h1.actSchedN, h0.actSchedN);
    const execTotal = Object.values(execS).reduce((a, b) => a + b, 0);
    const schedTotal = Object.values(schedS).reduce((a, b) => a + b, 0);
    const schedCount = Object.values(schedN).reduce((a, b) => a + b, 0);
    const wftN = (h1.wftExecN.all ?? 0) - (h0.wftExecN.all ?? 0);
    const capacity = spec.workers * o.slots * spanS;
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
    const n = published.length || 1;
    return {
      label: spec.label,
      workers: spec.workers,
      slotsPerWorker: o.slots,
      workflowTaskSlots: spec.wftSlots ?? 'SDK default',
      n: spec.n,
      published: published.length,
      spanS: round(spanS, 1),
      perMinute: round((published.length / spanMs) * 60_000, 1),
      load1m: { mean: round(mean(occupancy.loads), 2), end: load1m() },
      machineBusyPct: round((100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total), 1),
      activitySlots: {
        meanInUse: round(mean(occupancy.act), 2),
        of: spec.workers * o.slots,
        /** Share of (worker, second) samples with every slot of that worker taken. */
        fullPct: round((100 * occupancy.actFull) / Math.max(1, occupancy.samples), 1),
        /** Activity execution time / (slots x span): the part of slot time spent inside activities. */
        executingPct: round((100 * execTotal) / Math.max(1, capacity), 1),
        execSPerPipeline: round(execTotal / n, 2),
        meanScheduleToStartMs: round((1000 * schedTotal) / Math.max(1, schedCount), 0),
        byType: Object.fromEntries(
          Object.keys(execS)
            .filter((t) => execN[t] > 0)
            .sort((a, b) => execS[b] - execS[a])
            .map((t) => [t, { count: execN[t], meanMs: round((1000 * execS[t]) / execN[t], 0), perPipelineS: round(execS[t] / n, 3) }]),
        ),
      },
      workflowTasks: {
        meanSlotsInUse: round(mean(occupancy.wft), 2),
        perPipeline: round(wftN / n, 1),
        meanExecMs: round((1000 * ((h1.wftExecS.all ?? 0) - (h0.wftExecS.all ?? 0))) / Math.max(1, wftN), 1),
        meanScheduleToStartMs: round((1000 * ((h1.wftSchedS.all ?? 0) - (h0.wftSchedS.all ?? 0))) / Math.max(1, (h1.wftSchedN.all ?? 0) - (h0.wftSchedN.all ?? 0)), 1),
        replayS: round((h1.wftReplayS.all ?? 0) - (h0.wftReplayS.all ?? 0), 2),
      },
      cpuS: cpu,
      /** The run's worker processes only (Temporal and this process are shared by runs side by side). */
      workerCpuSPerPipeline: round(cpu.workers / n, 3),
      exactlyOnce: once.perPlatform,
      exactlyOnceProblems: once.problems,
      limiter: { grantsInRedis: grants, providerCallsPerWorker: perWorkerCalls.map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v > 0))) },
    };
  } finally {
    await stack.stop();
  }
}

export async function workersPart(o: WorkersOptions) {
  const ai = await startOpenAIFake({ apiKey: 'scale' });
  ai.control.delayMs(o.aiMs);
  const [x, mastodon, bluesky, linkedin] = await Promise.all([startXFake(), startMastodonFake(), startBlueskyFake(), startLinkedInFake()]);
  const f: Fakes = { x, mastodon, bluesky, linkedin };
  for (const fake of Object.values(f)) {
    fake.slow(o.platformMs);
    // Every post is stored as sent, so a double would show in the counts (X and LinkedIn would otherwise refuse an
    // identical text themselves).
    fake.detectDuplicates(false);
  }
  const xFront = await liftXDailyCap(x);
  // Side by side (the default), every run gets pipelines in proportion to its workers (two: n, one: n / 2), so they
  // end about together and the machine's load from outside falls on all of them alike.
  const nFor = (workers: number) => (o.sequential ? o.n : Math.max(1, Math.round((o.n * workers) / 2)));
  const specs: RunSpec[] = [
    { label: 'two', workers: 2, n: nFor(2) },
    { label: 'one', workers: 1, n: nFor(1) },
    ...(o.wftSlots ? [{ label: `one-wft${o.wftSlots}`, workers: 1, n: nFor(1), wftSlots: o.wftSlots }] : []),
  ];
  const runs: Awaited<ReturnType<typeof oneRun>>[] = [];
  const report = (r: (typeof runs)[number]) =>
    say(`${r.label}: ${r.published}/${r.n} published in ${r.spanS} s = ${r.perMinute}/min; slots ${r.activitySlots.meanInUse}/${r.activitySlots.of} in use; machine ${r.machineBusyPct}% busy; load ${r.load1m.mean}`);
  try {
    if (o.sequential) {
      for (const spec of specs) {
        runs.push(await oneRun(spec, o, f, ai.url, xFront.url, barrier(1)));
        report(runs[runs.length - 1]);
      }
    } else {
      const gate = barrier(specs.length);
      const settled = await Promise.allSettled(specs.map((spec) => oneRun(spec, o, f, ai.url, xFront.url, gate)));
      for (const r of settled) if (r.status === 'rejected') throw r.reason;
      for (const r of settled) if (r.status === 'fulfilled') runs.push(r.value);
      runs.forEach(report);
    }
  } finally {
    await Promise.all([xFront.close(), ai.close(), ...Object.values(f).map((fake) => fake.close())]);
  }
  const [twoRun, oneRunResult] = runs;
  const ratio = twoRun.perMinute / oneRunResult.perMinute;
  // Temporal and this process (API, imitation servers) serve every run side by side: counted once then.
  const shared = runs.slice(0, o.sequential ? runs.length : 1).reduce((s, r) => s + (r.cpuS.temporal ?? 0) + r.cpuS.benchProcess, 0);
  const own = runs.reduce((s, r) => s + r.cpuS.workers + (r.cpuS.redis ?? 0) + r.cpuS.postgresBackends, 0);
  return {
    config: {
      mode: o.sequential ? 'sequential: two workers, then one, each alone' : 'side by side: all runs at the same time, pipelines in proportion to workers',
      n: o.n,
      slotsPerWorker: o.slots,
      aiAnswerMs: o.aiMs,
      platformAnswerMs: o.platformMs,
      rateLimits: `${GENEROUS} for openai, x, mastodon, bluesky, linkedin, in one Redis shared by the workers`,
      request: 'thread to X, Mastodon, Bluesky and LinkedIn (published through the imitation servers), text from the imitation OpenAI provider, image mode none',
      machine: { cpus: os.cpus().length },
    },
    runs,
    twoOverOne: round(ratio, 3),
    /** Every process the runs used (workers, Temporal, API and imitation servers, Redis, PostgreSQL backends). */
    cpuSPerPipelineAll: round((shared + own) / Math.max(1, runs.reduce((s, r) => s + r.published, 0)), 3),
    target: '>= 1.8',
    aiCalls: ai.requests.length,
    failures: runs.reduce((s, r) => s + (r.n - r.published) + r.exactlyOnceProblems, 0),
  };
}

/** Prints the part's tables; returns its verdict rows. */
export function workersTables(r: Awaited<ReturnType<typeof workersPart>>): Cell[][] {
  printTable(
    `scale workers (${r.config.mode}): thread pipelines to 4 imitation platforms, ${r.config.slotsPerWorker} activity slots per worker, platforms and AI answering in ${r.config.platformAnswerMs} / ${r.config.aiAnswerMs} ms`,
    ['run', 'workers', 'WFT slots', 'published', 'span s', 'per min', 'act slots in use', 'worker-s all full %', 'executing %', 'act sched->start ms', 'WFT sched->start ms', 'worker CPU s / pipeline', 'machine busy %', 'load 1m'],
    r.runs.map((x) => [
      x.label,
      x.workers,
      String(x.workflowTaskSlots),
      x.published,
      x.spanS,
      x.perMinute,
      `${x.activitySlots.meanInUse} / ${x.activitySlots.of}`,
      x.activitySlots.fullPct,
      x.activitySlots.executingPct,
      x.activitySlots.meanScheduleToStartMs,
      x.workflowTasks.meanScheduleToStartMs,
      x.workerCpuSPerPipeline,
      x.machineBusyPct,
      x.load1m.mean,
    ]),
  );
  printTable(
    'scale workers: activity slot time per pipeline by activity type (s) and CPU seconds per run',
    ['run', ...Object.keys(r.runs[0].activitySlots.byType).slice(0, 8), 'workers CPU s', 'Temporal CPU s', 'bench (API, fakes) CPU s', 'Redis CPU s', 'PG backends CPU s'],
    r.runs.map((x) => [
      x.label,
      ...Object.keys(r.runs[0].activitySlots.byType)
        .slice(0, 8)
        .map((t) => (x.activitySlots.byType as Record<string, { perPipelineS: number }>)[t]?.perPipelineS ?? '-'),
      x.cpuS.workers,
      x.cpuS.temporal ?? '-',
      x.cpuS.benchProcess,
      x.cpuS.redis ?? '-',
      x.cpuS.postgresBackends,
    ]),
  );
  printTable(
    'scale workers: each thread part at the imitation servers (stored / expected, doubled, missing) and limiter grants in Redis',
    ['run', ...PLATFORMS.map((p) => `${p} stored/expected dbl miss`), 'limiter grants in Redis', 'provider calls per worker'],
    r.runs.map((x) => [
      x.label,
      ...PLATFORMS.map((p) => `${x.exactlyOnce[p].stored}/${x.exactlyOnce[p].expected} ${x.exactlyOnce[p].doubled} ${x.exactlyOnce[p].missing}`),
      Object.entries(x.limiter.grantsInRedis)
        .map(([k, v]) => `${k.split(':')[0]} ${v}`)
        .join(', '),
      x.limiter.providerCallsPerWorker.map((c) => Object.values(c).reduce((a, b) => a + b, 0)).join(' + '),
    ]),
  );
  const [two, one] = r.runs;
  const rows: Cell[][] = [
    ['throughput two / one', `${round(r.twoOverOne, 2)} (target >= 1.8): ${two.perMinute} / ${one.perMinute} a minute`],
    ['thread parts stored not exactly once (all runs)', r.runs.reduce((s, x) => s + x.exactlyOnceProblems, 0)],
    ['CPU s per pipeline, every process (workers, Temporal, API and imitation servers, Redis, PostgreSQL)', r.cpuSPerPipelineAll],
  ];
  for (const x of r.runs.slice(2)) rows.push([`${x.label} / one (WORKER_MAX_WORKFLOW_TASKS=${x.workflowTaskSlots})`, round(x.perMinute / one.perMinute, 2)]);
  return rows;
}
