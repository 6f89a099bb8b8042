import { ActivityFailure, ApplicationFailure, CancellationScope, condition, getExternalWorkflowHandle, isCancellation, patched, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType } from '../domain/error-types';
import { readFailureDetails } from '../domain/failure-details';
import { errorInfo, HeraldErrorCode } from '../domain/hints';
import type { ContentFormat, ImageRef, Publication, Target } from '../domain/types';
import { type PublicationWaiting, publicationWaitingSignal } from './messages';
import { failureDetailsOf, failureInfo } from './util';

/** How many times a publication may wait for a quota or a breaker before it fails. */
const MAX_WAITS = 50;

/** When a RateLimited or BreakerOpen failure says the publication may go again, or null for any other failure. */
function waitUntil(err: unknown): number | null {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure)) return null;
  if (cause.type !== ErrorType.RateLimited && cause.type !== ErrorType.BreakerOpen) return null;
  const { retryAt } = readFailureDetails(cause.details);
  const at = retryAt ? Date.parse(retryAt) : NaN;
  return Number.isNaN(at) ? null : at;
}

const { publishPost } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  // The activity heartbeats every 2 s: a worker killed mid-call is noticed within 8 s and the call retried elsewhere.
  heartbeatTimeout: '8 seconds',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 8,
    nonRetryableErrorTypes: [ErrorType.Permanent, ErrorType.ReauthRequired, ErrorType.AccountMissing, ErrorType.InvalidInput],
  },
});

export interface PublishTargetInput {
  tenantId: string;
  pipelineId: string;
  index: number;
  target: Target;
  parts: string[];
  title: string;
  format: ContentFormat;
  images: ImageRef[];
  dryRun: boolean;
}

export type PublishTargetResult = Pick<Publication, 'status' | 'externalId' | 'url' | 'attempts' | 'error' | 'publishedAt' | 'retryAt'> & {
  preview?: unknown;
};

/** Publishes one target. It reports its outcome rather than failing, so the pipeline can say what happened where. */
export async function publishTarget(input: PublishTargetInput): Promise<PublishTargetResult> {
  return await publishOneTarget(input, tellParent);
}

/**
 * The publication itself, as the child workflow above runs it (telling its parent of waits by signal) and as a
 * pipeline runs it inline (`tell` records the wait in the pipeline's own state). The commands it issues are the same
 * either way: `tell` is whatever the caller makes of a wait.
 */
export async function publishOneTarget(
  input: PublishTargetInput,
  tell: (update: PublicationWaiting) => Promise<void>,
  /** Asked while the publication waits for a quota or a breaker: true ends the wait without posting (the pipeline was cancelled). */
  stopWaiting?: () => boolean,
): Promise<PublishTargetResult> {
  let tries = 0;
  // The `publishing` signal sent alongside the call that follows a wait (see below).
  let told: Promise<void> | null = null;
  for (let waits = 0; ; waits++) {
    try {
      // Once a post is on its way it is not abandoned halfway: its outcome is always recorded.
      let r;
      try {
        // After a wait the call is a new activity (attempt 1), but an earlier attempt may have posted without hearing
        // the answer: `earlierAttempts` tells it to look before posting again.
        r = await CancellationScope.nonCancellable(() => publishPost(tries > 0 ? { ...input, earlierAttempts: tries } : input));
      } finally {
        const t = told;
        told = null;
        await t;
      }
      return {
        status: r.status,
        externalId: r.externalId,
        url: r.url,
        attempts: tries + r.attempt,
        error: null,
        publishedAt: r.publishedAt,
        retryAt: null,
        preview: r.preview,
      };
    } catch (err) {
      if (isCancellation(err)) throw err;
      const attempt = failureDetailsOf(err).attempt ?? 1;
      const until = waitUntil(err);
      const error = failureInfo(err, { platform: input.target.platform, accountId: input.target.accountId ?? null });
      if (until !== null && waits < MAX_WAITS) {
        // A quota or an open breaker: the publication waits, visibly, on a durable timer; cancel still stops it here.
        tries += attempt;
        await tell({ index: input.index, status: 'waiting', retryAt: new Date(until).toISOString(), attempts: tries, error });
        // Nothing is on its way while it waits, so a cancel ends the wait and the post is not made. Pipelines that
        // waited before this change replay the plain timer.
        if (stopWaiting && patched('cancel-ends-a-publication-wait')) {
          if (await condition(stopWaiting, Math.max(1, until - Date.now()))) {
            return {
              status: 'skipped',
              externalId: null,
              url: null,
              attempts: tries,
              error: errorInfo(HeraldErrorCode.Cancelled, `cancelled while waiting for ${input.target.platform}'s limit; not posted`),
              publishedAt: null,
              retryAt: null,
            };
          }
        } else {
          await sleep(Math.max(1, until - Date.now()));
        }
        const publishing = { index: input.index, status: 'publishing' as const, retryAt: null, attempts: tries, error: null };
        // Its reserved slot is due now: the call goes out in the same workflow task as the signal, not one round trip
        // after it, so a busy worker comes back that much closer to its slot (the limiter honours a late holder, but
        // lateness still costs the line). Histories from before this change replay the old order.
        if (patched('publish-alongside-publishing-signal')) told = tell(publishing);
        else await tell(publishing);
        continue;
      }
      return {
        status: 'failed',
        externalId: null,
        url: null,
        attempts: tries + attempt,
        error,
        publishedAt: null,
        retryAt: null,
      };
    }
  }
}

/** Lets the pipeline show `waiting` with its retryAt while this publication waits. */
async function tellParent(update: PublicationWaiting) {
  const parent = workflowInfo().parent;
  if (!parent) return;
  await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(publicationWaitingSignal, update);
}
