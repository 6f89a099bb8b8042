import { CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType } from '../domain/error-types';
import type { ContentFormat, ImageRef, Publication, Target } from '../domain/types';
import { describeFailure, failureAttempt } from './util';

const { publishPost } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
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
  try {
    // Once a post is on its way it is not abandoned halfway: its outcome is always recorded.
    const r = await CancellationScope.nonCancellable(() => publishPost(input));
    return {
      status: r.status,
      externalId: r.externalId,
      url: r.url,
      attempts: r.attempt,
      error: null,
      publishedAt: r.publishedAt,
      retryAt: null,
      preview: r.preview,
    };
  } catch (err) {
    if (isCancellation(err)) throw err;
    const failure = describeFailure(err);
    return {
      status: 'failed',
      externalId: null,
      url: null,
      attempts: failureAttempt(err) ?? 1,
      error: `${failure.code}: ${failure.message}`,
      publishedAt: null,
      retryAt: null,
    };
  }
}
