// Exactly once under fire: 50 pipelines publish to X, Mastodon, Bluesky and LinkedIn (the imitation servers) while
// worker PROCESSES are killed with SIGKILL and replaced (half at random moments, half aimed at a worker whose post the
// platform has just stored but not yet answered), and the platforms now and then store a post and drop the connection
// before answering (the unknown outcome). The platforms' own duplicate refusals are OFF (X's 403, LinkedIn's 422,
// Mastodon's Idempotency-Key): only Herald's reconciliation stands between a retry and a double. Every publication
// must end `published`, and each platform must hold every pipeline's post exactly once: none lost, none doubled. The
// faults are shown to have landed, and no secret appears in any process's output. The two workers share a Redis of the
// test's own, as more than one worker must (README): limits, breakers and the publication lease that keeps a second
// attempt of a publication from posting while the first, late with its heartbeats, may still be posting.
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { startBlueskyFake, type BlueskyFake } from '../fakes/bluesky-server';
import { littleTextToPlain, startLinkedInFake, type LinkedInFake } from '../fakes/linkedin-server';
import { startMastodonFake, type MastodonFake } from '../fakes/mastodon-server';
import type { SocialFakeBase, SocialPost, SocialRequest } from '../fakes/social-fake-control';
import { startXFake, type XFake } from '../fakes/x-server';
import { ROOT, TEST_DATA_DIR } from '../helpers/env';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../helpers/harness';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis';
import { describeFindings, SecretScan } from '../helpers/secret-scan';
import { alive, harnessWorkerEnv, spawnWorkerProcess, stopWorkerProcesses, waitReady, type WorkerProc } from '../helpers/worker-process';

jest.setTimeout(420_000);

const PIPELINES = 50;
const WORKERS = 2;
const MAX_KILLS = 10;
/** Drops (acceptThenDrop) per platform during the run. */
const DROPS_PER_PLATFORM = 3;
/** Submissions are spread out so the kills land in every phase of some pipeline. */
const SUBMIT_SPACING_MS = 250;
/** Every platform request waits this long before it is handled... */
const PLATFORM_LATENCY_MS = 50;
/** ...and this long after (a post is stored, its answer not sent yet): posts are in flight when a worker dies. */
const PLATFORM_ANSWER_LATENCY_MS = 200;
/** How long an aimed kill waits for a stored, unanswered post before it kills at random instead. */
const AIM_WINDOW_MS = 15_000;
/** The first kills are aimed, then every other one. */
const FIRST_AIMED_KILLS = 3;
/** How long all pipelines get to end (a killed publish is retried after its 8 s heartbeat timeout; the rest is the load of the kills and restarts). */
const WAIT_MS = 5 * 60_000;
const TERMINAL = ['published', 'partially_published', 'failed', 'cancelled', 'rejected', 'expired'];
const PLATFORMS = ['x', 'mastodon', 'bluesky', 'linkedin'] as const;
type P = (typeof PLATFORMS)[number];

const LOG_DIR = path.join(TEST_DATA_DIR, 'exactly-once-kill');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let h: Harness;
let redis: PrivateRedis;
let x: XFake;
let mastodon: MastodonFake;
let bluesky: BlueskyFake;
let linkedin: LinkedInFake;
const fakes = (): Record<P, SocialFakeBase> => ({ x, mastodon, bluesky, linkedin });

// ---------------------------------------------------------------------------------------------
// Worker processes

const procs: WorkerProc[] = [];
let slots: WorkerProc[] = [];
const scan = new SecretScan();

function workerEnv(): Record<string, string> {
  return harnessWorkerEnv(h, TEST_ENCRYPTION_KEY, {
    X_API_BASE_URL: x.url,
    X_CLIENT_ID: x.clientId,
    LINKEDIN_API_BASE_URL: linkedin.url,
    LINKEDIN_CLIENT_ID: linkedin.clientId,
    LINKEDIN_CLIENT_SECRET: linkedin.clientSecret,
    LINKEDIN_OAUTH_BASE_URL: linkedin.url,
    BLUESKY_SERVICE_URL: bluesky.url,
    REDIS_URL: redis.url,
  });
}

function startWorkerProcess(): WorkerProc {
  const proc = spawnWorkerProcess(procs.length + 1, workerEnv());
  procs.push(proc);
  return proc;
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  mkdirSync(LOG_DIR, { recursive: true });
  [x, mastodon, bluesky, linkedin] = await Promise.all([startXFake(), startMastodonFake(), startBlueskyFake(), startLinkedInFake()]);
  redis = await startPrivateRedis();
  for (const f of Object.values(fakes())) {
    f.slow(PLATFORM_LATENCY_MS);
    f.slowAnswer(PLATFORM_ANSWER_LATENCY_MS);
    // The platforms' own refusal of a repeat is off: what prevents a double must be Herald's reconciliation.
    f.detectDuplicates(false);
  }
  h = await startHarness({
    withWorker: false,
    env: {
      LOG_LEVEL: 'info', // the API's lines too are searched for secrets
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
  // Every process's output is searched for secrets at the end: the API and its in-process parts, every worker child
  // (killed ones included), and the Temporal dev server's log.
  scan.source('api', () => h.logs);
  scan.source('workers', () => procs.map((p) => p.output));
  scan.file(path.join(ROOT, '.data', 'temporal-test.log'));
  scan.add('encryption key', TEST_ENCRYPTION_KEY.toString('base64'));
  scan.add('api key a', h.keys.a).add('api key b', h.keys.b);
  scan.add('linkedin client secret', linkedin.clientSecret);
});

afterAll(async () => {
  await stopWorkerProcesses(procs, LOG_DIR);
  await h?.stop();
  await Promise.all([x?.close(), mastodon?.close(), bluesky?.close(), linkedin?.close()]);
  await redis?.stop();
});

interface AccountBody {
  platform: P;
  handle: string;
  credentials: Record<string, string>;
  settings: Record<string, string>;
  expiresAt?: string;
}
/** What connectAccounts sent (the tokens). */
let connected: Record<P, AccountBody>;

async function connectAccounts(): Promise<Record<P, string>> {
  const far = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const xt = x.issueTokens();
  const bt = bluesky.issueTokens();
  const lt = linkedin.issueTokens();
  const bodies: Record<P, AccountBody> = {
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
  // A Bluesky DID names the account (it is in every post's URI): no secret.
  for (const p of PLATFORMS) scan.addAll(`${p} credentials`, bodies[p].credentials, { public: ['did', 'identifier'] });
  connected = bodies;
  const ids = {} as Record<P, string>;
  for (const p of PLATFORMS) {
    const res = await h.api('POST', '/v1/accounts', bodies[p]);
    expect(res.status).toBe(201);
    ids[p] = res.body.id;
  }
  return ids;
}

/**
 * What a reader sees of a stored post: the text as sent, except on LinkedIn, whose "little text" commentary shows
 * with its backslash escapes resolved and cut at the first reserved character left unescaped (the fake's model of
 * LinkedIn, not Herald's escaping).
 */
function shown(platform: P, post: SocialPost): string {
  return platform === 'linkedin' ? littleTextToPlain(post.text) : post.text;
}

/** What each platform must show for a variant: one post per part (LinkedIn, which has no threads: its one part). */
function expectedPosts(platform: P, parts: string[]): string[] {
  if (platform === 'linkedin' && parts.length !== 1) throw new Error(`a LinkedIn variant has ${parts.length} parts, expected 1`);
  return parts;
}

/** The request that creates a post on each platform. */
const PUBLISH_PATH: Record<P, RegExp> = {
  x: /^\/2\/tweets$/,
  mastodon: /^\/api\/v1\/statuses$/,
  bluesky: /\/com\.atproto\.repo\.createRecord$/,
  linkedin: /^\/rest\/posts$/,
};
/** The requests a reconciling client looks with: recent posts, a record by its key. */
const LOOKUP_PATH: Record<P, RegExp> = {
  x: /^\/2\/users\/[^/]+\/tweets$/,
  mastodon: /^\/api\/v1\/accounts\/[^/]+\/statuses$/,
  bluesky: /\/com\.atproto\.repo\.(getRecord|listRecords)$/,
  linkedin: /^\/rest\/posts$/,
};
const publishRequests = (platform: P): SocialRequest[] => fakes()[platform].requests.filter((r) => r.method === 'POST' && PUBLISH_PATH[platform].test(r.path));

/** Which of `pids` holds the client end of a TCP connection from 127.0.0.1:`clientPort` to 127.0.0.1:`serverPort`. */
function ownerOfConnection(clientPort: number, serverPort: number, pids: number[]): number | undefined {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  let inode: string | undefined;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      if (cols[1].endsWith(`:${hex(clientPort)}`) && cols[2].endsWith(`:${hex(serverPort)}`)) inode = cols[9];
    }
    if (inode) break;
  }
  if (!inode || inode === '0') return undefined;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
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

  // The killer: once posts flow, every 1-3 s a worker gets SIGKILL and a replacement starts at once. Every other kill
  // is aimed: it waits for a post the platform has stored but not yet answered and kills the worker holding that
  // connection (found through /proc), so some kills certainly land between a post and its answer.
  const kills: { at: number; atMs: number; worker: number; uptimeMs: number; postsSoFar: number; aimedAt?: { platform: P; request: SocialRequest } }[] = [];
  const port = (f: SocialFakeBase) => Number(new URL(f.url).port);
  const findAim = (): { victim: WorkerProc; platform: P; request: SocialRequest } | undefined => {
    const running = slots.filter((p) => alive(p) && p.readyAt !== null);
    for (const platform of PLATFORMS) {
      for (const request of publishRequests(platform)) {
        if (request.outcome || request.stored.length === 0 || request.remotePort === undefined) continue;
        const pid = ownerOfConnection(request.remotePort, port(fakes()[platform]), running.map((p) => p.child.pid!));
        const victim = running.find((p) => p.child.pid === pid);
        if (victim) return { victim, platform, request };
      }
    }
    return undefined;
  };
  const killer = (async () => {
    while (totalPosts() === 0 && !finished() && Date.now() - t0 < 60_000) await sleep(100);
    while (kills.length < MAX_KILLS && !finished()) {
      await sleep(1_000 + Math.random() * 2_000);
      // Kill working workers: wait (bounded) until the replacements of earlier kills poll.
      const readyBy = Date.now() + 30_000;
      while (!finished() && Date.now() < readyBy && slots.some((p) => p.readyAt === null && alive(p))) await sleep(100);
      if (finished()) break;
      let aim: ReturnType<typeof findAim>;
      if (kills.length < FIRST_AIMED_KILLS || kills.length % 2 === 0) {
        const until = Date.now() + AIM_WINDOW_MS;
        while (!aim && Date.now() < until && !finished()) {
          aim = findAim();
          if (!aim) await sleep(10);
        }
      }
      const running = slots.filter((p) => alive(p) && p.readyAt !== null);
      if (running.length === 0) continue;
      const victim = aim?.victim ?? running[Math.floor(Math.random() * running.length)];
      victim.child.kill('SIGKILL');
      kills.push({
        atMs: Date.now(),
        at: Date.now() - t0,
        worker: victim.n,
        uptimeMs: Date.now() - (victim.readyAt ?? victim.startedAt),
        postsSoFar: totalPosts(),
        aimedAt: aim ? { platform: aim.platform, request: aim.request } : undefined,
      });
      slots = slots.map((p) => (p === victim ? startWorkerProcess() : p));
    }
  })();

  // The unknown outcome: a platform stores the next post and drops the connection.
  const drops: { platform: P; at: number; postsBefore: number }[] = [];
  const echoes: P[] = [];
  const dropper = (async () => {
    while (totalPosts() === 0 && !finished() && Date.now() - t0 < 60_000) await sleep(100);
    // A platform that echoes the caller's token in a 5xx: the workers' own lines about the failed attempt (their
    // Temporal SDK logs the activity's error) must not carry it.
    for (const platform of ['x', 'mastodon'] as const) {
      const token = connected[platform].credentials.accessToken;
      fakes()[platform].respondNext({ status: 503, body: { error: `upstream rejected ${token}`, detail: `upstream rejected ${token}` } });
      echoes.push(platform);
    }
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

  // Doubles are counted by what a reader sees: the same content twice is a double, whatever the ids.
  const byShown = (platform: P): Map<string, SocialPost[]> => {
    const m = new Map<string, SocialPost[]>();
    for (const post of fakes()[platform].posts) m.set(shown(platform, post), [...(m.get(shown(platform, post)) ?? []), post]);
    return m;
  };
  // Expected texts per platform, from each pipeline's own variants.
  const problems: string[] = [];
  const perPlatform: Record<string, unknown> = {};
  for (const platform of PLATFORMS) {
    const posts: SocialPost[] = fakes()[platform].posts;
    const byText = byShown(platform);
    let expectedCount = 0;
    for (const s of all) {
      if (!s?.variants) {
        problems.push(`${s?.id}: no variants (status ${s?.status})`);
        continue;
      }
      const variant = s.variants.find((v: any) => v.platform === platform);
      // A pipeline that has not got this far (still generating when the wait ran out) is reported, not crashed on.
      if (!variant) {
        problems.push(`${s.id}: no ${platform} variant (status ${s.status})`);
        continue;
      }
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
      postRequests: publishRequests(platform).length,
    };
    if (posts.length !== expectedCount) problems.push(`${platform}: ${posts.length} posts, expected ${expectedCount}`);
    for (const d of doubled) problems.push(`${platform}: posted ${d.length} times: ${JSON.stringify(d[0].text.slice(0, 80))} (ids ${d.map((p) => p.id).join(', ')})`);
  }

  // ---- The faults landed ---------------------------------------------------------------------
  const publishOrAny503 = (platform: P) => fakes()[platform].requests.filter((r) => r.outcome?.kind === 'answered' && r.outcome.status === 503).length;
  // An aimed kill landed when its worker was dead before the platform's answer was written: the connection was
  // seen to go (client gone), or the answer went out only after the SIGKILL (into a dead process's socket).
  const landedBeforeAnswer = (k: (typeof kills)[number]) =>
    k.aimedAt !== undefined && (k.aimedAt.request.outcome?.kind === 'client-gone' || (k.aimedAt.request.outcome !== undefined && k.aimedAt.request.outcome.at >= k.atMs));
  const aimedLanded = kills.filter(landedBeforeAnswer);
  const killedRequests = new Set<SocialRequest>(aimedLanded.map((k) => k.aimedAt!.request));
  // A post request the platform stored whose answer never reached Herald: the worker died holding it, or the
  // platform dropped the connection. Each is an unknown outcome Herald must reconcile.
  const unknownOutcomes = PLATFORMS.flatMap((platform) =>
    publishRequests(platform)
      .filter((r) => r.stored.length > 0 && (r.outcome?.kind === 'client-gone' || r.outcome?.kind === 'dropped' || killedRequests.has(r)))
      .map((r) => ({ platform, request: r, postId: r.stored[0] })),
  );
  const killedMidPublish = PLATFORMS.flatMap((platform) =>
    publishRequests(platform)
      .filter((r) => r.outcome?.kind === 'client-gone' || killedRequests.has(r))
      .map((r) => ({ platform, r })),
  );
  const killedAfterStore = unknownOutcomes.filter((u) => u.request.outcome?.kind !== 'dropped');
  const dropsUsed = unknownOutcomes.filter((u) => u.request.outcome?.kind === 'dropped');
  // Reconciled: the post of an unknown outcome is on the platform once, and its publication (retried) took it as its
  // own after looking for it, instead of posting again.
  const pubOf = (platform: P, postId: string) => pubs.find((p) => p.platform === platform && p.externalId === postId);
  const lookupsAfter = (platform: P, at: number) => fakes()[platform].requests.filter((r) => r.method === 'GET' && LOOKUP_PATH[platform].test(r.path) && r.at > at).length;
  const reconciled = unknownOutcomes.filter((u) => {
    const post = fakes()[u.platform].posts.find((p) => p.id === u.postId);
    const pub = pubOf(u.platform, u.postId);
    return post && (byShown(u.platform).get(shown(u.platform, post))?.length ?? 0) === 1 && pub && pub.attempts > 1 && lookupsAfter(u.platform, u.request.at) > 0;
  });
  for (const u of unknownOutcomes) {
    if (!reconciled.includes(u)) {
      const pub = pubOf(u.platform, u.postId);
      problems.push(`${u.platform}: post ${u.postId} stored without an answer (${u.request.outcome?.kind}) was not reconciled: publication ${pub ? `attempts ${pub.attempts}, externalId ${pub.externalId}` : 'with another externalId'}`);
    }
  }

  const secretFindings = scan.findings();
  const summary = {
    wallSeconds: Math.round(wallMs / 1000),
    pipelines: ids.length,
    statuses: all.reduce<Record<string, number>>((acc, s) => ((acc[s?.status ?? 'unknown'] = (acc[s?.status ?? 'unknown'] ?? 0) + 1), acc), {}),
    kills: kills.length,
    killLog: kills.map((k) => `t+${(k.at / 1000).toFixed(1)}s worker ${k.worker} (up ${(k.uptimeMs / 1000).toFixed(1)}s, ${k.postsSoFar} posts so far)`),
    workersStarted: procs.length,
    drops: drops.map((d) => `${d.platform}@t+${(d.at / 1000).toFixed(1)}s used=${fakes()[d.platform].posts.length > d.postsBefore}`),
    faultsLanded: {
      killsAimed: kills.filter((k) => k.aimedAt).length,
      aimedKillsLanded: aimedLanded.length,
      publishRequestsCutByAKill: killedMidPublish.length,
      postsStoredThenWorkerKilled: killedAfterStore.length,
      dropsUsed: dropsUsed.length,
      tokenEchoesServed: echoes.map((p) => `${p}: ${publishOrAny503(p)}`),
      unknownOutcomes: unknownOutcomes.length,
      reconciled: reconciled.length,
    },
    secretScan: { secrets: scan.secretCount, coverage: scan.coverage(), findings: secretFindings.length, first: describeFindings(secretFindings.slice(0, 5)) },
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
        const stored = fake.posts.find((p) => shown(platform, p) === text);
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

  // Each doubled post, told apart: its pipeline and publication (status, attempts, externalId), every post request
  // that carried its text (when, how it ended, what was stored, from which client port), the platform's look-ups
  // between the first request and a few seconds after the last, the kills around them, and the workers' lines about
  // that pipeline's publication (attempt by attempt).
  for (const platform of PLATFORMS) {
    for (const d of [...byShown(platform).values()].filter((v) => v.length > 1)) {
      const text = shown(platform, d[0]);
      const owner = all.find((s) => s?.variants?.find((v: any) => v.platform === platform)?.parts.includes(text));
      const pub = owner?.publications?.find((p: any) => p.platform === platform);
      const needle = JSON.stringify(d[0].text).slice(1, -1);
      const fake = fakes()[platform];
      const mine = fake.requests.filter((r) => r.method === 'POST' && PUBLISH_PATH[platform].test(r.path) && r.raw.toString('utf8').includes(needle));
      const rel = (ms: number) => `t+${((ms - t0) / 1000).toFixed(2)}s`;
      const from = mine[0]?.at ?? d[0].at;
      const to = (mine[mine.length - 1]?.at ?? d[d.length - 1].at) + 5_000;
      const lookups = fake.requests.filter((r) => r.method === 'GET' && LOOKUP_PATH[platform].test(r.path) && r.at >= from - 15_000 && r.at <= to);
      const lines = procs.flatMap((p) => p.output.split('\n').filter((l) => owner && l.includes(owner.id) && /publish/i.test(l)).map((l) => `worker ${p.n}: ${l.slice(0, 400)}`));
      console.log(
        `DOUBLED on ${platform}: ${JSON.stringify(text.slice(0, 80))}\n` +
          `  pipeline ${owner?.id} ${owner?.status}; publication ${JSON.stringify(pub && { status: pub.status, attempts: pub.attempts, externalId: pub.externalId, error: pub.error })}\n` +
          `  stored ${d.map((p) => `${p.id} at ${rel(p.at)}`).join(', ')}\n` +
          `  post requests: ${mine.map((r) => `${rel(r.at)} port ${r.remotePort} stored [${r.stored.join(',')}] ${r.outcome ? `${r.outcome.kind}${r.outcome.kind === 'answered' ? ` ${r.outcome.status}` : ''} at ${rel(r.outcome.at)}` : 'in flight'}`).join('; ')}\n` +
          `  look-ups ${rel(from - 15_000)}..${rel(to)}: ${lookups.map((r) => `${rel(r.at)} port ${r.remotePort}${r.outcome?.kind === 'answered' ? ` ${r.outcome.status}` : ` ${r.outcome?.kind ?? 'in flight'}`}`).join(', ') || 'none'}\n` +
          `  kills nearby: ${kills.filter((k) => k.atMs >= from - 15_000 && k.atMs <= to).map((k) => `${rel(k.atMs)} worker ${k.worker}${k.aimedAt ? ` (aimed at ${k.aimedAt.platform} ${rel(k.aimedAt.request.at)})` : ''}`).join(', ') || 'none'}\n` +
          `  drops on ${platform}: ${drops.filter((x) => x.platform === platform).map((x) => `t+${(x.at / 1000).toFixed(1)}s`).join(', ') || 'none'}\n` +
          `  worker lines:\n    ${lines.join('\n    ') || 'none'}`,
      );
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
  // The faults landed: kills cut publish calls in flight, at least one between a stored post and its answer; dropped
  // connections were used; and those unknown outcomes were reconciled (each counted above, none left over).
  expect(kills.length).toBeGreaterThan(0);
  expect(killedMidPublish.length).toBeGreaterThan(0);
  expect(aimedLanded.length).toBeGreaterThan(0);
  expect(killedAfterStore.length).toBeGreaterThan(0);
  expect(dropsUsed.length).toBeGreaterThan(0);
  expect(reconciled.length).toBe(unknownOutcomes.length);
  expect(reconciled.length).toBeGreaterThan(0);
  for (const p of echoes) expect(publishOrAny503(p)).toBeGreaterThan(0);
  // ...and the echoed error did reach a worker's output (scrubbed), so the scan below searched a line that held it.
  expect(procs.some((p) => p.output.includes('upstream rejected'))).toBe(true);
  // No secret in any process's output, and the scan really read them (workers' info lines included).
  expect(describeFindings(secretFindings)).toEqual([]);
  const coverage = scan.coverage();
  expect(coverage.workers.lines).toBeGreaterThan(procs.length);
  expect(coverage.api.lines).toBeGreaterThan(0);
  expect(scan.secretCount).toBeGreaterThanOrEqual(10);
});
