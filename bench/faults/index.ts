// Benchmark: the fault matrix. Real pipelines through the real stack under one fault at a time, counting what the
// imitation platforms really received: nothing lost, nothing doubled, nothing stuck.
//
// The stack, all on 127.0.0.1, started here and stopped here (by process id, also on errors and signals):
//   - a Temporal dev server of its own with a file database (so it can be stopped and restarted mid-run);
//   - a fresh database `herald_faults_<pid>` on the shared PostgreSQL, migrated, reached by the API and the workers
//     through a TCP proxy that can refuse new connections and terminate open ones (test/helpers/tcp-proxy.ts);
//   - a private redis-server (killable);
//   - the imitation platforms from test/fakes (webhook, X, LinkedIn, Mastodon, Bluesky, Meta for Instagram, OpenAI
//     text and images) with their own duplicate refusal switched OFF, each behind an HTTP tap (tap.ts) that records
//     every call with the caller's source port and injects hung connections and accept-then-drop;
//   - the API in this process and TWO worker processes (`node --import tsx src/worker/main.ts`), restarted when killed.
//
// Scenarios (rows), each with its own batch of pipelines (mixed: posts to five platforms, threads to X, Mastodon and
// Bluesky, Instagram with OpenAI images, approvals, publishAt a little ahead, a webhook account paced at 20 a minute so
// publications wait on the rate limit):
//   kill      kill -9 of a worker while it has a call open in each stage (text, image, thread part, Instagram container
//             poll, publish) or while publications wait on the limiter; the killed worker is replaced at once
//   temporal  the Temporal server stopped (SIGTERM) and restarted on the same database file mid-run
//   postgres  PostgreSQL unavailable for 30 s (new connections refused, open ones terminated); the API is probed
//   redis     the redis-server killed (SIGKILL) for 30 s, then started again (empty)
//   5xx       every provider answers 30% of calls with its own 5xx
//   429       bursts of the providers' own 429s
//   hang      calls held open without an answer (the caller must give up)
//   drop      the platform stores the post (or makes the image) and the connection is dropped before the answer
//
//   npm run bench -- faults                         (all rows; about 11 minutes on 2 cores)
//   npm run bench -- faults --only kill,postgres    (some rows)
//   npm run bench -- faults --pipelines 12          (pipelines per row; default 24)
//   npm run bench -- faults --limit-minutes 30      (hard bound for the whole run; default 28)
//
// Columns: see BENCHMARKS.md "Fault matrix". Results: bench/results/faults.json.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { createApi } from '../../src/api/app';
import { createMetricsRegistry } from '../../src/bootstrap/resilience';
import { loadConfig } from '../../src/config';
import { runMigrations } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { createLogger } from '../../src/logger';
import { createRedisClient, createResilience, type Resilience } from '../../src/resilience';
import { startBlueskyFake, type BlueskyFake } from '../../test/fakes/bluesky-server';
import { startLinkedInFake, type LinkedInFake } from '../../test/fakes/linkedin-server';
import { startMastodonFake, type MastodonFake } from '../../test/fakes/mastodon-server';
import { startMetaGraphFake, type MetaGraphFake } from '../../test/fakes/meta-graph-server';
import { startOpenAIImagesFake, type OpenAIImagesFake } from '../../test/fakes/openai-images-server';
import { startOpenAIFake } from '../../test/fakes/openai-server';
import type { FakeAiServer } from '../../test/fakes/fake-control';
import type { SocialFakeBase } from '../../test/fakes/social-fake-control';
import { startFakeWebhookServer, type FakeWebhookServer } from '../../test/fakes/webhook-server';
import { startXFake, type XFake } from '../../test/fakes/x-server';
import { freePort } from '../../test/helpers/ports';
import { startPrivateRedis, type PrivateRedis } from '../../test/helpers/private-redis';
import { startTcpProxy, type TcpProxy } from '../../test/helpers/tcp-proxy';
import { BENCH_ROOT, markdownTable, printTable, writeResults, type Cell } from '../lib/report';
import { startTap, type Tap, type TapCall, type TapDecision } from './tap';

// --- settings --------------------------------------------------------------------------------------------------------

const ALL = ['kill', 'temporal', 'postgres', 'redis', '5xx', '429', 'hang', 'drop'] as const;
type ScenarioName = (typeof ALL)[number];

function flag(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = args[i];
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
}
function numFlag(name: string, dflt: number, min: number): number {
  const raw = flag(name);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min} (got "${raw}")`);
  return n;
}

const ONLY = (flag('only') ?? ALL.join(',')).split(',').map((s) => s.trim()).filter(Boolean) as ScenarioName[];
for (const s of ONLY) if (!(ALL as readonly string[]).includes(s)) throw new Error(`--only: unknown scenario "${s}" (${ALL.join(', ')})`);
const PIPELINES = Math.round(numFlag('pipelines', 24, 6));
const LIMIT_MS = numFlag('limit-minutes', 28, 2) * 60_000;
/** Pipelines still not terminal this long after a row's last fault ended are "stuck". */
const STUCK_AFTER_MS = numFlag('stuck-minutes', 5, 0.5) * 60_000;
/** Time between submissions: long enough in the kill row that kills find work in every stage for a minute or more. */
const SUBMIT_SPACING_MS: Record<ScenarioName, number> = { kill: 4000, temporal: 1000, postgres: 1000, redis: 1000, '5xx': 500, '429': 500, hang: 500, drop: 500 };
const OUTAGE_MS = numFlag('outage-seconds', 30, 5) * 1000;
const TEMPORAL_DOWN_MS = 15_000;
const MAX_KILLS = Math.round(numFlag('kills', 10, 1));
/** Every call through a tap waits this long: calls are in flight long enough for a kill to land inside one. */
const TAP_LATENCY_MS = 250;

const ROOT = path.resolve(BENCH_ROOT, '..');
const RUN_DIR = path.join(ROOT, '.data', 'faults');
const DB_NAME = `herald_faults_${process.pid}`;
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TENANT = 'faults';
const API_KEY = 'herald-faults-bench-key';
const ENCRYPTION_KEY = Buffer.alloc(32, 13);
const IG_USER = '17841400000000000';
const TERMINAL = ['published', 'partially_published', 'failed', 'rejected', 'cancelled', 'expired'];
const PUB_TERMINAL = ['published', 'failed', 'cancelled', 'skipped', 'rejected', 'expired'];
const THREADED = ['x', 'mastodon', 'bluesky'];

const t00 = Date.now();
const hardDeadline = t00 + LIMIT_MS;
const say = (msg: string) => console.log(`faults bench [${((Date.now() - t00) / 1000).toFixed(0).padStart(4)} s]: ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- child processes: always killed ------------------------------------------------------------------------------------

const children = new Set<ChildProcess>();
const extraPids = new Set<number>();
/** The private redis-server (its kill() signals synchronously). */
let redisRef: PrivateRedis | null = null;
function killEverything() {
  void redisRef?.kill();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of extraPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killEverything);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    say(`${sig}: stopping`);
    killEverything();
    process.exit(130);
  });
}

// --- which worker holds a call: /proc ----------------------------------------------------------------------------------

/** Local ports of the IPv4 TCP sockets that process `pid` holds. */
function localPortsOf(pid: number): Set<number> {
  const inodes = new Set<string>();
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return new Set();
  }
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      if (!inodes.has(cols[9])) continue;
      const port = parseInt(cols[1].split(':')[1], 16);
      if (Number.isFinite(port)) ports.add(port);
    }
  }
  return ports;
}

// --- workers -------------------------------------------------------------------------------------------------------------

interface WorkerProc {
  n: number;
  slot: number;
  child: ChildProcess;
  startedAt: number;
  readyAt: number | null;
  killedByBench: boolean;
  lines: number;
  tail: string[];
  exited: Promise<void>;
}

class Workers {
  procs: WorkerProc[] = [];
  slots: WorkerProc[] = [];
  unexpectedExits: { worker: number; at: number; code: number | null; signal: string | null; wasPolling: boolean; tail: string }[] = [];
  private stopping = false;

  constructor(private readonly env: Record<string, string>) {}

  private spawnOne(slot: number): WorkerProc {
    const n = this.procs.length + 1;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], { cwd: ROOT, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const w: WorkerProc = {
      n,
      slot,
      child,
      startedAt: Date.now(),
      readyAt: null,
      killedByBench: false,
      lines: 0,
      tail: [],
      exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
    };
    let partial = '';
    const feed = (d: Buffer) => {
      const parts = (partial + d.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        if (!l.trim()) continue;
        w.lines++;
        w.tail.push(l.slice(0, 2000));
        if (w.tail.length > 400) w.tail.shift();
        if (w.readyAt === null && l.includes('worker polling')) w.readyAt = Date.now();
      }
    };
    child.stdout!.on('data', feed);
    child.stderr!.on('data', feed);
    child.once('exit', (code, signal) => {
      children.delete(child);
      this.saveLog(w);
      if (w.killedByBench || this.stopping) return;
      this.unexpectedExits.push({ worker: w.n, at: Date.now(), code, signal, wasPolling: w.readyAt !== null, tail: w.tail.slice(-15).join('\n') });
      say(`worker ${w.n} exited by itself (code ${code}, signal ${signal}, ${w.readyAt !== null ? 'while running' : 'during start-up'}); starting a replacement`);
      if (this.slots[slot] === w) setTimeout(() => this.replace(slot), 1000);
    });
    this.procs.push(w);
    return w;
  }

  private saveLog(w: WorkerProc) {
    try {
      fs.writeFileSync(path.join(RUN_DIR, `worker-${w.n}.log`), `${w.tail.join('\n')}\n`);
    } catch {
      // logs are a convenience
    }
  }

  start(count: number) {
    for (let i = 0; i < count; i++) this.slots.push(this.spawnOne(i));
  }

  replace(slot: number): WorkerProc {
    const w = this.spawnOne(slot);
    this.slots[slot] = w;
    return w;
  }

  alive(w: WorkerProc) {
    return w.child.exitCode === null && w.child.signalCode === null;
  }

  async waitReady(timeoutMs: number) {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.slots.every((w) => w.readyAt !== null && this.alive(w))) return;
      await sleep(200);
    }
    throw new Error(`workers not polling within ${timeoutMs / 1000} s:\n${this.slots.map((w) => w.tail.slice(-10).join('\n')).join('\n---\n')}`);
  }

  /** SIGKILL and an immediate replacement. */
  kill(w: WorkerProc) {
    w.killedByBench = true;
    w.child.kill('SIGKILL');
    this.replace(w.slot);
  }

  async stopAll() {
    this.stopping = true;
    for (const w of this.procs) if (this.alive(w)) w.child.kill('SIGKILL');
    await Promise.race([Promise.all(this.procs.map((w) => w.exited)), sleep(5000)]);
  }
}

// --- the stack -------------------------------------------------------------------------------------------------------------

interface Fakes {
  webhook: FakeWebhookServer;
  x: XFake;
  linkedin: LinkedInFake;
  mastodon: MastodonFake;
  bluesky: BlueskyFake;
  meta: MetaGraphFake;
  text: FakeAiServer;
  images: OpenAIImagesFake;
}
type TapName = 'webhook' | 'x' | 'linkedin' | 'mastodon' | 'bluesky' | 'meta' | 'openai';

interface Stack {
  fakes: Fakes;
  taps: Record<TapName, Tap>;
  pgProxy: TcpProxy;
  redis: PrivateRedis;
  temporal: { address: string; stop(): Promise<unknown>; pid: number };
  restartTemporal(): Promise<void>;
  workers: Workers;
  baseUrl: string;
  accounts: Record<string, string>;
  /** New imitation platforms and accounts for the next row. */
  freshPlatforms(): Promise<void>;
}

async function startFakes(): Promise<Fakes> {
  const [webhook, x, linkedin, mastodon, bluesky, meta, text, images] = await Promise.all([
    startFakeWebhookServer(),
    startXFake(),
    startLinkedInFake(),
    startMastodonFake(),
    startBlueskyFake(),
    startMetaGraphFake(),
    startOpenAIFake({ apiKey: 'bench-openai' }),
    startOpenAIImagesFake(),
  ]);
  // Herald's reconciliation, not the platforms' own duplicate refusal, must keep posts single.
  for (const f of [x, linkedin, mastodon, bluesky]) f.detectDuplicates(false);
  meta.duplicateDetection(false);
  // Instagram containers answer IN_PROGRESS twice before FINISHED: the publication polls (a stage the kills aim at).
  meta.containerDelay(2);
  return { webhook, x, linkedin, mastodon, bluesky, meta, text, images };
}

async function closeFakes(f: Fakes): Promise<void> {
  await Promise.all([f.webhook.close(), f.x.close(), f.linkedin.close(), f.mastodon.close(), f.bluesky.close(), f.meta.close(), f.text.close(), f.images.close()]);
}

/** One account per platform on these fakes, through the API. */
async function connectAccounts(baseUrl: string, fakes: Fakes, taps: Record<TapName, Tap>): Promise<Record<string, string>> {
  const { x, bluesky, linkedin, mastodon, meta } = fakes;
  const xt = x.issueTokens();
  const bt = bluesky.issueTokens();
  const lt = linkedin.issueTokens();
  const far = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const bodies: Record<string, unknown> = {
    webhook: { platform: 'webhook', handle: 'faults-hook', credentials: { url: `${taps.webhook.url}/hook/faults` } },
    x: { platform: 'x', handle: x.user.username, credentials: { accessToken: xt.accessToken, refreshToken: xt.refreshToken }, settings: { userId: x.user.id, username: x.user.username }, expiresAt: far },
    linkedin: { platform: 'linkedin', handle: linkedin.member.name, credentials: { accessToken: lt.accessToken, refreshToken: lt.refreshToken }, settings: { personId: linkedin.member.id }, expiresAt: far },
    mastodon: { platform: 'mastodon', handle: mastodon.account.acct, credentials: { accessToken: mastodon.issueTokens().accessToken }, settings: { instanceUrl: taps.mastodon.url } },
    bluesky: { platform: 'bluesky', handle: bluesky.account.handle, credentials: { accessJwt: bt.accessJwt, refreshJwt: bt.refreshJwt, did: bluesky.account.did }, settings: { did: bluesky.account.did }, expiresAt: far },
    instagram: { platform: 'instagram', handle: 'herald', credentials: { accessToken: meta.issueToken('instagram') }, settings: { igUserId: IG_USER } },
  };
  const accounts: Record<string, string> = {};
  for (const [p, body] of Object.entries(bodies)) {
    for (let attempt = 0; ; attempt++) {
      const res = await api(baseUrl, 'POST', '/v1/accounts', body);
      if (res.status === 201) {
        accounts[p] = res.json.id;
        break;
      }
      if (attempt >= 20 || (res.status !== 503 && res.status !== 0)) throw new Error(`connecting ${p}: ${res.status} ${JSON.stringify(res.json)}`);
      await sleep(1000);
    }
  }
  return accounts;
}

type TemporalModule = {
  ensureTemporal(): string;
  startTemporalDevServer(o: { bin: string; port: number; dbFile: string; logFile: string; uiPort: null; timeoutMs?: number }): Promise<{
    address: string;
    pid: number;
    stop(ms?: number): Promise<unknown>;
    startMs: number;
  }>;
};

/** Counts of API answers the bench got, by status; 500s are the bug the contract forbids (no answer at all is 0). */
const apiStatuses = new Map<number, number>();
const apiErrors500: { at: number; method: string; path: string; status: number; body: string }[] = [];

async function api(baseUrl: string, method: string, p: string, body?: unknown, timeoutMs = 15_000): Promise<{ status: number; json: any; headers: Headers; ms: number }> {
  const started = Date.now();
  try {
    const res = await fetch(`${baseUrl}${p}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: any = text;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    apiStatuses.set(res.status, (apiStatuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500 && res.status !== 503) apiErrors500.push({ at: Date.now(), method, path: p, status: res.status, body: text.slice(0, 300) });
    return { status: res.status, json, headers: res.headers, ms: Date.now() - started };
  } catch (err) {
    // A timeout or a refused connection: status 0.
    apiStatuses.set(0, (apiStatuses.get(0) ?? 0) + 1);
    apiErrors500.push({ at: Date.now(), method, path: p, status: 0, body: String(err).slice(0, 300) });
    return { status: 0, json: { error: String(err) }, headers: new Headers(), ms: Date.now() - started };
  }
}

// --- faults the taps inject --------------------------------------------------------------------------------------------

/** What the taps do right now (set by the running scenario). */
const tapMode: {
  p5xx: number;
  burst429: Map<string, number>;
  hang: Map<string, number>;
  drop: Map<string, number>;
  lastHang: Map<string, number>;
} = { p5xx: 0, burst429: new Map(), hang: new Map(), drop: new Map(), lastHang: new Map() };

const isWrite = (c: TapCall) => c.method === 'POST';
const isReply = (c: TapCall) => /in_reply_to_tweet_id|in_reply_to_id|"reply"\s*:/.test(c.body);
const isPublish = (c: TapCall) => isWrite(c) && /\/2\/tweets|\/api\/v1\/statuses$|createRecord|\/rest\/posts|\/hook\/|media_publish|\/feed$/.test(c.path.split('?')[0]);

function decideFor(tap: TapName) {
  return (call: TapCall): TapDecision => {
    const burst = tapMode.burst429.get(tap) ?? 0;
    // On threaded platforms the 429s go to thread parts after the first (a thread half posted, then throttled).
    if (burst > 0 && !call.path.startsWith('/files/') && (!THREADED.includes(tap) || isReply(call))) {
      tapMode.burst429.set(tap, burst - 1);
      return { kind: 'arm', fault: '429' };
    }
    if (tapMode.p5xx > 0 && Math.random() < tapMode.p5xx && !call.path.startsWith('/files/')) return { kind: 'arm', fault: '5xx' };
    const hang = tapMode.hang.get(tap) ?? 0;
    if (hang > 0 && isWrite(call) && Date.now() - (tapMode.lastHang.get(tap) ?? 0) > 4000) {
      tapMode.hang.set(tap, hang - 1);
      tapMode.lastHang.set(tap, Date.now());
      return { kind: 'hang' };
    }
    const drop = tapMode.drop.get(tap) ?? 0;
    // Threaded platforms: the drops go to thread parts after the first (a thread half posted), others to any write.
    if (drop > 0 && isWrite(call) && (tap === 'openai' ? call.path.includes('/images/') : isPublish(call)) && (!THREADED.includes(tap) || isReply(call) || drop > 2)) {
      tapMode.drop.set(tap, drop - 1);
      return { kind: 'drop' };
    }
    return { kind: 'forward' };
  };
}

function resetTapMode() {
  tapMode.p5xx = 0;
  tapMode.burst429.clear();
  tapMode.hang.clear();
  tapMode.drop.clear();
  tapMode.lastHang.clear();
}

async function startStack(): Promise<{ stack: Stack; cleanup: () => Promise<void> }> {
  fs.mkdirSync(RUN_DIR, { recursive: true });
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        say(`clean-up step failed: ${(err as Error).message}`);
      }
    }
  };
  try {
    // Database.
    const admin = new Pool({ connectionString: ADMIN_URL, max: 2 });
    cleanups.push(() => admin.end());
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB_NAME}`);
    cleanups.push(() => (flag('keep-db') ? undefined : admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`)));
    const adminUrl = new URL(ADMIN_URL);
    const direct = new URL(ADMIN_URL);
    direct.pathname = `/${DB_NAME}`;
    const migratePool = createPool(direct.toString(), 2);
    await runMigrations(migratePool);
    await migratePool.end();
    const pgProxy = await startTcpProxy({ host: adminUrl.hostname || '127.0.0.1', port: Number(adminUrl.port) || 5432 });
    cleanups.push(() => pgProxy.close());
    const viaProxy = new URL(direct.toString());
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(pgProxy.port);
    say(`database ${DB_NAME} migrated; reached through the proxy on port ${pgProxy.port}`);

    // Redis.
    const redis = await startPrivateRedis();
    redisRef = redis;
    cleanups.push(() => redis.kill());

    // Temporal with a file database.
    const temporalLib = (await import(pathToFileURL(path.join(ROOT, 'scripts', 'lib', 'temporal.mjs')).href)) as TemporalModule;
    const bin = temporalLib.ensureTemporal();
    const temporalPort = await freePort();
    const dbFile = path.join('/tmp', `herald-faults-${process.pid}`, 'temporal.db');
    fs.rmSync(path.dirname(dbFile), { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dbFile), { recursive: true });
    cleanups.push(() => fs.rmSync(path.dirname(dbFile), { recursive: true, force: true }));
    const logFile = path.join(RUN_DIR, 'temporal.log');
    const startTemporal = async () => {
      const s = await temporalLib.startTemporalDevServer({ bin, port: temporalPort, dbFile, logFile, uiPort: null, timeoutMs: 90_000 });
      extraPids.add(s.pid);
      return s;
    };
    let temporal = await startTemporal();
    cleanups.push(() => temporal.stop(3000));
    say(`Temporal dev server (file ${dbFile}) at ${temporal.address} in ${(temporal.startMs / 1000).toFixed(1)} s`);

    // Fakes and taps.
    // Fresh imitation platforms for every row (their daily caps, X's 100 posts and Instagram's 50, would otherwise
    // carry over): the taps stay, and route to whichever set is current.
    const cur = { fakes: await startFakes() };
    const retired: Fakes[] = [];
    cleanups.push(() => Promise.all([cur.fakes, ...retired].map(closeFakes)));
    const f = () => cur.fakes;
    const social = (pick: () => SocialFakeBase) => (fault: '5xx' | '429') => (fault === '5xx' ? pick().serverErrorNext(1) : pick().rateLimitNext(1, 2));
    const tapSpecs: Record<TapName, { target: (p: string) => string; arm: (fault: '5xx' | '429', p: string) => void }> = {
      webhook: {
        target: () => f().webhook.url,
        arm: (fault) => (fault === '5xx' ? f().webhook.failNext(503, { error: 'unavailable' }) : f().webhook.failNext(429, { error: 'rate_limited' }, { 'Retry-After': '2' })),
      },
      x: { target: () => f().x.url, arm: social(() => f().x) },
      linkedin: { target: () => f().linkedin.url, arm: social(() => f().linkedin) },
      mastodon: { target: () => f().mastodon.url, arm: social(() => f().mastodon) },
      bluesky: { target: () => f().bluesky.url, arm: social(() => f().bluesky) },
      meta: { target: () => f().meta.url, arm: (fault) => (fault === '5xx' ? f().meta.serverErrorNext(1) : f().meta.rateLimitNext(80002, 1, { regainMinutes: 1 })) },
      openai: {
        target: (p) => (p.startsWith('/v1/images') || p.startsWith('/files/') ? f().images.url : f().text.url),
        arm: (fault, p) => {
          if (p.startsWith('/v1/images')) f().images.failNext(fault === '5xx' ? 'server_error' : 'rate_limit');
          else f().text.control.failNext(fault === '5xx' ? 'server_error' : 'rate_limit', 1, { retryAfterSeconds: 2 });
        },
      },
    };
    const taps = {} as Record<TapName, Tap>;
    for (const name of Object.keys(tapSpecs) as TapName[]) {
      taps[name] = await startTap({ name, target: tapSpecs[name].target, arm: tapSpecs[name].arm });
      taps[name].latencyMs = TAP_LATENCY_MS;
      taps[name].decide = decideFor(name);
    }
    cleanups.push(() => Promise.all(Object.values(taps).map((t) => t.close())));

    // The API in this process.
    const apiPort = await freePort();
    const taskQueue = `herald-faults-${process.pid}`;
    const env: Record<string, string> = {
      DATABASE_URL: viaProxy.toString(),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      REDIS_URL: redis.url,
      API_KEYS: `${TENANT}:${API_KEY}`,
      TENANT_MAX_ACTIVE_PIPELINES: '100000',
      TOKEN_ENCRYPTION_KEY: ENCRYPTION_KEY.toString('base64'),
      PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
      DATA_DIR: RUN_DIR,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      TEXT_PROVIDERS: 'openai',
      OPENAI_API_KEY: 'bench-openai',
      OPENAI_BASE_URL: taps.openai.url,
      IMAGE_SOURCES: 'openai,card',
      RATE_LIMIT_OPENAI: '100000/1m',
      RATE_LIMIT_OPENAI_TOKENS: '1000000000/1m',
      X_API_BASE_URL: taps.x.url,
      X_CLIENT_ID: f().x.clientId,
      LINKEDIN_API_BASE_URL: taps.linkedin.url,
      LINKEDIN_OAUTH_BASE_URL: taps.linkedin.url,
      LINKEDIN_CLIENT_ID: f().linkedin.clientId,
      LINKEDIN_CLIENT_SECRET: f().linkedin.clientSecret,
      BLUESKY_SERVICE_URL: taps.bluesky.url,
      META_GRAPH_BASE_URL: `${taps.meta.url}/v21.0`,
      META_APP_ID: f().meta.appId,
      META_APP_SECRET: f().meta.appSecret,
      // The platforms' real daily quotas would make a 20-minute run wait for tomorrow; the webhook account is paced so
      // publications do wait on the limiter (the "waiting" stage).
      RATE_LIMIT_X: '100000/15m',
      RATE_LIMIT_LINKEDIN: '100000/1h',
      RATE_LIMIT_INSTAGRAM: '100000/1h',
      RATE_LIMIT_WEBHOOK: '20/1m',
    };
    const config = loadConfig(env);
    const apiLogs = fs.createWriteStream(path.join(RUN_DIR, 'api.log'));
    cleanups.push(() => new Promise<void>((r) => apiLogs.end(() => r())));
    const logger = createLogger({ level: 'warn', format: 'json', name: 'faults-bench-api' }, { write: (l: string) => void apiLogs.write(l) });
    const pool = createPool(viaProxy.toString(), 10);
    cleanups.push(() => pool.end());
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const metrics = createMetricsRegistry();
    const redisClient: Redis = createRedisClient(redis.url);
    // The redis row kills the server: the client's reconnect errors are expected, not news.
    redisClient.on('error', () => undefined);
    cleanups.push(() => redisClient.disconnect());
    const resilience: Resilience = createResilience({ redis: redisClient, config: config.resilience, logger, metrics });
    cleanups.push(() => resilience.close());
    const app: FastifyInstance = await createApi(config, pool, client, ENCRYPTION_KEY, logger, { resilience, metrics });
    await app.listen({ port: apiPort, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    const baseUrl = `http://127.0.0.1:${apiPort}`;

    // Two workers.
    const workers = new Workers({ ...(process.env as Record<string, string>), ...env });
    workers.start(2);
    cleanups.push(() => workers.stopAll());
    await workers.waitReady(180_000);
    say(`2 workers polling ${taskQueue}; API on ${baseUrl}`);

    const stack: Stack = {
      get fakes() {
        return cur.fakes;
      },
      taps,
      pgProxy,
      redis,
      get temporal() {
        return temporal;
      },
      async restartTemporal() {
        temporal = await startTemporal();
      },
      workers,
      baseUrl,
      accounts: {},
      async freshPlatforms() {
        retired.push(cur.fakes);
        cur.fakes = await startFakes();
        stack.accounts = await connectAccounts(baseUrl, cur.fakes, taps);
      },
    };
    stack.accounts = await connectAccounts(baseUrl, cur.fakes, taps);
    return { stack, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

// --- pipelines -----------------------------------------------------------------------------------------------------------

interface Tracked {
  id: string;
  marker: string;
  kind: string;
  state: any;
  approved: boolean;
}

const CODES: Record<ScenarioName, string> = { kill: 'k', temporal: 't', postgres: 'p', redis: 'r', '5xx': 'e', '429': 'l', hang: 'h', drop: 'd' };

/** The i-th pipeline of a row: a mix of targets, formats, images, approval and publishAt. */
function pipelineBody(scenario: ScenarioName, i: number, accounts: Record<string, string>): { marker: string; kind: string; body: Record<string, unknown> } {
  const marker = `fz${CODES[scenario]}${String(i).padStart(3, '0')}q`;
  const t = (...ps: string[]) => ps.map((p) => ({ platform: p, accountId: accounts[p] }));
  const base = { topic: `Fault drill ${marker}`, cache: false, brief: `A drill about ${marker}: nothing lost, nothing doubled, nothing stuck.` };
  switch (i % 6) {
    case 0:
      return { marker, kind: 'post5', body: { ...base, format: 'post', targets: t('webhook', 'x', 'linkedin', 'mastodon', 'bluesky'), image: { mode: 'none' } } };
    case 1:
      return { marker, kind: 'thread', body: { ...base, format: 'thread', targets: t('x', 'mastodon', 'bluesky'), image: { mode: 'none' } } };
    case 2:
      return { marker, kind: 'instagram+image', body: { ...base, format: 'post', targets: t('instagram', 'linkedin', 'x'), image: { mode: 'auto', sources: ['openai', 'card'] } } };
    case 3:
      return { marker, kind: 'approval', body: { ...base, format: 'post', targets: t('webhook', 'mastodon'), image: { mode: 'none' }, approval: { required: true, timeout: '1h' } } };
    case 4:
      return { marker, kind: 'publishAt', body: { ...base, format: 'post', targets: t('bluesky', 'linkedin', 'webhook'), image: { mode: 'none' }, publishAt: new Date(Date.now() + 20_000).toISOString() } };
    default:
      return { marker, kind: 'thread+image', body: { ...base, format: 'thread', targets: t('x', 'mastodon', 'instagram'), image: { mode: 'auto', sources: ['openai', 'card'] } } };
  }
}

class Batch {
  tracked: Tracked[] = [];
  submitFailures: { i: number; status: number; body: string }[] = [];
  submitting = true;
  private pollerStop = false;
  private poller: Promise<void> | null = null;

  constructor(
    private readonly stack: Stack,
    private readonly scenario: ScenarioName,
  ) {}

  async submitAll(count: number) {
    try {
      for (let i = 0; i < count; i++) {
        // Submissions are retried while the API answers 503 (a client following Retry-After would); each attempt is
        // built afresh, so a publishAt a little ahead stays ahead.
        for (let attempt = 0; attempt < 120; attempt++) {
          const { marker, kind, body } = pipelineBody(this.scenario, i, this.stack.accounts);
          const res = await api(this.stack.baseUrl, 'POST', '/v1/pipelines', body);
          if (res.status === 202) {
            this.tracked.push({ id: res.json.id, marker, kind, state: null, approved: false });
            break;
          }
          if (res.status !== 503 && res.status !== 0) {
            this.submitFailures.push({ i, status: res.status, body: JSON.stringify(res.json).slice(0, 300) });
            break;
          }
          await sleep(1000);
        }
        await sleep(SUBMIT_SPACING_MS[this.scenario]);
      }
    } finally {
      this.submitting = false;
    }
  }

  /** Polls every pipeline's state and approves those awaiting approval. */
  startPolling() {
    this.poller = (async () => {
      while (!this.pollerStop) {
        for (const t of [...this.tracked]) {
          if (this.pollerStop) break;
          if (TERMINAL.includes(t.state?.status)) continue;
          const res = await api(this.stack.baseUrl, 'GET', `/v1/pipelines/${t.id}`);
          if (res.status === 200) t.state = res.json;
          if (t.state?.status === 'awaiting_approval' && !t.approved) {
            const a = await api(this.stack.baseUrl, 'POST', `/v1/pipelines/${t.id}/approve`, {});
            if (a.status === 200) t.approved = true;
          }
        }
        await sleep(1000);
      }
    })();
  }

  async stopPolling() {
    this.pollerStop = true;
    await this.poller;
  }

  allTerminal() {
    return !this.submitting && this.tracked.every((t) => TERMINAL.includes(t.state?.status));
  }

  /** Publications with status `waiting` right now. */
  waiting() {
    return this.tracked.filter((t) => (t.state?.publications ?? []).some((p: any) => p.status === 'waiting'));
  }
}

// --- the oracle: what the fakes hold -------------------------------------------------------------------------------------

interface PlatformPost {
  id: string;
  text: string;
  replyTo: string | null;
  /** Webhooks: the Idempotency-Key header it came with. */
  key?: string;
}

/** Everything a platform stored, from the fake's own records (no Herald code involved). */
function platformPosts(fakes: Fakes, platform: string): PlatformPost[] {
  switch (platform) {
    case 'webhook':
      return fakes.webhook.received
        .filter((r) => r.path.startsWith('/hook/'))
        .map((r, i) => ({ id: `hook-${i}`, text: JSON.stringify(r.body), replyTo: null, key: String(r.headers['idempotency-key'] ?? `none-${i}`) }));
    case 'instagram':
      return fakes.meta.posts.filter((p) => p.platform === 'instagram').map((p) => ({ id: p.id, text: p.text, replyTo: null }));
    case 'x':
    case 'linkedin':
    case 'mastodon':
    case 'bluesky':
      return (fakes[platform] as SocialFakeBase).posts.map((p) => ({ id: p.id, text: p.text, replyTo: p.replyTo }));
    default:
      return [];
  }
}

interface Verdict {
  pipelines: number;
  publications: number;
  published: number;
  failed: number;
  lost: number;
  doubled: number;
  /** Webhook deliveries repeated with the same Idempotency-Key (a receiver honouring the key stores one). */
  redelivered: number;
  stuck: number;
  notes: string[];
}

function judge(fakes: Fakes, batch: Batch): Verdict {
  const v: Verdict = { pipelines: batch.tracked.length, publications: 0, published: 0, failed: 0, lost: 0, doubled: 0, redelivered: 0, stuck: 0, notes: [] };
  const cache = new Map<string, PlatformPost[]>();
  const postsOf = (p: string) => {
    if (!cache.has(p)) cache.set(p, platformPosts(fakes, p));
    return cache.get(p)!;
  };
  const markerRe = (m: string) => new RegExp(`\\b${m}\\b`);
  for (const t of batch.tracked) {
    const s = t.state;
    if (!TERMINAL.includes(s?.status)) {
      v.stuck++;
      v.notes.push(`stuck: ${t.id} (${t.kind}) status ${s?.status ?? 'unknown'}: ${JSON.stringify((s?.publications ?? []).map((p: any) => [p.platform, p.status, p.attempts, p.error]))}`);
    }
    for (const pub of s?.publications ?? []) {
      v.publications++;
      const posts = postsOf(pub.platform);
      const re = markerRe(t.marker);
      let roots = posts.filter((p) => p.replyTo === null && re.test(p.text));
      if (pub.platform === 'webhook') {
        // A generic webhook cannot be asked what it holds: Herald's promise there is one Idempotency-Key per
        // publication (the receiver keeps the first). A double is the same post under two keys.
        const keys = new Map<string, PlatformPost>();
        for (const r of roots) if (!keys.has(r.key!)) keys.set(r.key!, r);
        if (roots.length > keys.size) {
          v.redelivered += roots.length - keys.size;
          v.notes.push(`redelivered: ${t.id} webhook (${t.kind}) ${roots.length} deliveries under ${keys.size} Idempotency-Key(s)`);
        }
        roots = [...keys.values()];
      }
      // Replies below the roots, walked down the chain.
      const byParent = new Map<string, PlatformPost[]>();
      for (const p of posts) if (p.replyTo) byParent.set(p.replyTo, [...(byParent.get(p.replyTo) ?? []), p]);
      const tree: PlatformPost[] = [];
      const walk = (id: string) => {
        for (const c of byParent.get(id) ?? []) {
          tree.push(c);
          walk(c.id);
        }
      };
      for (const r of roots) walk(r.id);
      const pairs = new Map<string, number>();
      for (const p of tree) pairs.set(`${p.replyTo}\u0000${p.text}`, (pairs.get(`${p.replyTo}\u0000${p.text}`) ?? 0) + 1);
      const dupReplies = [...pairs.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
      const doubled = Math.max(0, roots.length - 1) + dupReplies;
      if (doubled > 0) {
        v.doubled += doubled;
        v.notes.push(`doubled: ${t.id} ${pub.platform} (${t.kind}) ${roots.length} roots, ${dupReplies} repeated replies; Herald says ${pub.status} after ${pub.attempts} attempts`);
      }
      if (pub.status === 'published') {
        v.published++;
        const variant = (s.variants ?? []).find((x: any) => x.platform === pub.platform);
        const parts = THREADED.includes(pub.platform) ? (variant?.parts?.length ?? 1) : 1;
        const found = roots.length === 0 ? 0 : 1 + new Set(tree.map((p) => `${p.replyTo}\u0000${p.text}`)).size;
        if (found < parts) {
          v.lost++;
          v.notes.push(`lost: ${t.id} ${pub.platform} (${t.kind}) says published (${pub.externalId}) but the platform holds ${found} of ${parts} parts`);
        }
      } else if (pub.status === 'failed') {
        v.failed++;
        v.notes.push(`failed: ${t.id} ${pub.platform} (${t.kind}) after ${pub.attempts} attempts: ${pub.error}${roots.length ? ' (yet the platform holds it)' : ''}`);
      } else if (!PUB_TERMINAL.includes(pub.status)) {
        v.lost++;
        v.notes.push(`never terminal: ${t.id} ${pub.platform} (${t.kind}) ${pub.status}`);
      }
    }
  }
  return v;
}

// --- recovery --------------------------------------------------------------------------------------------------------------

const MARKER = /fz[a-z]\d{3}q/;
const rowMarker = (scenario: ScenarioName) => new RegExp(`fz${CODES[scenario]}\\d{3}q`);
/** Which piece of work a call belongs to: the pipeline marker it carries, else its method and path. */
function workKey(c: TapCall): string {
  const m = MARKER.exec(c.body) ?? MARKER.exec(c.path);
  return m ? `${c.tap}:${m[0]}` : `${c.tap}:${c.method} ${c.path.split('?')[0].replace(/\d{6,}/g, '#')}`;
}

/** ms from `at` to the next call to the same tap for the same work (the retry starting), or null. */
function nextSameWork(taps: Record<TapName, Tap>, call: TapCall, at: number): number | null {
  const key = workKey(call);
  const next = taps[call.tap as TapName].calls.find((c) => c.at > at && c.id !== call.id && workKey(c) === key);
  return next ? next.at - at : null;
}

/** ms from `at` to the next GET on the same tap (a reconciliation look-up), or null. */
function nextLookup(taps: Record<TapName, Tap>, call: TapCall, at: number): number | null {
  const next = taps[call.tap as TapName].calls.find((c) => c.at > at && c.method === 'GET' && !c.path.startsWith('/files/'));
  return next ? next.at - at : null;
}

function minOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** ms from `at` to the first call any worker makes to any platform or provider. */
function firstCallAfter(taps: Record<TapName, Tap>, at: number): number | null {
  let best: number | null = null;
  for (const t of Object.values(taps)) {
    const c = t.calls.find((x) => x.at > at);
    if (c && (best === null || c.at - at < best)) best = c.at - at;
  }
  return best;
}

function p95(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)];
}

// --- scenarios -------------------------------------------------------------------------------------------------------------

interface FaultRecord {
  kind: string;
  at: number;
  endAt: number;
  landed: boolean;
  evidence: string;
  recoveryMs: number | null;
  /** Kill: the calls the victim held. Per-call faults: the faulted call. Recovery is computed once the row is over. */
  held?: TapCall[];
  pending?: { call: TapCall; lookup: boolean };
}

interface RowResult {
  scenario: ScenarioName;
  pipelines: number;
  publications: number;
  faultsInjected: number;
  faultsLanded: number;
  lost: number;
  doubled: number;
  stuck: number;
  failed: number;
  webhookRedeliveries: number;
  p95RecoveryS: number | null;
  maxRecoveryS: number | null;
  recoverySamples: number;
  wallS: number;
  faults: FaultRecord[];
  notes: string[];
  extra: Record<string, unknown>;
  workerUnexpectedExits: number;
  api500s: number;
}

const allCalls = (taps: Record<TapName, Tap>) => Object.values(taps).flatMap((t) => t.calls);

async function waitUntil(cond: () => boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const until = Math.min(Date.now() + timeoutMs, hardDeadline);
  while (Date.now() < until) {
    if (cond()) return true;
    await sleep(stepMs);
  }
  return cond();
}

type Injector = (stack: Stack, batch: Batch, faults: FaultRecord[], extra: Record<string, unknown>, t0: number) => Promise<void>;

const STAGES: { name: string; match: (c: TapCall) => boolean }[] = [
  { name: 'text', match: (c) => c.tap === 'openai' && c.path.includes('/chat/completions') },
  { name: 'image', match: (c) => c.tap === 'openai' && c.path.includes('/images/generations') },
  { name: 'thread part', match: (c) => THREADED.includes(c.tap) && isReply(c) },
  { name: 'instagram container poll', match: (c) => c.tap === 'meta' && c.method === 'GET' && /fields=status/.test(c.path) },
  { name: 'publish', match: (c) => isPublish(c) },
  { name: 'waiting', match: () => false },
];

const killInjector: Injector = async (stack, batch, faults, extra) => {
  const { workers, taps } = stack;
  const stagesHit: Record<string, number> = {};
  const windowEnd = Date.now() + 240_000;
  for (let k = 0; k < MAX_KILLS && Date.now() < windowEnd && !batch.allTerminal() && Date.now() < hardDeadline - 60_000; k++) {
    // The other worker is up, so the recovery measured is Herald's (heartbeat timeout, retry), not a process start.
    await waitUntil(() => workers.slots.every((w) => w.readyAt !== null && workers.alive(w)), 90_000);
    const stage = STAGES[k % STAGES.length];
    // Up to 15 s to catch a live worker with a call of this stage open (or, for "waiting", a publication waiting).
    let victim: (typeof workers.slots)[number] | undefined;
    const until = Date.now() + 15_000;
    if (stage.name === 'waiting' && batch.waiting().length === 0) {
      // The webhook answers its next post with its 429 and Retry-After 10: that publication waits on a durable timer.
      stack.fakes.webhook.failNext(429, { error: 'rate_limited' }, { 'Retry-After': '10' });
      extra.webhook429sForWaiting = ((extra.webhook429sForWaiting as number | undefined) ?? 0) + 1;
    }
    while (!victim && Date.now() < until && !batch.allTerminal()) {
      const live = workers.slots.filter((w) => workers.alive(w) && w.readyAt !== null);
      if (stage.name === 'waiting') {
        if (batch.waiting().length > 0 && live.length > 0) victim = live[Math.floor(Math.random() * live.length)];
      } else {
        const open = allCalls(taps).filter((c) => c.outcome === 'open' && stage.match(c));
        if (open.length > 0) {
          for (const w of live) {
            const ports = localPortsOf(w.child.pid!);
            if (open.some((c) => ports.has(c.remotePort))) {
              victim = w;
              break;
            }
          }
        }
      }
      if (!victim) await sleep(40);
    }
    let stageName = stage.name;
    if (!victim) {
      const live = workers.slots.filter((w) => workers.alive(w) && w.readyAt !== null);
      if (live.length === 0) continue;
      victim = live[Math.floor(Math.random() * live.length)];
      stageName = 'random moment';
    }
    const ports = localPortsOf(victim.child.pid!);
    const held = allCalls(taps).filter((c) => c.outcome === 'open' && ports.has(c.remotePort));
    const waitingNow = batch.waiting().length;
    const at = Date.now();
    workers.kill(victim);
    stagesHit[stageName] = (stagesHit[stageName] ?? 0) + 1;
    const landed = held.length > 0 || (stageName === 'waiting' && waitingNow > 0);
    faults.push({
      kind: `kill -9 worker ${victim.n} (${stageName})`,
      at,
      endAt: at,
      landed,
      evidence: held.length
        ? `held ${held.length} open call(s): ${held.map((c) => `${c.tap} ${c.method} ${c.path.split('?')[0]}`).join('; ')}`
        : stageName === 'waiting'
          ? `${waitingNow} pipeline(s) had a publication waiting on the limiter`
          : 'no open call',
      recoveryMs: null,
    });
    faults[faults.length - 1].held = held;
    await sleep(2_000 + Math.random() * 3_000);
  }
  extra.stagesHit = stagesHit;
  extra.workersStarted = workers.procs.length;
};

const temporalInjector: Injector = async (stack, batch, faults, extra) => {
  const { taps } = stack;
  await sleep(8_000);
  const open = allCalls(taps).filter((c) => c.outcome === 'open').length;
  const inFlight = batch.tracked.filter((t) => !TERMINAL.includes(t.state?.status)).length;
  const at = Date.now();
  await stack.temporal.stop();
  const stoppedAt = Date.now();
  say(`Temporal stopped (${inFlight} pipelines in flight, ${open} platform calls open)`);
  // While it is down: POST /v1/pipelines must answer (503) within 5 s, never hang.
  const probes: { status: number; ms: number; retryAfter: string | null }[] = [];
  while (Date.now() - stoppedAt < TEMPORAL_DOWN_MS) {
    const r = await api(stack.baseUrl, 'POST', '/v1/pipelines', { topic: 'Probe while Temporal is down', targets: [{ platform: 'x' }], dryRun: true, image: { mode: 'none' } }, 15_000);
    probes.push({ status: r.status, ms: r.ms, retryAfter: r.headers.get('retry-after') });
    await sleep(1_500);
  }
  await stack.restartTemporal();
  const back = Date.now();
  say(`Temporal back after ${((back - at) / 1000).toFixed(1)} s`);
  await waitUntil(() => firstCallAfter(taps, back) !== null || batch.allTerminal(), 120_000, 250);
  const rec = firstCallAfter(taps, back);
  faults.push({
    kind: 'Temporal stopped and restarted',
    at,
    endAt: back,
    landed: inFlight > 0,
    evidence: `${inFlight} pipelines in flight, ${open} platform calls open at the stop; down ${((back - at) / 1000).toFixed(1)} s`,
    recoveryMs: rec,
  });
  extra.probesWhileDown = probes;
  extra.postWhileDown = {
    answered503: probes.filter((p) => p.status === 503).length,
    withRetryAfter: probes.filter((p) => p.status === 503 && p.retryAfter).length,
    over5s: probes.filter((p) => p.ms > 5_000).length,
    other: probes.filter((p) => p.status !== 503).map((p) => p.status),
  };
};

const postgresInjector: Injector = async (stack, batch, faults, extra) => {
  const { pgProxy, taps } = stack;
  await waitUntil(() => batch.tracked.length >= 3, 60_000);
  await sleep(2_000);
  const at = Date.now();
  await pgProxy.refuse();
  const terminated = pgProxy.terminate();
  say(`PostgreSQL unavailable: refusing, ${terminated} open connections terminated`);
  const acceptedDuringOutage: string[] = [];
  const probes: { phase: 'outage' | 'after'; route: string; status: number; ms: number; retryAfter: string | null; code: string | null }[] = [];
  const probeOnce = async (phase: 'outage' | 'after') => {
    const id = batch.tracked[0]?.id ?? 'missing';
    const routes: [string, string, unknown?][] = [
      ['POST', '/v1/pipelines', { topic: 'Probe during the PostgreSQL outage', targets: [{ platform: 'x' }], dryRun: true, image: { mode: 'none' } }],
      ['GET', `/v1/pipelines/${id}`],
      ['GET', '/v1/pipelines?limit=5'],
    ];
    const out = await Promise.all(
      routes.map(async ([m, p, b]) => {
        const r = await api(stack.baseUrl, m, p, b, 15_000);
        if (m === 'POST' && r.status === 202) acceptedDuringOutage.push(r.json.id);
        return { phase, route: `${m} ${p.replace(id, ':id')}`, status: r.status, ms: r.ms, retryAfter: r.headers.get('retry-after'), code: r.json?.error?.code ?? null };
      }),
    );
    probes.push(...out);
    return out;
  };
  while (Date.now() - at < OUTAGE_MS) {
    await probeOnce('outage');
    await sleep(1_000);
  }
  // New connections made during the outage were refused; any the proxy accepted meanwhile do not exist (it was closed).
  await pgProxy.restore();
  const end = Date.now();
  say('PostgreSQL back');
  let recoveredAt: number | null = null;
  while (Date.now() - end < 120_000 && Date.now() < hardDeadline) {
    const out = await probeOnce('after');
    if (out.every((o) => o.status >= 200 && o.status < 300)) {
      recoveredAt = Date.now();
      break;
    }
    await sleep(500);
  }
  const during = probes.filter((p) => p.phase === 'outage');
  faults.push({
    kind: `PostgreSQL unavailable ${OUTAGE_MS / 1000} s`,
    at,
    endAt: end,
    landed: terminated > 0,
    evidence: `${terminated} open connections terminated, new ones refused for ${OUTAGE_MS / 1000} s; ${during.length} API probes during it`,
    recoveryMs: recoveredAt === null ? null : recoveredAt - end,
  });
  const byStatus = (ps: typeof probes) => ps.reduce<Record<string, number>>((a, p) => ((a[p.status] = (a[p.status] ?? 0) + 1), a), {});
  extra.apiDuringOutage = {
    probes: during.length,
    byStatus: byStatus(during),
    answered503WithRetryAfter: during.filter((p) => p.status === 503 && p.retryAfter).length,
    answered500: during.filter((p) => p.status >= 500 && p.status !== 503).length,
    slowestMs: Math.max(0, ...during.map((p) => p.ms)),
    over5s: during.filter((p) => p.ms > 5_000).length,
    codes: [...new Set(during.map((p) => p.code))],
    byRoute: Object.fromEntries(['POST /v1/pipelines', 'GET /v1/pipelines/:id', 'GET /v1/pipelines?limit=5'].map((r) => [r, byStatus(during.filter((p) => p.route === r))])),
  };
  extra.dryRunProbesAccepted = acceptedDuringOutage.length;
  extra.apiRecoveredAfterMs = recoveredAt === null ? null : recoveredAt - end;
  extra.platformCallsDuringOutage = allCalls(taps).filter((c) => c.at >= at && c.at < end).length;
};

function redisClients(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = (v: number | null) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(1000, () => done(null));
    s.once('error', () => done(null));
    s.once('connect', () => s.write('INFO clients\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      const m = /connected_clients:(\d+)/.exec(buf);
      if (m) done(Number(m[1]) - 1); // minus this probe
    });
  });
}

const redisInjector: Injector = async (stack, batch, faults, extra) => {
  const { redis, taps } = stack;
  const mine = rowMarker('redis');
  await waitUntil(() => allCalls(taps).some((c) => isPublish(c) && mine.test(c.body)) || batch.allTerminal(), 90_000);
  const clients = await redisClients(redis.port);
  const at = Date.now();
  await redis.kill();
  say(`Redis killed (${clients} clients were connected)`);
  const ready: { status: number; body: string }[] = [];
  while (Date.now() - at < OUTAGE_MS) {
    const r = await api(stack.baseUrl, 'GET', '/ready', undefined, 10_000);
    ready.push({ status: r.status, body: JSON.stringify(r.json).slice(0, 400) });
    await sleep(3_000);
  }
  const callsDuring = allCalls(taps).filter((c) => c.at > at && c.at < Date.now()).length;
  await redis.restart();
  const end = Date.now();
  say('Redis started again (empty)');
  faults.push({
    kind: `Redis killed ${OUTAGE_MS / 1000} s`,
    at,
    endAt: end,
    landed: (clients ?? 0) > 0,
    evidence: `${clients} clients connected at the kill; ${callsDuring} platform/provider calls made while it was down`,
    recoveryMs: firstCallAfter(taps, at),
  });
  extra.readyDuringOutage = ready;
};

/** Per-call faults by the taps (5xx, 429, hang, drop): they run while the row's pipelines are busy. */
function tapInjector(kind: '5xx' | '429' | 'hang' | 'drop'): Injector {
  return async (stack, batch, faults, extra, t0) => {
    const { taps } = stack;
    const windowMs = kind === 'hang' ? 60_000 : 45_000;
    const start = Date.now();
    if (kind === '5xx') tapMode.p5xx = 0.3;
    if (kind === 'hang') for (const t of Object.keys(taps)) tapMode.hang.set(t, 2);
    if (kind === 'drop') for (const t of Object.keys(taps)) tapMode.drop.set(t, 3);
    while (Date.now() - start < windowMs && !batch.allTerminal() && Date.now() < hardDeadline - 60_000) {
      if (kind === '429') for (const t of Object.keys(taps)) tapMode.burst429.set(t, 3);
      await sleep(kind === '429' ? 10_000 : 1_000);
    }
    resetTapMode();
    // Hung calls still held when the window ends stay held: the caller must give up by itself.
    await waitUntil(() => allCalls(taps).every((c) => c.injected !== 'hang' || c.outcome !== 'open') || batch.allTerminal(), 180_000, 500);
    const rowCalls = allCalls(taps).filter((c) => c.at >= t0);
    if (kind === '5xx' || kind === '429') {
      // The tap armed the fake's own switch just before forwarding a call; with calls running side by side the armed
      // answer may go to a neighbouring call, so what landed is every answer the fake really served with that status.
      const armed = rowCalls.filter((c) => c.injected === kind).length;
      const served = rowCalls.filter((c) =>
        kind === '5xx' ? c.status !== null && c.status >= 500 : c.status === 429 || (c.tap === 'meta' && c.status === 400 && c.reply.includes('"code":80002')),
      );
      for (const c of served) {
        const at = c.endAt ?? c.at;
        faults.push({ kind: `${kind} from ${c.tap} ${c.method} ${c.path.split('?')[0]}`, at, endAt: at, landed: true, evidence: `served ${c.status}`, recoveryMs: null, pending: { call: c, lookup: false } });
      }
      // Armed switches whose answer never went out (none expected) count as injected, not landed.
      for (let i = served.length; i < armed; i++) faults.push({ kind: `${kind} armed`, at: Date.now(), endAt: Date.now(), landed: false, evidence: 'armed, not served', recoveryMs: null });
    } else {
      for (const c of rowCalls.filter((x) => x.injected === kind)) {
        const served = kind === 'hang' ? c.outcome === 'hung_abandoned' : c.outcome === 'dropped_by_tap';
        const at = kind === 'hang' ? c.at : (c.endAt ?? c.at);
        faults.push({
          kind: `${kind} on ${c.tap} ${c.method} ${c.path.split('?')[0]}`,
          at,
          endAt: c.endAt ?? at,
          landed: served,
          evidence:
            kind === 'hang'
              ? `held ${(((c.endAt ?? Date.now()) - c.at) / 1000).toFixed(1)} s until the caller ${c.outcome === 'hung_abandoned' ? 'gave up' : 'never gave up'}`
              : served
                ? `the fake answered ${c.status}; the caller's socket was destroyed`
                : `not dropped (${c.outcome} ${c.status})`,
          recoveryMs: null,
          // After a drop Herald looks the post up before sending anything again: the first later call on that
          // platform for the same work, or its first look-up (GET), is the retry starting.
          pending: served ? { call: c, lookup: kind === 'drop' } : undefined,
        });
      }
    }
    extra.heldOpenAtEnd = allCalls(taps).filter((c) => c.at >= t0 && c.injected === 'hang' && c.outcome === 'open').length;
  };
}

const INJECTORS: Record<ScenarioName, Injector> = {
  kill: killInjector,
  temporal: temporalInjector,
  postgres: postgresInjector,
  redis: redisInjector,
  '5xx': tapInjector('5xx'),
  '429': tapInjector('429'),
  hang: tapInjector('hang'),
  drop: tapInjector('drop'),
};

async function runScenario(stack: Stack, scenario: ScenarioName, firstRow: boolean): Promise<RowResult> {
  const t0 = Date.now();
  const exitsBefore = stack.workers.unexpectedExits.length;
  const api500Before = apiErrors500.length;
  say(`--- ${scenario}: ${PIPELINES} pipelines`);
  await waitUntil(() => stack.workers.slots.every((w) => w.readyAt !== null && stack.workers.alive(w)), 120_000);
  if (!firstRow) await stack.freshPlatforms();
  const batch = new Batch(stack, scenario);
  const submitting = batch.submitAll(PIPELINES);
  batch.startPolling();
  // Faults start once the row's pipelines are really working (a call to a provider or platform made for them).
  const mine = rowMarker(scenario);
  await waitUntil(() => allCalls(stack.taps).some((c) => c.at >= t0 && mine.test(c.body)), 90_000);
  const faults: FaultRecord[] = [];
  const extra: Record<string, unknown> = {};
  try {
    await INJECTORS[scenario](stack, batch, faults, extra, t0);
  } finally {
    resetTapMode();
    stack.fakes.text.control.recover();
  }
  await submitting;
  const faultEnd = Math.max(Date.now(), ...faults.map((f) => f.endAt));
  say(`${scenario}: faults over (${faults.length} injected); waiting for every pipeline to end (at most ${STUCK_AFTER_MS / 60_000} min)`);
  await waitUntil(() => batch.allTerminal(), Math.max(0, faultEnd + STUCK_AFTER_MS - Date.now()), 1_000);
  // One last fresh read of every state.
  await batch.stopPolling();
  for (const t of batch.tracked) {
    const r = await api(stack.baseUrl, 'GET', `/v1/pipelines/${t.id}`);
    if (r.status === 200) t.state = r.json;
  }

  // Kill recovery: each call the victim held, to the retry of the same work.
  for (const f of faults) {
    if (f.held) {
      const samples = f.held.map((c) => nextSameWork(stack.taps, c, f.at)).filter((x): x is number => x !== null);
      f.recoveryMs = samples.length ? Math.max(...samples) : null;
      delete f.held;
    }
    if (f.pending) {
      const { call, lookup } = f.pending;
      const at = call.injected === 'hang' ? call.at : (call.endAt ?? call.at);
      f.recoveryMs = minOf(nextSameWork(stack.taps, call, at), lookup ? nextLookup(stack.taps, call, at) : null);
      delete f.pending;
    }
  }
  const verdict = judge(stack.fakes, batch);
  try {
    const log = allCalls(stack.taps)
      .filter((c) => c.at >= t0)
      .sort((a, b) => a.at - b.at)
      .map((c) => ({
        t: ((c.at - t0) / 1000).toFixed(2),
        tap: c.tap,
        call: `${c.method} ${c.path.split('?')[0]}`,
        work: workKey(c),
        status: c.status,
        outcome: c.outcome,
        injected: c.injected,
        port: c.remotePort,
        ms: c.endAt ? c.endAt - c.at : null,
      }));
    fs.writeFileSync(path.join(RUN_DIR, `calls-${scenario}.json`), JSON.stringify({ faults, pipelines: batch.tracked.map((t) => ({ id: t.id, marker: t.marker, kind: t.kind, status: t.state?.status, publications: t.state?.publications?.map((p: any) => [p.platform, p.status, p.attempts, p.error]) })), calls: log }, null, 1));
  } catch {
    // the call log is for whoever investigates
  }
  const recoveries = faults.filter((f) => f.landed && f.recoveryMs !== null).map((f) => f.recoveryMs as number);
  const row: RowResult = {
    scenario,
    pipelines: verdict.pipelines,
    publications: verdict.publications,
    faultsInjected: faults.length,
    faultsLanded: faults.filter((f) => f.landed).length,
    lost: verdict.lost,
    doubled: verdict.doubled,
    stuck: verdict.stuck,
    failed: verdict.failed,
    webhookRedeliveries: verdict.redelivered,
    p95RecoveryS: p95(recoveries) === null ? null : Math.round(p95(recoveries)! / 100) / 10,
    maxRecoveryS: recoveries.length ? Math.round(Math.max(...recoveries) / 100) / 10 : null,
    recoverySamples: recoveries.length,
    wallS: Math.round((Date.now() - t0) / 1000),
    faults,
    notes: verdict.notes,
    extra: { ...extra, workerStartFailures: stack.workers.unexpectedExits.slice(exitsBefore).filter((e) => !e.wasPolling).length, submitFailures: batch.submitFailures, statuses: batch.tracked.reduce<Record<string, number>>((a, t) => ((a[t.state?.status ?? 'unknown'] = (a[t.state?.status ?? 'unknown'] ?? 0) + 1), a), {}) },
    workerUnexpectedExits: stack.workers.unexpectedExits.slice(exitsBefore).filter((e) => e.wasPolling).length,
    api500s: apiErrors500.slice(api500Before).filter((e) => e.status >= 500).length,
  };
  say(
    `${scenario}: ${row.pipelines} pipelines, ${row.faultsInjected} faults (${row.faultsLanded} landed), lost ${row.lost}, doubled ${row.doubled}, stuck ${row.stuck}, failed ${row.failed}, p95 recovery ${row.p95RecoveryS ?? '-'} s`,
  );
  for (const n of verdict.notes.slice(0, 20)) say(`  ${n}`);
  return row;
}

// --- main ------------------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  say(`rows: ${ONLY.join(', ')}; ${PIPELINES} pipelines each; stops by itself within ${LIMIT_MS / 60_000} min`);
  const hardStop = setTimeout(() => {
    say(`the run reached its ${LIMIT_MS / 60_000}-minute limit: stopping everything`);
    killEverything();
    process.exit(3);
  }, LIMIT_MS + 60_000);
  hardStop.unref();

  const { stack, cleanup } = await startStack();
  const rows: RowResult[] = [];
  const skipped: string[] = [];
  try {
    for (const s of ONLY) {
      if (Date.now() > hardDeadline - 3 * 60_000) {
        skipped.push(s);
        continue;
      }
      rows.push(await runScenario(stack, s, rows.length === 0));
    }
  } finally {
    await cleanup();
  }

  const headers = ['scenario', 'pipelines', 'faults injected', 'landed mid-call', 'lost', 'doubled', 'stuck after 5 min', 'p95 recovery (s)', 'failed pubs', 'worker crashes'];
  const table: Cell[][] = rows.map((r) => [r.scenario, r.pipelines, r.faultsInjected, r.faultsLanded, r.lost, r.doubled, r.stuck, r.p95RecoveryS, r.failed, r.workerUnexpectedExits]);
  printTable('Fault matrix (0 lost, 0 doubled, 0 stuck is the promise)', headers, table);
  const md = markdownTable(headers, table);
  console.log(`\n${md}\n`);
  if (skipped.length) say(`skipped for lack of time: ${skipped.join(', ')}`);
  const file = writeResults('faults', {
    command: `npm run bench -- faults ${process.argv.slice(2).join(' ')}`.trim(),
    settings: { pipelinesPerRow: PIPELINES, submitSpacingMs: SUBMIT_SPACING_MS, outageMs: OUTAGE_MS, temporalDownMs: TEMPORAL_DOWN_MS, maxKills: MAX_KILLS, tapLatencyMs: TAP_LATENCY_MS, stuckAfterMs: STUCK_AFTER_MS },
    wallSeconds: Math.round((Date.now() - t00) / 1000),
    rows,
    skipped,
    markdown: md,
    api: { statuses: Object.fromEntries(apiStatuses), errors500: apiErrors500.filter((e) => e.status >= 500).slice(0, 50), unanswered: apiErrors500.filter((e) => e.status === 0).slice(0, 50) },
    workerUnexpectedExits: stack.workers.unexpectedExits,
  });
  say(`results: ${path.relative(ROOT, file)}; logs: ${path.relative(ROOT, RUN_DIR)}`);
  const bad = rows.some((r) => r.lost > 0 || r.doubled > 0 || r.stuck > 0);
  return bad ? 1 : 0;
}

main().then(
  (code) => {
    killEverything();
    process.exit(code);
  },
  (err) => {
    console.error(`faults bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    killEverything();
    process.exit(2);
  },
);
