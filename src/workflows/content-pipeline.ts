import {
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType } from '../domain/error-types';
import { publicationWorkflowId } from '../domain/ids';
import type { ApprovalState, PipelineState, PipelineStatus, Publication } from '../domain/types';
import {
  approveUpdate,
  type ContentPipelineInput,
  HeraldStatus,
  publicationWaitingSignal,
  rejectUpdate,
  setPublishAtUpdate,
  stateQuery,
} from './messages';
import { findImages, writeText } from './provider-chains';
import { publishTarget } from './publish-target';
import { parseWorkflowDuration, describeFailure } from './util';

// One proxy per timeout/retry profile.
const { adaptVariants, reviewEdits } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [ErrorType.Permanent, ErrorType.InvalidInput, ErrorType.QuotaExhausted],
  },
});
// The projection must land eventually, whatever PostgreSQL is doing: no attempt limit.
const { saveState } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '8 seconds', // it heartbeats while PostgreSQL is slow: a killed worker's write is retried at once
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '15 seconds' },
});

/** generate -> illustrate -> adapt -> (approve) -> (wait) -> publish, one child workflow per target. */
export async function contentPipeline({ state: initial }: ContentPipelineInput): Promise<PipelineState> {
  let state: PipelineState = initial;
  let decision: 'approved' | 'rejected' | null = null;
  let approvalBusy = false;
  let publishAtVersion = 0;
  let cancelRequested = false;
  CancellationScope.current().cancelRequested.catch(() => {
    cancelRequested = true;
  });

  const nowIso = () => new Date(Date.now()).toISOString();

  async function commit(patch: Partial<PipelineState>): Promise<void> {
    const before = state.status;
    state = { ...state, ...patch, updatedAt: nowIso(), version: state.version + 1 };
    if (state.status !== before) upsertSearchAttributes([{ key: HeraldStatus, value: state.status }]);
    // The projection write survives cancellation of the pipeline itself.
    await CancellationScope.nonCancellable(() => saveState({ state }));
  }
  const setStatus = (status: PipelineStatus, patch: Partial<PipelineState> = {}) => commit({ ...patch, status });

  setHandler(stateQuery, () => state);

  setHandler(publicationWaitingSignal, ({ index, status, retryAt, attempts, error }) => {
    const current = state.publications[index];
    if (!current || ['published', 'previewed', 'failed', 'skipped'].includes(current.status)) return;
    const publications = state.publications.slice();
    publications[index] = { ...current, status, retryAt, attempts, error };
    // Persisted in the background; versions keep the projection ordered.
    void commit({ publications });
  });

  const ensureAwaitingApproval = (..._input: unknown[]) => {
    if (state.status !== 'awaiting_approval' || decision !== null || approvalBusy) {
      throw ApplicationFailure.create({
        type: ErrorType.NotAwaitingApproval,
        message: `pipeline is ${decision ? `already ${decision}` : state.status}, not awaiting_approval`,
        nonRetryable: true,
      });
    }
  };

  setHandler(
    approveUpdate,
    async ({ edits }) => {
      approvalBusy = true;
      try {
        let patch: Partial<PipelineState> = {};
        if (edits && (edits.title !== undefined || edits.body !== undefined || edits.variants)) {
          const review = await reviewEdits({ content: state.content!, variants: state.variants, format: state.request.format, edits });
          if (!review.ok) {
            throw ApplicationFailure.create({
              type: ErrorType.EditRejected,
              message: review.reasons.join('; '),
              details: review.reasons,
              nonRetryable: true,
            });
          }
          patch = { content: review.content, variants: review.variants };
        }
        decision = 'approved';
        const approval: ApprovalState = { ...state.approval!, decision: 'approved', decidedAt: nowIso(), edited: Object.keys(patch).length > 0 };
        await commit({ ...patch, approval });
        return state;
      } finally {
        approvalBusy = false;
      }
    },
    { validator: ensureAwaitingApproval },
  );

  setHandler(
    rejectUpdate,
    async ({ reason }) => {
      decision = 'rejected';
      await commit({ approval: { ...state.approval!, decision: 'rejected', decidedAt: nowIso(), reason } });
      return state;
    },
    { validator: ensureAwaitingApproval },
  );

  setHandler(
    setPublishAtUpdate,
    async ({ publishAt }) => {
      publishAtVersion++;
      await commit({ publishAt });
      return state;
    },
    {
      validator: ({ publishAt }) => {
        const terminalOrLate = ['publishing', 'published', 'partially_published', 'failed', 'rejected', 'cancelled', 'expired'];
        if (terminalOrLate.includes(state.status)) {
          throw ApplicationFailure.create({
            type: ErrorType.TooLate,
            message: `pipeline is ${state.status}; publishAt can only change before publishing starts`,
            nonRetryable: true,
          });
        }
        if (Number.isNaN(Date.parse(publishAt))) {
          throw ApplicationFailure.create({ type: ErrorType.InvalidInput, message: 'publishAt is not a date-time', nonRetryable: true });
        }
      },
    },
  );

  try {
    // The first save may race the API's insert of the row; versions keep it ordered.
    await setStatus('generating');
    const generated = await writeText(state.request);
    await setStatus('illustrating', { content: generated.content });

    const images =
      state.request.image.mode === 'none'
        ? []
        : await findImages({
            tenantId: state.tenantId,
            pipelineId: state.id,
            request: state.request,
            content: generated.content,
            sources: generated.plan.images,
          });
    await setStatus('adapting', { images });

    const variants = await adaptVariants({
      content: generated.content,
      format: state.request.format,
      platforms: state.request.targets.map((t) => t.platform),
    });

    const approvalReq = state.request.approval;
    if (approvalReq?.required) {
      const timeoutMs = approvalReq.timeout ? parseWorkflowDuration(approvalReq.timeout) : null;
      const deadline = timeoutMs !== null ? new Date(Date.now() + timeoutMs).toISOString() : null;
      await setStatus('awaiting_approval', {
        variants,
        approval: {
          required: true,
          timeout: approvalReq.timeout ?? null,
          onTimeout: approvalReq.onTimeout,
          deadline,
          decision: null,
          decidedAt: null,
          reason: null,
          edited: false,
        },
      });
      const decidedOrTimedOut = () => decision !== null && !approvalBusy;
      let decided = true;
      if (timeoutMs === null) await condition(decidedOrTimedOut);
      else decided = await condition(decidedOrTimedOut, timeoutMs);
      if (!decided) {
        const approval: ApprovalState = { ...state.approval!, decision: 'timed_out', decidedAt: nowIso() };
        if (approvalReq.onTimeout === 'reject') {
          await setStatus('expired', {
            approval,
            publications: skipUnfinished(state.publications, 'approval timed out'),
            error: { code: 'approval_timeout', message: `no decision within ${approvalReq.timeout}` },
          });
          return state;
        }
        await commit({ approval });
      } else if (decision === 'rejected') {
        await setStatus('rejected', { publications: skipUnfinished(state.publications, 'rejected') });
        return state;
      }
    } else {
      await commit({ variants });
    }

    // A durable wait: survives worker and server restarts; an Update can move it.
    if (state.publishAt) {
      await setStatus('scheduled');
      for (;;) {
        const waitMs = Date.parse(state.publishAt!) - Date.now();
        if (waitMs <= 0) break;
        const seen = publishAtVersion;
        await condition(() => publishAtVersion !== seen, waitMs);
      }
    }

    await setStatus('publishing', {
      publications: state.publications.map((p) => ({ ...p, status: p.status === 'pending' ? 'publishing' : p.status })),
    });

    // In-flight posts cannot be taken back, so publishing finishes even if cancel arrives meanwhile.
    await CancellationScope.nonCancellable(() =>
      Promise.all(
        state.request.targets.map(async (target, index) => {
          const variant = state.variants.find((v) => v.platform === target.platform)!;
          const result = await executeChild(publishTarget, {
            workflowId: publicationWorkflowId(workflowInfo().workflowId, index, target.platform),
            parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
            args: [
              {
                tenantId: state.tenantId,
                pipelineId: state.id,
                index,
                target,
                parts: variant.parts,
                title: state.content!.title,
                format: state.request.format,
                images: state.images,
                dryRun: state.request.dryRun,
              },
            ],
          });
          const publications = state.publications.slice();
          publications[index] = { ...publications[index], ...result };
          await commit({ publications });
        }),
      ),
    );

    const done = state.publications.filter((p) => p.status === 'published' || p.status === 'previewed').length;
    const total = state.publications.length;
    if (cancelRequested) {
      await setStatus('cancelled', { error: { code: 'cancelled', message: 'cancelled while publishing; finished posts stay published' } });
    } else if (done === total) {
      await setStatus('published');
    } else if (done > 0) {
      await setStatus('partially_published', { error: { code: 'partial', message: `${total - done} of ${total} publications failed` } });
    } else {
      await setStatus('failed', { error: { code: 'publish_failed', message: 'no publication succeeded' } });
    }
    return state;
  } catch (err) {
    if (isCancellation(err)) {
      await setStatus('cancelled', {
        publications: skipUnfinished(state.publications, 'cancelled'),
        error: { code: 'cancelled', message: 'cancelled on request' },
      });
      throw err;
    }
    const failure = describeFailure(err);
    await setStatus('failed', { publications: skipUnfinished(state.publications, failure.message), error: failure });
    return state;
  }
}

function skipUnfinished(publications: Publication[], reason: string): Publication[] {
  return publications.map((p) =>
    p.status === 'published' || p.status === 'previewed' || p.status === 'failed' ? p : { ...p, status: 'skipped', error: reason },
  );
}
