// Records the histories that test/replay/replay.test.ts replays. Not part of `npm test` (the name does not end in
// .test.ts); run it on purpose, after a deliberate, compatible change to workflow code:
//
//   npm test -- --testMatch '**/test/replay/record.ts'
//
// It runs real pipelines through the real stack (API, worker, Temporal dev server, PostgreSQL; offline text, card
// images, dry runs, and an imitation webhook receiver for the one real publication) and writes each workflow
// execution's history, the pipeline's and each publishTarget child's (pipelines started before the lean change had one
// child per target; lean ones publish in their own history and have none), as JSON (see history-file.ts) to
// test/replay/histories/<scenario>.json and <scenario>.publish-<index>-<platform>.json, replacing the previous
// recording of the same scenarios. See "Changing workflow code safely" in the README.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { startFakeWebhookServer, type FakeWebhookServer } from '../fakes/webhook-server';
import { dryRunRequest, startHarness, type Harness } from '../helpers/harness';
import { readHistoryFile, workflowTypeOf, writeHistoryFile } from './history-file';

type History = temporal.api.history.v1.IHistory;

jest.setTimeout(300_000);

const OUT_DIR = path.join(__dirname, 'histories');

let h: Harness;
let hook: FakeWebhookServer;

beforeAll(async () => {
  hook = await startFakeWebhookServer();
  // One webhook post every 3 s per account: the second of two posts waits for the quota.
  h = await startHarness({ env: { TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card', RATE_LIMIT_WEBHOOK: '1/3s' } });
});
afterAll(async () => {
  await h?.stop();
  await hook?.close();
});

const workflowIdOf = (state: { links: { temporal: string } }) => decodeURIComponent(state.links.temporal.split('/').pop()!);

async function submit(body: unknown): Promise<{ id: string; workflowId: string }> {
  const res = await h.api('POST', '/v1/pipelines', body);
  if (res.status !== 202) throw new Error(`POST /v1/pipelines: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, workflowId: workflowIdOf(res.body) };
}

interface Recorded {
  workflowId: string;
  history: History;
}
const recorded: Record<string, Recorded> = {};

/** Waits for the pipeline workflow and its children to close, then keeps their histories under `scenario`. */
async function record(scenario: string, workflowId: string): Promise<{ parent: Recorded; children: Record<string, Recorded> }> {
  const handle = h.client.workflow.getHandle(workflowId);
  await handle.result().catch(() => undefined); // a cancelled pipeline ends with a CancelledFailure
  const parent = { workflowId, history: await handle.fetchHistory() };
  recorded[`${scenario}.json`] = parent;
  const children: Record<string, Recorded> = {};
  for (const e of parent.history.events ?? []) {
    const childId = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    if (!childId) continue;
    const suffix = /-(publish-\d+-[a-z]+)$/.exec(childId)?.[1] ?? childId;
    const child = { workflowId: childId, history: await h.client.workflow.getHandle(childId).fetchHistory() };
    children[suffix] = child;
    recorded[`${scenario}.${suffix}.json`] = child;
  }
  return { parent, children };
}

const has = ({ history }: Recorded, pred: (e: temporal.api.history.v1.IHistoryEvent) => unknown) => (history.events ?? []).some(pred);
const count = ({ history }: Recorded, pred: (e: temporal.api.history.v1.IHistoryEvent) => unknown) => (history.events ?? []).filter(pred).length;
const publishPostsScheduled = (r: Recorded) => count(r, (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'publishPost');

it('records the histories of real pipelines', async () => {
  // A dry-run post to two platforms.
  {
    const p = await submit(dryRunRequest());
    await h.waitFor(p.id, (s) => s.status === 'published');
    const { parent, children } = await record('dry-run-post', p.workflowId);
    // Lean: both publications in the pipeline's own history, no children.
    expect(Object.keys(children)).toHaveLength(0);
    expect(publishPostsScheduled(parent)).toBe(2);
  }

  // A thread, split into numbered parts on four platforms.
  {
    const p = await submit(
      dryRunRequest({ format: 'thread', targets: [{ platform: 'x' }, { platform: 'mastodon' }, { platform: 'bluesky' }, { platform: 'threads' }] }),
    );
    const done = await h.waitFor(p.id, (s) => s.status === 'published');
    expect(done.variants.some((v: { parts: string[] }) => v.parts.length > 1)).toBe(true);
    await record('thread', p.workflowId);
  }

  // Approval with edits: the approve Update runs the reviewEdits activity inside its handler.
  {
    const p = await submit(dryRunRequest({ approval: { required: true } }));
    await h.waitFor(p.id, (s) => s.status === 'awaiting_approval');
    const ok = await h.api('POST', `/v1/pipelines/${p.id}/approve`, {
      edits: { title: 'Edited: durable beats cron', variants: { x: 'Edited by a human: durable workflows beat cron jobs.' } },
    });
    expect(ok.status).toBe(200);
    const done = await h.waitFor(p.id, (s) => s.status === 'published');
    expect(done.approval).toMatchObject({ decision: 'approved', edited: true });
    const { parent } = await record('approval-with-edits', p.workflowId);
    expect(has(parent, (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'approve')).toBe(true);
  }

  // A scheduled pipeline whose publishAt is moved earlier by the setPublishAt Update.
  {
    const p = await submit(dryRunRequest({ publishAt: new Date(Date.now() + 10 * 60_000).toISOString() }));
    await h.waitFor(p.id, (s) => s.status === 'scheduled');
    const moved = await h.api('PUT', `/v1/pipelines/${p.id}/publish-at`, { publishAt: new Date(Date.now() + 2_000).toISOString() });
    expect(moved.status).toBe(200);
    await h.waitFor(p.id, (s) => s.status === 'published', { timeoutMs: 60_000 });
    const { parent } = await record('reschedule', p.workflowId);
    expect(has(parent, (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'setPublishAt')).toBe(true);
  }

  // Waiting on a quota: two real posts to one webhook account allowed one post every 3 s; the second publication
  // waits (status waiting, retryAt) on a durable timer in its child workflow, then publishes.
  {
    const account = await h.api('POST', '/v1/accounts', { platform: 'webhook', handle: 'replay-quota', credentials: { url: `${hook.url}/hook/replay-quota` } });
    expect(account.status).toBe(201);
    const request = (i: number) => ({ topic: `Replay quota ${i}`, targets: [{ platform: 'webhook', accountId: account.body.id }], image: { mode: 'none' } });
    const [a, b] = [await submit(request(1)), await submit(request(2))];
    for (const p of [a, b]) await h.waitFor(p.id, (s) => s.status === 'published', { timeoutMs: 60_000 });
    const first = await record('quota-wait-first', a.workflowId);
    const second = await record('quota-wait', b.workflowId);
    // The one whose publication waited on a timer (the second, as a rule) is kept as `quota-wait`.
    const waited = (r: typeof first) => has(r.parent, (e) => e.timerStartedEventAttributes);
    expect(waited(first) || waited(second)).toBe(true);
    const [waiter, other] = waited(second) ? [second, first] : [first, second];
    for (const key of Object.keys(recorded).filter((k) => k.startsWith('quota-wait'))) delete recorded[key];
    recorded['quota-wait.json'] = waiter.parent;
    for (const [suffix, c] of Object.entries(waiter.children)) recorded[`quota-wait.${suffix}.json`] = c;
    recorded['quota-first.json'] = other.parent;
    for (const [suffix, c] of Object.entries(other.children)) recorded[`quota-first.${suffix}.json`] = c;
    // The wait was saved (status waiting, retryAt) by a local activity before the timer.
    expect(publishPostsScheduled(waiter.parent)).toBe(2);
    expect(hook.received.filter((r) => r.path === '/hook/replay-quota')).toHaveLength(2);
  }

  // Cancel: a scheduled pipeline cancelled before its time.
  {
    const p = await submit(dryRunRequest({ publishAt: new Date(Date.now() + 10 * 60_000).toISOString() }));
    await h.waitFor(p.id, (s) => s.status === 'scheduled');
    expect((await h.api('POST', `/v1/pipelines/${p.id}/cancel`)).status).toBe(202);
    await h.waitFor(p.id, (s) => s.status === 'cancelled');
    const { parent } = await record('cancel', p.workflowId);
    expect(has(parent, (e) => e.workflowExecutionCancelRequestedEventAttributes)).toBe(true);
  }

  // Every recorded pipeline ended; write them all at once, replacing the previous recording.
  for (const { history } of Object.values(recorded)) {
    expect(workflowTypeOf(history)).toMatch(/^(contentPipeline|publishTarget)$/);
    const closed = history.events?.[history.events.length - 1];
    expect(closed?.workflowExecutionCompletedEventAttributes ?? closed?.workflowExecutionCanceledEventAttributes).toBeTruthy();
  }
  mkdirSync(OUT_DIR, { recursive: true });
  // Replaces this recorder's own files (<scenario>.json, <scenario>.*.json); others (an older version's histories kept
  // under another name, e.g. v1-thread.json) stay and keep being replayed.
  const scenarios = new Set(Object.keys(recorded).map((name) => name.split('.')[0]));
  for (const f of readdirSync(OUT_DIR).filter((f) => f.endsWith('.json') && scenarios.has(f.split('.')[0]))) rmSync(path.join(OUT_DIR, f));
  for (const [name, { workflowId, history }] of Object.entries(recorded)) {
    const file = path.join(OUT_DIR, name);
    writeHistoryFile(file, workflowId, history);
    // Read back: the file holds the same history.
    expect(readHistoryFile(file).history.events).toHaveLength(history.events?.length ?? -1);
  }
  console.log(`recorded ${Object.keys(recorded).length} histories in ${path.relative(process.cwd(), OUT_DIR)}:\n  ${Object.keys(recorded).sort().join('\n  ')}`);
});
