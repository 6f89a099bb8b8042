import { z } from 'zod';

export const stallReasonSchema = z.object({
  code: z
    .enum(['no_worker_polling', 'not_started', 'in_progress', 'awaiting_approval', 'timer_not_fired', 'publishing', 'retry_overdue', 'breaker_open', 'rate_limited', 'account_reauth_required', 'account_disabled', 'no_progress', 'workflow_task_waiting', 'activity_waiting', 'activity_retrying'])
    .describe('What Herald knows holds the post back; several may apply'),
  message: z.string(),
});

const common = {
  pipelineId: z.string(),
  pipelineStatus: z.string(),
  /** Seconds past the time it should have gone out (publishAt, or the publication's retryAt). */
  lateSeconds: z.number().int().describe('Seconds since publishAt (overdue pipeline), retryAt (stalled publication) or its last recorded step (stuck pipeline)'),
  reasons: z.array(stallReasonSchema),
};

export const overduePipelineSchema = z.object({
  kind: z.literal('overdue_pipeline'),
  ...common,
  publishAt: z.string(),
  updatedAt: z.string(),
});

export const stuckPipelineSchema = z.object({
  kind: z.literal('stuck_pipeline').describe('Started (generating, illustrating, adapting, publishing) and no step recorded for noProgressSeconds'),
  ...common,
  publishAt: z.string().nullable(),
  updatedAt: z.string(),
});

export const stalledPublicationSchema = z.object({
  kind: z.literal('stalled_publication'),
  ...common,
  index: z.number().int(),
  platform: z.string(),
  status: z.string(),
  accountId: z.string().nullable(),
  attempts: z.number().int(),
  error: z.string().nullable(),
  retryAt: z.string(),
  updatedAt: z.string(),
});

export const stallsResponseSchema = z.object({
  items: z.array(z.discriminatedUnion('kind', [overduePipelineSchema, stalledPublicationSchema, stuckPipelineSchema])),
  graceSeconds: z.number().int().describe('How late a post must be to be listed'),
  noProgressSeconds: z.number().int().describe('How long a started pipeline must go without a recorded step to be listed as stuck (STALL_NO_PROGRESS_AFTER)'),
  checkedAt: z.string(),
  workers: z
    .object({ polling: z.boolean().nullable(), lastPollAt: z.string().nullable(), taskQueue: z.string() })
    .describe('Whether a worker polled the task queue within the grace period (null: Temporal did not answer)'),
});

export type StallReason = z.infer<typeof stallReasonSchema>;
export type StallsResponse = z.infer<typeof stallsResponseSchema>;
