// The pipeline workflow's own logic with @temporalio/testing's TestWorkflowEnvironment on the dev server Herald builds
// (TEMPORAL_ADDRESS, started by `npm test`): approval, the publish-time wait, cancel, and a rate-limited publication
// that waits on a durable timer and then publishes. The worker runs the real workflow code with the pure activities
// (planning, offline text, adaptation, edit review) and stand-ins for the two that reach outside: saveState records
// each saved state in memory, publishPost records each call and answers as the test says.
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../../src/activities';
import { createAdaptVariants } from '../../../src/activities/adapt-variants';
import { limitFailure } from '../../../src/activities/failures';
import { createGenerateText } from '../../../src/activities/generate-text';
import { createPlanProviders } from '../../../src/activities/plan-providers';
import type { PublishPostArgs, PublishPostResult } from '../../../src/activities/publish-post';
import { createReviewEdits } from '../../../src/activities/review-edits';
import { ErrorType } from '../../../src/domain/error-types';
import { initialState } from '../../../src/domain/pipeline-state';
import type { PipelineRequest, PipelineState } from '../../../src/domain/types';
import { RateLimitedError } from '../../../src/providers/errors';
import { createOfflineTextGenerator } from '../../../src/providers/text/offline';
import { approveUpdate, rejectUpdate, setPublishAtUpdate, stateQuery } from '../../../src/workflows/messages';
import { temporalAddress, WORKFLOW_BUNDLE_PATH } from '../../helpers/env';

jest.setTimeout(180_000);

type PublishCall = { at: number; args: PublishPostArgs };
type PublishAnswer = (args: PublishPostArgs, n: number) => Promise<PublishPostResult>;

const TASK_QUEUE = `workflow-logic-${randomUUID()}`;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const saved = new Map<string, PipelineState[]>();
const published = new Map<string, PublishCall[]>();
const answers = new Map<string, PublishAnswer>();

const posted = (args: PublishPostArgs): PublishPostResult => ({
  status: 'published',
  externalId: `post-${args.pipelineId}-${args.index}`,
  url: null,
  publishedAt: new Date().toISOString(),
  attempt: 1,
});

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: temporalAddress() });
  const pure = { textChain: ['offline'], imageChain: ['card'], adaptOptions: {} };
  const activities: Partial<Activities> = {
    planProviders: createPlanProviders(pure),
    generateText: createGenerateText({
      textGenerators: { offline: createOfflineTextGenerator() },
      guard: { execute: () => Promise.reject(new Error('offline text needs no provider call')) },
      aiCache: { key: () => '', get: async () => null, set: async () => undefined },
      cacheTtlMs: 0,
    }),
    adaptVariants: createAdaptVariants(pure),
    reviewEdits: createReviewEdits(pure),
    async saveState({ state }) {
      saved.set(state.id, [...(saved.get(state.id) ?? []), state]);
    },
    async publishPost(args) {
      const calls = published.get(args.pipelineId) ?? [];
      calls.push({ at: Date.now(), args });
      published.set(args.pipelineId, calls);
      const answer = answers.get(args.pipelineId);
      return answer ? answer(args, calls.length) : posted(args);
    },
  };
  worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: TASK_QUEUE,
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
    activities,
  });
  running = worker.run();
});

afterAll(async () => {
  if (worker && worker.getState() === 'RUNNING') worker.shutdown();
  await running;
  await env?.teardown();
});

function request(extra: Partial<PipelineRequest> = {}): PipelineRequest {
  return {
    topic: 'Durable workflows keep their promises',
    brief: 'A workflow waits for people and for time without holding a worker. It survives restarts.',
    format: 'post',
    targets: [{ platform: 'mastodon', accountId: 'account-1' }],
    image: { mode: 'none' },
    priority: 'normal',
    dryRun: false,
    ...extra,
  };
}

async function start(req: PipelineRequest, id = `wf-logic-${randomUUID()}`): Promise<{ id: string; handle: WorkflowHandle }> {
  const state = initialState(id, 'tenant-workflow-logic', req, new Date().toISOString());
  const handle = await env.client.workflow.start('contentPipeline', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ state }] });
  return { id, handle };
}

/** Asks the workflow for its state until `ok` holds (queries are answered by the worker, never by a fixed sleep). */
async function stateWhen(handle: WorkflowHandle, ok: (s: PipelineState) => boolean, timeoutMs = 60_000): Promise<PipelineState> {
  const deadline = Date.now() + timeoutMs;
  let last: PipelineState | undefined;
  for (;;) {
    last = await handle.query(stateQuery);
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`state never matched; last status ${last?.status}: ${JSON.stringify(last?.publications)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('waits for approval without publishing, then publishes the approved, edited text once', async () => {
  const { id, handle } = await start(request({ approval: { required: true, onTimeout: 'reject' } }));
  const waiting = await stateWhen(handle, (s) => s.status === 'awaiting_approval');
  expect(waiting.approval).toMatchObject({ required: true, decision: null });
  expect(waiting.variants).toHaveLength(1);
  expect(published.get(id)).toBeUndefined();

  const body = 'An approved body, edited by a person before it goes out.';
  const approved = await handle.executeUpdate(approveUpdate, { args: [{ edits: { body } }] });
  expect(approved.approval).toMatchObject({ decision: 'approved', edited: true });
  // A second decision is refused: the pipeline is no longer awaiting approval.
  const late = await handle.executeUpdate(rejectUpdate, { args: [{ reason: 'too late' }] }).catch((e: unknown) => e);
  expect(late).toBeInstanceOf(WorkflowUpdateFailedError);
  expect((late as WorkflowUpdateFailedError).cause).toMatchObject({ type: ErrorType.NotAwaitingApproval, message: expect.stringMatching(/not awaiting_approval/) });

  const done: PipelineState = await handle.result();
  expect(done.status).toBe('published');
  expect(published.get(id)).toHaveLength(1);
  expect(published.get(id)![0].args.parts.join('\n')).toContain(body);
  expect(saved.get(id)!.at(-1)!.status).toBe('published');
});

it('a rejected pipeline ends rejected and publishes nothing', async () => {
  const { id, handle } = await start(request({ approval: { required: true, onTimeout: 'publish' } }));
  await stateWhen(handle, (s) => s.status === 'awaiting_approval');
  await handle.executeUpdate(rejectUpdate, { args: [{ reason: 'off brand' }] });
  const done: PipelineState = await handle.result();
  expect(done.status).toBe('rejected');
  expect(done.approval).toMatchObject({ decision: 'rejected', reason: 'off brand' });
  expect(done.publications.map((p) => p.status)).toEqual(['skipped']);
  expect(published.get(id)).toBeUndefined();
});

it('an approval that times out with onTimeout reject ends expired', async () => {
  const { id, handle } = await start(request({ approval: { required: true, timeout: '2s', onTimeout: 'reject' } }));
  const done: PipelineState = await handle.result();
  expect(done.status).toBe('expired');
  expect(done.approval?.decision).toBe('timed_out');
  expect(published.get(id)).toBeUndefined();
});

it('waits for publishAt on a durable timer, moved earlier by an update, and publishes not before it', async () => {
  const { id, handle } = await start(request({ publishAt: new Date(Date.now() + 3_600_000).toISOString() }));
  await stateWhen(handle, (s) => s.status === 'scheduled');
  expect(published.get(id)).toBeUndefined();

  const publishAt = Date.now() + 4_000;
  const moved = await handle.executeUpdate(setPublishAtUpdate, { args: [{ publishAt: new Date(publishAt).toISOString() }] });
  expect(moved.publishAt).toBe(new Date(publishAt).toISOString());
  const done: PipelineState = await handle.result();
  expect(done.status).toBe('published');
  const calls = published.get(id)!;
  expect(calls).toHaveLength(1);
  expect(calls[0].at).toBeGreaterThanOrEqual(publishAt);
});

it('cancel while waiting for approval ends cancelled with every publication skipped and nothing posted', async () => {
  const { id, handle } = await start(request({ approval: { required: true, onTimeout: 'reject' } }));
  await stateWhen(handle, (s) => s.status === 'awaiting_approval');
  await handle.cancel();
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  const last = saved.get(id)!.at(-1)!;
  expect(last.status).toBe('cancelled');
  expect(last.publications.map((p) => p.status)).toEqual(['skipped']);
  expect(published.get(id)).toBeUndefined();
});

it('a rate-limited publication shows waiting with its retryAt, waits on a timer, then publishes once, reconciling', async () => {
  const WAIT_MS = 4_000;
  let retryAt = 0;
  const id = `wf-logic-${randomUUID()}`;
  // The first call is refused by the platform's limit, mapped by the activities' one mapping (limitFailure).
  answers.set(id, async (args, n) => {
    if (n === 1) {
      retryAt = Date.now() + WAIT_MS;
      throw limitFailure(new RateLimitedError('mastodon', 'mastodon: 300 requests per 5m used', WAIT_MS, 429), {
        provider: 'mastodon',
        attempt: 1,
        withRetryAt: true,
      });
    }
    return posted(args);
  });
  const { handle } = await start(request(), id);
  const waiting = await stateWhen(handle, (s) => s.publications[0].status === 'waiting');
  expect(Date.parse(waiting.publications[0].retryAt!)).toBeGreaterThan(Date.now() - 1_000);
  expect(waiting.publications[0].error?.message).toMatch(/300 requests per 5m/);
  expect(waiting.status).toBe('publishing');

  const done: PipelineState = await handle.result();
  expect(done.status).toBe('published');
  const calls = published.get(id)!;
  expect(calls).toHaveLength(2);
  // Not before the limit said, and told to look before posting (an earlier attempt's outcome counts).
  expect(calls[1].at).toBeGreaterThanOrEqual(retryAt - 50);
  expect(calls[1].args.earlierAttempts).toBe(1);
  expect(done.publications[0]).toMatchObject({ status: 'published', attempts: 2, retryAt: null });
});

it('cancel while a publication waits for a rate limit ends the wait at once: cancelled, skipped, not posted', async () => {
  const WAIT_MS = 10 * 60_000;
  const id = `wf-logic-${randomUUID()}`;
  answers.set(id, async () => {
    throw limitFailure(new RateLimitedError('mastodon', 'mastodon: 300 requests per 5m used', WAIT_MS, 429), {
      provider: 'mastodon',
      attempt: 1,
      withRetryAt: true,
    });
  });
  const { handle } = await start(request(), id);
  // The fault landed: the platform refused, and the publication waits ten minutes on a timer.
  const waiting = await stateWhen(handle, (s) => s.publications[0].status === 'waiting');
  expect(Date.parse(waiting.publications[0].retryAt!)).toBeGreaterThan(Date.now() + WAIT_MS / 2);
  expect(published.get(id)).toHaveLength(1);

  const cancelledAt = Date.now();
  await handle.cancel();
  // Publishing had begun, so the pipeline ends by returning its state (as a cancel between posts does), not failing.
  const ended: PipelineState = await handle.result();
  expect(ended.status).toBe('cancelled');
  // Ended well before the limit's time (the deadline is generous for a busy machine, far under ten minutes).
  expect(Date.now() - cancelledAt).toBeLessThan(WAIT_MS / 5);
  const last = saved.get(id)!.at(-1)!;
  expect(last.status).toBe('cancelled');
  expect(last.publications[0]).toMatchObject({ status: 'skipped', retryAt: null });
  expect(last.publications[0].error?.code).toBe('cancelled');
  // Only the refused call: the post was never made after the cancel.
  expect(published.get(id)).toHaveLength(1);
});
