// Exactly once under fire: 50 pipelines publish to X, Mastodon, Bluesky and LinkedIn (the imitation servers) while
// worker PROCESSES are killed with SIGKILL at random moments and replaced, and the platforms now and then store a post
// and drop the connection before answering (the unknown outcome). Every publication must end `published`, and each
// platform must hold every pipeline's post exactly once: none lost, none doubled.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { escapeLittleText } from '../../src/providers/publishers/linkedin';
import { joinParts } from '../../src/providers/publishers/common';
import { startBlueskyFake, type BlueskyFake } from '../fakes/bluesky-server';
import { startLinkedInFake, type LinkedInFake } from '../fakes/linkedin-server';
import { startMastodonFake, type MastodonFake } from '../fakes/mastodon-server';
import type { SocialFakeBase, SocialPost } from '../fakes/social-fake-control';
import { startXFake, type XFake } from '../fakes/x-server';
import { ROOT, TEST_DATA_DIR, temporalAddress, testDatabaseUrl } from '../helpers/env';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../helpers/harness';

jest.setTimeout(420_000);

const PIPELINES = 50;
const WORKERS = 2;
const MAX_KILLS = 10;
/** Drops (acceptThenDrop) per platform during the run. */
const DROPS_PER_PLATFORM = 3;
/** Submissions are spread out so the kills land in every phase of some pipeline. */
const SUBMIT_SPACING_MS = 250;
/** Every platform answer waits this long: posts are in flight when a worker dies. */
const PLATFORM_LATENCY_MS = 150;
/** How long all pipelines get to end (a killed publish is retried after its 1-minute start-to-close timeout). */
const WAIT_MS = 5 * 60_000;
const TERMINAL = ['published', 'partially_published', 'failed', 'cancelled', 'rejected', 'expired'];
const PLATFORMS = ['x', 'mastodon', 'bluesky', 'linkedin'] as const;
type P = (typeof PLATFORMS)[number];

const LOG_DIR = path.join(TEST_DATA_DIR, 'exactly-once-kill');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let h: Harness;
let x: XFake;
let mastodon: MastodonFake;
let bluesky: BlueskyFake;
let linkedin: LinkedInFake;
const fakes = (): Record<P, SocialFakeBase> => ({ x, mastodon, bluesky, linkedin });

// ---------------------------------------------------------------------------------------------
// Worker processes

interface WorkerProc {
  n: number;
  child: ChildProcess;
  startedAt: number;
  readyAt: number | null;
  exited: Promise<void>;
  output: string;
}
const procs: WorkerProc[] = [];
let slots: WorkerProc[] = [];

function workerEnv(): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    DATABASE_URL: testDatabaseUrl(),
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: h.taskQueue,
    TOKEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    PUBLIC_BASE_URL: h.baseUrl,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    TEXT_PROVIDERS: 'offline',
    IMAGE_SOURCES: 'card',
    X_API_BASE_URL: x.url,
    X_CLIENT_ID: x.clientId,
    LINKEDIN_API_BASE_URL: linkedin.url,
    LINKEDIN_CLIENT_ID: linkedin.clientId,
    LINKEDIN_CLIENT_SECRET: linkedin.clientSecret,
    LINKEDIN_OAUTH_BASE_URL: linkedin.url,
    BLUESKY_SERVICE_URL: bluesky.url,
  };
}

function startWorkerProcess(): WorkerProc {
  const n = procs.length + 1;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], { cwd: ROOT, env: workerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: WorkerProc = {
    n,
    child,
    startedAt: Date.now(),
    readyAt: null,
    output: '',
    exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
  };
  const onData = (d: Buffer) => {
    const text = d.toString();
    proc.output += text;
    if (proc.readyAt === null && text.includes('worker polling')) proc.readyAt = Date.now();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  procs.push(proc);
  return proc;
}

const alive = (p: WorkerProc) => p.child.exitCode === null && p.child.signalCode === null;

async function waitReady(ps: WorkerProc[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = ps.find((p) => !alive(p));
    if (dead) throw new Error(`worker ${dead.n} exited while starting:\n${dead.output.slice(-3000)}`);
    if (ps.every((p) => p.readyAt !== null)) return;
    await sleep(200);
  }
  throw new Error(`workers did not start polling within ${timeoutMs} ms:\n${ps.map((p) => p.output.slice(-1500)).join('\n---\n')}`);
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  mkdirSync(LOG_DIR, { recursive: true });
  [x, mastodon, bluesky, linkedin] = await Promise.all([startXFake(), startMastodonFake(), startBlueskyFake(), startLinkedInFake()]);
  for (const f of Object.values(fakes())) f.slow(PLATFORM_LATENCY_MS);
  h = await startHarness({
    withWorker: false,
    env: {
      TEXT_PROVIDERS: 'offline',
      IMAGE_SOURCES: 'card',
      X_API_BASE_URL: x.url,
      X_CLIENT_ID: x.clientId,
      LINKEDIN_API_BASE_URL: linkedin.url,
      BLUESKY_SERVICE_URL: bluesky.url,
    },
  });
  slots = Array.from({ length: WORKERS }, () => startWorkerProcess());
  await waitReady(slots, 90_000);
});

afterAll(async () => {
  for (const p of procs) if (alive(p)) p.child.kill('SIGKILL');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => (timer = setTimeout(r, 5_000)))]);
  clearTimeout(timer);
  try {
    for (const p of procs) writeFileSync(path.join(LOG_DIR, `worker-${p.n}.log`), p.output);
  } catch {
    // Logs are a convenience for whoever investigates a failure.
  }
  await h?.stop();
  await Promise.all([x?.close(), mastodon?.close(), bluesky?.close(), linkedin?.close()]);
});

async function connectAccounts(): Promise<Record<P, string>> {
  const far = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const xt = x.issueTokens();
  const bt = bluesky.issueTokens();
  const lt = linkedin.issueTokens();
  const bodies: Record<P, unknown> = {
    x: {
      platform: 'x',
      handle: x.user.username,
      credentials: { accessToken: xt.accessToken, refreshToken: xt.refreshToken },
      settings: { userId: x.user.id, username: x.user.username },
      expiresAt: far,
    },
    mastodon: {
      platform: 'mastodon',
      handle: mastodon.account.acct,
      credentials: { accessToken: mastodon.issueTokens().accessToken },
      settings: { instanceUrl: mastodon.url },
    },
    bluesky: {
      platform: 'bluesky',
      handle: bluesky.account.handle,
      credentials: { accessJwt: bt.accessJwt, refreshJwt: bt.refreshJwt, did: bluesky.account.did },
      settings: { did: bluesky.account.did },
      expiresAt: far,
    },
    linkedin: {
      platform: 'linkedin',
      handle: linkedin.member.name,
      credentials: { accessToken: lt.accessToken, refreshToken: lt.refreshToken },
      settings: { personId: linkedin.member.id },
      expiresAt: far,
    },
  };
  const ids = {} as Record<P, string>;
  for (const p of PLATFORMS) {
    const res = await h.api('POST', '/v1/accounts', bodies[p]);
    expect(res.status).toBe(201);
    ids[p] = res.body.id;
  }
  return ids;
}

/** What the platform must have received for a variant: one post per part, LinkedIn one post of the joined parts. */
function expectedPosts(platform: P, parts: string[]): string[] {
  return platform === 'linkedin' ? [escapeLittleText(joinParts(parts))] : parts;
}

it('every publication ends published exactly once while workers are killed and connections drop', async () => {
  const t0 = Date.now();
  const accounts = await connectAccounts();
  const run = Math.random().toString(36).slice(2, 6);
  const ids: string[] = [];
  const states = new Map<string, any>();
  let submitting = true;
  const finished = () => !submitting && ids.every((id) => TERMINAL.includes(states.get(id)?.status));
  const totalPosts = () => PLATFORMS.reduce((n, p) => n + fakes()[p].posts.length, 0);

  // Submissions, spread out.
  const submitter = (async () => {
    try {
      for (let i = 0; i < PIPELINES; i++) {
        const res = await h.api('POST', '/v1/pipelines', {
          topic: `Exactly-once drill ${run} item ${i}`,
          format: 'post',
          targets: PLATFORMS.map((p) => ({ platform: p, accountId: accounts[p] })),
          image: { mode: 'none' },
          cache: false,
        });
        if (res.status !== 202) throw new Error(`submit ${i}: ${res.status} ${JSON.stringify(res.body)}`);
        ids.push(res.body.id);
        await sleep(SUBMIT_SPACING_MS);
      }
    } finally {
      submitting = false;
    }
  })();

  // The killer: once posts flow, every 1-3 s a random running worker gets SIGKILL and a replacement starts at once.
  const kills: { at: number; worker: number; uptimeMs: number; postsSoFar: number }[] = [];
  const killer = (async () => {
    while (totalPosts() === 0 && !finished() && Date.now() - t0 < 60_000) await sleep(100);
    while (kills.length < MAX_KILLS && !finished()) {
      await sleep(1_000 + Math.random() * 2_000);
      if (finished()) break;
      const running = slots.filter((p) => alive(p) && p.readyAt !== null);
      if (running.length === 0) continue;
      const victim = running[Math.floor(Math.random() * running.length)];
      victim.child.kill('SIGKILL');
      kills.push({ at: Date.now() - t0, worker: victim.n, uptimeMs: Date.now() - (victim.readyAt ?? victim.startedAt), postsSoFar: totalPosts() });
      slots = slots.map((p) => (p === victim ? startWorkerProcess() : p));
    }
  })();

  // The unknown outcome: a platform stores the next post and drops the connection.
  const drops: { platform: P; at: number; postsBefore: number }[] = [];
  const dropper = (async () => {
    while (totalPosts() === 0 && !finished() && Date.now() - t0 < 60_000) await sleep(100);
    for (let k = 0; k < DROPS_PER_PLATFORM * PLATFORMS.length && !finished(); k++) {
      await sleep(500 + Math.random() * 1_500);
      const platform = PLATFORMS[k % PLATFORMS.length];
      // Only while this platform still has posts to come, so the drop is used.
      if (fakes()[platform].posts.length >= PIPELINES) continue;
      drops.push({ platform, at: Date.now() - t0, postsBefore: fakes()[platform].posts.length });
      fakes()[platform].acceptThenDrop(1);
    }
  })();

  // Progress: every pipeline's state until all have ended, bounded.
  const deadline = Date.now() + WAIT_MS;
  while (!finished() && Date.now() < deadline) {
    await sleep(2_000);
    for (const id of [...ids]) {
      if (TERMINAL.includes(states.get(id)?.status)) continue;
      const res = await h.api('GET', `/v1/pipelines/${id}`);
      if (res.status === 200) states.set(id, res.body);
    }
  }
  await Promise.all([submitter, killer, dropper]);
  const wallMs = Date.now() - t0;

  // ---- Evidence ---------------------------------------------------------------------------
  const all = ids.map((id) => states.get(id));
  const stuck = all.filter((s) => !TERMINAL.includes(s?.status));
  const notPublished = all.filter((s) => s?.status !== 'published');
  const pubs = all.flatMap((s) => (s?.publications ?? []).map((p: any) => ({ ...p, pipeline: s.id, topic: s.request?.topic })));
  const retried = pubs.filter((p) => p.attempts > 1);
  const itemOf = (text: string) => /item (\d+)\b/.exec(text)?.[1];

  // Expected texts per platform, from each pipeline's own variants.
  const problems: string[] = [];
  const perPlatform: Record<string, unknown> = {};
  for (const platform of PLATFORMS) {
    const posts: SocialPost[] = fakes()[platform].posts;
    const byText = new Map<string, SocialPost[]>();
    for (const post of posts) byText.set(post.text, [...(byText.get(post.text) ?? []), post]);
    let expectedCount = 0;
    for (const s of all) {
      if (!s?.variants) {
        problems.push(`${s?.id}: no variants (status ${s?.status})`);
        continue;
      }
      const variant = s.variants.find((v: any) => v.platform === platform);
      const texts = expectedPosts(platform, variant.parts);
      expectedCount += texts.length;
      texts.forEach((text, k) => {
        const found = byText.get(text) ?? [];
        if (found.length !== 1) problems.push(`${platform}: ${s.request.topic} part ${k + 1} is on the platform ${found.length} times`);
      });
      const pub = s.publications.find((p: any) => p.platform === platform);
      const first = byText.get(texts[0]) ?? [];
      if (pub?.status === 'published' && first.length > 0 && !first.some((p) => p.id === pub.externalId)) {
        problems.push(`${platform}: ${s.request.topic} externalId ${pub.externalId} is not the post on the platform (${first.map((p) => p.id).join(', ')})`);
      }
    }
    const doubled = [...byText.values()].filter((v) => v.length > 1);
    const items = posts.map((p) => itemOf(p.text));
    perPlatform[platform] = {
      posts: posts.length,
      expected: expectedCount,
      distinctTexts: byText.size,
      doubled: doubled.length,
      distinctItems: new Set(items).size,
      postRequests: fakes()[platform].requests.filter((r) => r.method === 'POST' && /\/2\/tweets$|\/api\/v1\/statuses$|createRecord$|\/rest\/posts$/.test(r.path)).length,
    };
    if (posts.length !== expectedCount) problems.push(`${platform}: ${posts.length} posts, expected ${expectedCount}`);
    for (const d of doubled) problems.push(`${platform}: posted ${d.length} times: ${JSON.stringify(d[0].text.slice(0, 80))} (ids ${d.map((p) => p.id).join(', ')})`);
  }

  const summary = {
    wallSeconds: Math.round(wallMs / 1000),
    pipelines: ids.length,
    statuses: all.reduce<Record<string, number>>((acc, s) => ((acc[s?.status ?? 'unknown'] = (acc[s?.status ?? 'unknown'] ?? 0) + 1), acc), {}),
    kills: kills.length,
    killLog: kills.map((k) => `t+${(k.at / 1000).toFixed(1)}s worker ${k.worker} (up ${(k.uptimeMs / 1000).toFixed(1)}s, ${k.postsSoFar} posts so far)`),
    workersStarted: procs.length,
    drops: drops.map((d) => `${d.platform}@t+${(d.at / 1000).toFixed(1)}s used=${fakes()[d.platform].posts.length > d.postsBefore}`),
    perPlatform,
    slowestPipelinesSeconds: all
      .map((s) => (Date.parse(s?.updatedAt) - Date.parse(s?.createdAt)) / 1000)
      .filter((d) => Number.isFinite(d))
      .sort((a, b) => b - a)
      .slice(0, 3)
      .map((d) => Math.round(d)),
    maxAttempts: Math.max(0, ...pubs.map((p) => p.attempts ?? 0)),
    publicationsRetried: retried.length,
    retriedByPlatform: PLATFORMS.map((p) => `${p}: ${retried.filter((r) => r.platform === p).length}`).join(', '),
  };
  console.log(`exactly-once under kill -9: ${JSON.stringify(summary, null, 2)}`);
  if (notPublished.length > 0 || problems.length > 0) {
    console.log(
      `not published:\n${notPublished
        .map((s) => `${s?.id} ${s?.status} ${s?.request?.topic}: ${JSON.stringify((s?.publications ?? []).filter((p: any) => p.status !== 'published').map((p: any) => [p.platform, p.status, p.attempts, p.error]))}`)
        .join('\n')}\nproblems:\n${problems.join('\n')}`,
    );
    // How each failed publication went on its platform: every post request carrying its text, and how many newer
    // posts the account had by the time of the last one (what a "recent posts" lookup has to search through).
    for (const s of notPublished) {
      for (const pub of (s?.publications ?? []).filter((p: any) => p.status !== 'published')) {
        const platform = pub.platform as P;
        const fake = fakes()[platform];
        const variant = s.variants?.find((v: any) => v.platform === platform);
        if (!variant) continue;
        const text = expectedPosts(platform, variant.parts)[0];
        const needle = JSON.stringify(text).slice(1, -1);
        const mine = fake.requests.filter((r) => r.method === 'POST' && r.raw.toString('utf8').includes(needle));
        const stored = fake.posts.find((p) => p.text === text);
        const last = mine[mine.length - 1];
        const newer = stored && last ? fake.posts.filter((p) => p.at > stored.at && p.at <= last.at).length : null;
        const lookups = last ? fake.requests.filter((r) => r.method === 'GET' && r.at >= last.at && r.at <= last.at + 5_000).map((r) => `${r.path}?${r.query}`) : [];
        console.log(
          `${platform} ${s.request.topic}: post requests at ${mine.map((r) => `t+${((r.at - t0) / 1000).toFixed(1)}s`).join(', ')}; ` +
            `stored once at t+${stored ? ((stored.at - t0) / 1000).toFixed(1) : '?'}s as ${stored?.id}; ${newer} newer posts on the account by the last request; ` +
            `lookups after it: ${JSON.stringify(lookups)}`,
        );
      }
    }
  }

  expect(stuck.map((s) => `${s?.id}: ${s?.status}`)).toEqual([]);
  expect(notPublished.map((s) => `${s?.id} ${s?.status}: ${JSON.stringify(s?.publications?.map((p: any) => [p.platform, p.status, p.error]))}`)).toEqual([]);
  for (const p of pubs) {
    expect(p.status).toBe('published');
    expect(p.externalId).toEqual(expect.any(String));
  }
  expect(problems).toEqual([]);
  for (const platform of PLATFORMS) expect(fakes()[platform].posts).toHaveLength(PIPELINES);
  expect(kills.length).toBeGreaterThan(0);
});
