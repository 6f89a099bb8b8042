import {
  type ActivityOptions,
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType } from '../domain/error-types';
import { errorInfo, HeraldErrorCode, readErrorInfo } from '../domain/hints';
import { publicationWorkflowId } from '../domain/ids';
import type { ApprovalBy, ApprovalEdits, ApprovalState, Content, ImageRef, PipelineError, PipelineRequest, PipelineState, PipelineStatus, Publication, Target, Variant } from '../domain/types';
import { TERMINAL_STATUSES } from '../domain/types';
import {
  approveUpdate,
  type ContentPipelineInput,
  HeraldStatus,
  type PublicationWaiting,
  publicationWaitingSignal,
  rejectUpdate,
  setPublishAtUpdate,
  stateQuery,
} from './messages';
import { findImages, writeText } from './provider-chains';
import { publishOneTarget, publishTarget, type PublishTargetInput } from './publish-target';
import { parseWorkflowDuration, failureInfo } from './util';

// One proxy per timeout/retry profile.
const IN_PROCESS_STEP: Pick<ActivityOptions, 'startToCloseTimeout' | 'retry'> = {
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [ErrorType.Permanent, ErrorType.InvalidInput, ErrorType.QuotaExhausted],
  },
};
const { adaptVariants, reviewEdits } = proxyActivities<Activities>(IN_PROCESS_STEP);
// The projection must land eventually, whatever PostgreSQL is doing: no attempt limit.
const { saveState } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '8 seconds', // it heartbeats while PostgreSQL is slow: a killed worker's write is retried at once
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '15 seconds' },
});

// Lean pipelines (patched 'lean-pipeline') run their bookkeeping as local activities: the state save and the text
// adaptation run inside the workflow task that asked for them (recorded as markers), not as tasks of their own on the
// queue, so a pipeline costs Temporal a few workflow tasks instead of about thirty. Same timeouts and retries.
const { saveState: saveStateLocal } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '15 seconds' },
});
const { adaptVariants: adaptVariantsLocal } = proxyLocalActivities<Activities>(IN_PROCESS_STEP);

/** Statuses a lean pipeline writes to the HeraldStatus search attribute: the ones a pipeline can stay in for long. */
const LASTING_STATUSES: ReadonlySet<PipelineStatus> = new Set(['awaiting_approval', 'scheduled', 'publishing', ...TERMINAL_STATUSES]);

// Every step below issues its Temporal commands (activities, timers, children) in the order the recorded histories in
// test/replay hold: moving one is a change for running pipelines, and needs `patched`.

/** generate -> illustrate -> adapt -> (approve) -> (wait) -> publish, one child workflow per target. */
export async function contentPipeline({ state }: ContentPipelineInput): Promise<PipelineState> {
  // Pipelines started before this change replay their recorded commands (activity saves, one child per target).
  const run = new PipelineRun(state, patched('lean-pipeline'));
  acceptMessages(run);
  try {
    const generated = await generate(run);
    const images = await illustrate(run, generated);
    const variants = await adapt(run, generated.content, images);
    if (!(await approval(run, variants))) return run.state;
    await waitForPublishTime(run);
    await publish(run);
    await finish(run);
    return run.state;
  } catch (err) {
    return await stop(run, err);
  }
}

/** The pipeline's state and what its message handlers have heard; every change is saved through `commit`. */
class PipelineRun {
  decision: 'approved' | 'rejected' | null = null;
  approvalBusy = false;
  publishAtVersion = 0;
  cancelRequested = false;

  /**
   * @param lean saves and adaptation as local activities, publications inline instead of one child workflow each,
   *   the variants saved with the next status instead of on their own, HeraldStatus only for LASTING_STATUSES.
   */
  constructor(
    public state: PipelineState,
    readonly lean = false,
  ) {
    CancellationScope.current().cancelRequested.catch(() => {
      this.cancelRequested = true;
    });
  }

  async commit(patch: Partial<PipelineState>): Promise<void> {
    const before = this.state.status;
    this.state = { ...this.state, ...patch, updatedAt: nowIso(), version: this.state.version + 1 };
    if (this.state.status !== before && (!this.lean || LASTING_STATUSES.has(this.state.status))) {
      upsertSearchAttributes([{ key: HeraldStatus, value: this.state.status }]);
    }
    const state = this.state;
    // The projection write survives cancellation of the pipeline itself.
    await CancellationScope.nonCancellable(() => (this.lean ? saveStateLocal : saveState)({ state }));
  }

  /** Changes the state without saving it: the next commit saves it with whatever it changes. */
  stage(patch: Partial<PipelineState>): void {
    this.state = { ...this.state, ...patch };
  }

  setStatus(status: PipelineStatus, patch: Partial<PipelineState> = {}): Promise<void> {
    return this.commit({ ...patch, status });
  }
}

const nowIso = () => new Date(Date.now()).toISOString();

// ---- The steps, in order.

async function generate(run: PipelineRun): Promise<Awaited<ReturnType<typeof writeText>>> {
  // The first save may race the API's insert of the row; versions keep it ordered.
  await run.setStatus('generating');
  return await writeText(run.state.request, { local: run.lean });
}

async function illustrate(run: PipelineRun, generated: Awaited<ReturnType<typeof writeText>>): Promise<ImageRef[]> {
  await run.setStatus('illustrating', { content: generated.content });
  const { tenantId, id, request } = run.state;
  if (request.image.mode === 'none') return [];
  return await findImages({ tenantId, pipelineId: id, request, content: generated.content, sources: generated.plan.images });
}

async function adapt(run: PipelineRun, content: Content, images: ImageRef[]): Promise<Variant[]> {
  const request: PipelineRequest = run.state.request;
  await run.setStatus('adapting', { images });

  const variants = await (run.lean ? adaptVariantsLocal : adaptVariants)({
    content,
    format: request.format,
    platforms: request.targets.map((t) => t.platform),
  });
  return variants;
}

/** Waits for a person's decision when the request asks for one. False when the pipeline ends here (rejected, expired). */
async function approval(run: PipelineRun, variants: Variant[]): Promise<boolean> {
  const asked = run.state.request.approval;
  if (!asked?.required) {
    // A lean pipeline saves its variants with the next status (scheduled or publishing), one save fewer.
    if (run.lean) run.stage({ variants });
    else await run.commit({ variants });
    return true;
  }
  const timeoutMs = asked.timeout ? parseWorkflowDuration(asked.timeout) : null;
  const deadline = timeoutMs !== null ? new Date(Date.now() + timeoutMs).toISOString() : null;
  await run.setStatus('awaiting_approval', {
    variants,
    approval: {
      required: true,
      timeout: asked.timeout ?? null,
      onTimeout: asked.onTimeout,
      deadline,
      decision: null,
      decidedAt: null,
      reason: null,
      edited: false,
    },
  });
  const decidedOrTimedOut = () => run.decision !== null && !run.approvalBusy;
  let decided = true;
  if (timeoutMs === null) await condition(decidedOrTimedOut);
  else decided = await condition(decidedOrTimedOut, timeoutMs);
  if (!decided) {
    const approval: ApprovalState = { ...run.state.approval!, decision: 'timed_out', decidedAt: nowIso() };
    if (asked.onTimeout === 'reject') {
      const timedOut = errorInfo(HeraldErrorCode.ApprovalTimeout, `no decision within ${asked.timeout}`, { approvalTimeout: asked.timeout });
      await run.setStatus('expired', {
        approval,
        publications: skipUnfinished(run.state.publications, timedOut),
        error: timedOut,
      });
      return false;
    }
    await run.commit({ approval });
  } else if (run.decision === 'rejected') {
    const rejected = errorInfo(HeraldErrorCode.Rejected, run.state.approval?.reason ? `rejected: ${run.state.approval.reason}` : 'rejected');
    await run.setStatus('rejected', { publications: skipUnfinished(run.state.publications, rejected) });
    return false;
  }
  return true;
}

/** A durable wait until publishAt: survives worker and server restarts; an Update can move it. */
async function waitForPublishTime(run: PipelineRun): Promise<void> {
  if (!run.state.publishAt) return;
  await run.setStatus('scheduled');
  for (;;) {
    const waitMs = Date.parse(run.state.publishAt!) - Date.now();
    if (waitMs <= 0) break;
    const seen = run.publishAtVersion;
    await condition(() => run.publishAtVersion !== seen, waitMs);
  }
}

/** One child workflow per target, all at once. */
async function publish(run: PipelineRun): Promise<void> {
  await run.setStatus('publishing', {
    publications: run.state.publications.map((p) => ({ ...p, status: p.status === 'pending' ? 'publishing' : p.status })),
  });
  // In-flight posts cannot be taken back, so publishing finishes even if cancel arrives meanwhile.
  await CancellationScope.nonCancellable(() => Promise.all(run.state.request.targets.map((target, index) => publishOne(run, target, index))));
}

async function publishOne(run: PipelineRun, target: Target, index: number): Promise<void> {
  const { state } = run;
  const variant = state.variants.find((v) => v.platform === target.platform)!;
  const input: PublishTargetInput = {
    tenantId: state.tenantId,
    pipelineId: state.id,
    index,
    target,
    parts: variant.parts,
    title: state.content!.title,
    format: state.request.format,
    images: state.images,
    dryRun: state.request.dryRun,
  };
  // A lean pipeline publishes in its own history (the same activity, retries and waits as the child's); its waits
  // go straight into its state.
  const result = run.lean
    ? await publishOneTarget(
        input,
        async (update) => await onPublicationWaiting(run, update),
        () => run.cancelRequested,
      )
    : await executeChild(publishTarget, {
        workflowId: publicationWorkflowId(workflowInfo().workflowId, index, target.platform),
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        args: [input],
      });
  // The state as it is now: other publications may have finished meanwhile.
  const publications = run.state.publications.slice();
  publications[index] = { ...publications[index], ...result, error: readErrorInfo(result.error) };
  await run.commit({ publications });
}

/** The pipeline's outcome from its publications' outcomes. */
async function finish(run: PipelineRun): Promise<void> {
  const done = run.state.publications.filter((p) => p.status === 'published' || p.status === 'previewed').length;
  const total = run.state.publications.length;
  if (run.cancelRequested) {
    await run.setStatus('cancelled', { error: errorInfo(HeraldErrorCode.Cancelled, 'cancelled while publishing; finished posts stay published') });
  } else if (done === total) {
    await run.setStatus('published');
  } else if (done > 0) {
    await run.setStatus('partially_published', { error: publicationsFailure(run.state.publications, 'partial', `${total - done} of ${total} publications failed`) });
  } else {
    await run.setStatus('failed', { error: publicationsFailure(run.state.publications, 'publish_failed', 'no publication succeeded') });
  }
}

/**
 * The pipeline's error when publications failed: the first failure's code and hint (the same cause says the same
 * thing everywhere), and every failure in the message. `code` is used only when no failure says why.
 */
function publicationsFailure(publications: Publication[], code: string, summary: string): PipelineError {
  const failed = publications.filter((p) => p.status === 'failed' && p.error);
  const first = failed[0]?.error;
  if (!first) return errorInfo(code, summary);
  return { code: first.code, message: `${summary}: ${failed.map((p) => `${p.platform}: ${p.error!.message}`).join('; ')}`, hint: first.hint };
}

/** A step failed or the pipeline was cancelled: what is unfinished is skipped. A cancellation is thrown on. */
async function stop(run: PipelineRun, err: unknown): Promise<PipelineState> {
  if (isCancellation(err)) {
    await run.setStatus('cancelled', {
      publications: skipUnfinished(run.state.publications, errorInfo(HeraldErrorCode.Cancelled, 'cancelled on request')),
      error: errorInfo(HeraldErrorCode.Cancelled, 'cancelled on request'),
    });
    throw err;
  }
  const failure = failureInfo(err);
  await run.setStatus('failed', { publications: skipUnfinished(run.state.publications, failure), error: failure });
  return run.state;
}

function skipUnfinished(publications: Publication[], reason: PipelineError): Publication[] {
  return publications.map((p) =>
    p.status === 'published' || p.status === 'previewed' || p.status === 'failed' ? p : { ...p, status: 'skipped', error: reason },
  );
}

// ---- Messages: the state query, publications' waits, approve / reject, a new publishAt.

function acceptMessages(run: PipelineRun): void {
  setHandler(stateQuery, () => run.state);
  // Persisted in the background: a signal handler does not wait for the save.
  setHandler(publicationWaitingSignal, (update) => void onPublicationWaiting(run, update));
  const awaitingApproval = (..._input: unknown[]) => ensureAwaitingApproval(run);
  setHandler(approveUpdate, ({ edits, by }) => approve(run, edits, by), { validator: awaitingApproval });
  setHandler(rejectUpdate, ({ reason, by }) => reject(run, reason, by), { validator: awaitingApproval });
  setHandler(setPublishAtUpdate, ({ publishAt }) => movePublishAt(run, publishAt), { validator: ({ publishAt }) => ensurePublishAtMovable(run, publishAt) });
}

/** A publication waits (or goes again after a wait): its state says so. Resolves once saved. */
function onPublicationWaiting(run: PipelineRun, { index, status, retryAt, attempts, error }: PublicationWaiting): Promise<void> {
  const current = run.state.publications[index];
  if (!current || ['published', 'previewed', 'failed', 'skipped'].includes(current.status)) return Promise.resolve();
  const publications = run.state.publications.slice();
  // A child started by an older worker sends its error as text.
  publications[index] = { ...current, status, retryAt, attempts, error: readErrorInfo(error) };
  // Versions keep the projection ordered.
  return run.commit({ publications });
}

function ensureAwaitingApproval(run: PipelineRun): void {
  if (run.state.status !== 'awaiting_approval' || run.decision !== null || run.approvalBusy) {
    throw ApplicationFailure.create({
      type: ErrorType.NotAwaitingApproval,
      message: `pipeline is ${run.decision ? `already ${run.decision}` : run.state.status}, not awaiting_approval`,
      nonRetryable: true,
    });
  }
}

async function approve(run: PipelineRun, edits: ApprovalEdits | undefined, by: ApprovalBy = 'api'): Promise<PipelineState> {
  run.approvalBusy = true;
  try {
    let patch: Partial<PipelineState> = {};
    if (edits && (edits.title !== undefined || edits.body !== undefined || edits.variants)) {
      const { state } = run;
      const review = await reviewEdits({ content: state.content!, variants: state.variants, format: state.request.format, edits });
      if (!review.ok) {
        throw ApplicationFailure.create({ type: ErrorType.EditRejected, message: review.reasons.join('; '), details: review.reasons, nonRetryable: true });
      }
      patch = { content: review.content, variants: review.variants };
    }
    run.decision = 'approved';
    const approval: ApprovalState = { ...run.state.approval!, decision: 'approved', decidedAt: nowIso(), edited: Object.keys(patch).length > 0, by };
    await run.commit({ ...patch, approval });
    return run.state;
  } finally {
    run.approvalBusy = false;
  }
}

async function reject(run: PipelineRun, reason: string, by: ApprovalBy = 'api'): Promise<PipelineState> {
  run.decision = 'rejected';
  // The main flow ends the workflow as soon as it sees a decision that is not busy; without this it could complete
  // while this handler still waits for its own save, and the caller's Update would fail although the pipeline was
  // rejected. As approve does, the decision stays busy until its save is done.
  const holdUntilSaved = patched('reject-saved-before-the-workflow-ends');
  if (holdUntilSaved) run.approvalBusy = true;
  try {
    await run.commit({ approval: { ...run.state.approval!, decision: 'rejected', decidedAt: nowIso(), reason, by } });
  } finally {
    if (holdUntilSaved) run.approvalBusy = false;
  }
  return run.state;
}

async function movePublishAt(run: PipelineRun, publishAt: string): Promise<PipelineState> {
  run.publishAtVersion++;
  await run.commit({ publishAt });
  return run.state;
}

const TOO_LATE_TO_MOVE: PipelineStatus[] = ['publishing', 'published', 'partially_published', 'failed', 'rejected', 'cancelled', 'expired'];

function ensurePublishAtMovable(run: PipelineRun, publishAt: string): void {
  if (TOO_LATE_TO_MOVE.includes(run.state.status)) {
    throw ApplicationFailure.create({
      type: ErrorType.TooLate,
      message: `pipeline is ${run.state.status}; publishAt can only change before publishing starts`,
      nonRetryable: true,
    });
  }
  if (Number.isNaN(Date.parse(publishAt))) {
    throw ApplicationFailure.create({ type: ErrorType.InvalidInput, message: 'publishAt is not a date-time', nonRetryable: true });
  }
}
