import { z } from 'zod';
import { FORMATS, PIPELINE_STATUSES, PLATFORMS, PRIORITIES } from '../../domain/types';
import { parseDuration } from '../../domain/duration';
import { publishAtProblem } from '../../pipelines/publish-time';
import { IMAGE_SOURCE_NAMES } from '../../providers/images/types';
import { dateTimeString, durationString } from './common';

const MAX_APPROVAL_TIMEOUT_MS = 30 * 86_400_000;

export const platformSchema = z.enum(PLATFORMS, { message: `must be one of ${PLATFORMS.join(', ')}` });

export const targetSchema = z.strictObject({
  platform: platformSchema,
  accountId: z.string().min(1).max(100).optional(),
});

/** publishAt must lie ahead (a little clock skew is forgiven) and within a year. */
export function checkPublishAt(value: string, now = Date.now()): string | null {
  return publishAtProblem(value, now)?.message ?? null;
}

export const whenFullSchema = z
  .enum(['refuse', 'next_slot'])
  .describe("when a target account's daily cap is already full at publishAt: `refuse` with 422 naming the next free time (the default), or `next_slot`: move publishAt to that time");

/** The fields of a pipeline request. POST /v1/validate takes them too, with `content` in place of `topic`. */
export const pipelineRequestFields = {
  topic: z.string().trim().min(1, 'topic must not be empty').max(500),
  brief: z.string().max(20_000, 'brief is limited to 20000 characters').optional(),
  voice: z.string().max(500).optional(),
  audience: z.string().max(500).optional(),
  format: z.enum(FORMATS).default('post'),
  targets: z.array(targetSchema).min(1, 'targets must name at least one platform').max(20),
  image: z
    .strictObject({
      mode: z.enum(['auto', 'none']).default('auto'),
      style: z.string().max(200).optional(),
      sources: z.array(z.enum(IMAGE_SOURCE_NAMES)).min(1).max(5).optional(),
    })
    .default({ mode: 'auto' }),
  publishAt: dateTimeString.optional(),
  approval: z
    .strictObject({
      required: z.boolean().default(true),
      timeout: durationString.optional(),
      onTimeout: z.enum(['reject', 'publish']).default('reject'),
    })
    .optional(),
  priority: z.enum(PRIORITIES).default('normal'),
  dryRun: z.boolean().default(false),
  cache: z.boolean().optional().describe('false: neither serve nor store this request\'s AI text in the response cache'),
  whenFull: whenFullSchema.optional(),
};

interface RefinableRequest {
  targets?: { platform: string; accountId?: string }[];
  dryRun?: boolean;
  publishAt?: string;
  approval?: { timeout?: string };
}

/**
 * What single fields cannot check: an account on every target unless dry run, no target twice, an approval timeout in
 * range and, with `publishAtTiming`, a publish time ahead and within a year. POST /v1/validate leaves the timing out:
 * it reports a past publishAt as a problem in its answer rather than refusing the request.
 */
export function refinePipelineRequest(req: RefinableRequest, ctx: z.RefinementCtx, { publishAtTiming }: { publishAtTiming: boolean }): void {
  // Zod still runs this when a field failed its own check: look before touching anything.
  if (!Array.isArray(req.targets) || !req.targets.every((t) => t && typeof t === 'object')) return;
  const targets = req.targets;
  targets.forEach((t, i) => {
    if (!req.dryRun && !t.accountId) {
      ctx.addIssue({ code: 'custom', path: ['targets', i, 'accountId'], message: `accountId is required for ${t.platform} unless dryRun is true` });
    }
    const dup = targets.findIndex((o) => o.platform === t.platform && o.accountId === t.accountId);
    if (dup !== i) ctx.addIssue({ code: 'custom', path: ['targets', i], message: `duplicate target: ${t.platform} is already listed at targets[${dup}]` });
  });
  if (publishAtTiming && typeof req.publishAt === 'string') {
    const problem = checkPublishAt(req.publishAt);
    if (problem) ctx.addIssue({ code: 'custom', path: ['publishAt'], message: problem });
  }
  if (req.approval && typeof req.approval.timeout === 'string') {
    const ms = parseDuration(req.approval.timeout);
    // null: the format check above already reported it.
    if (ms !== null && (ms < 1000 || ms > MAX_APPROVAL_TIMEOUT_MS)) ctx.addIssue({ code: 'custom', path: ['approval', 'timeout'], message: 'approval.timeout must be between 1s and 30d' });
  }
}

export const pipelineRequestSchema = z.strictObject(pipelineRequestFields).superRefine((req, ctx) => refinePipelineRequest(req, ctx, { publishAtTiming: true }));

export const listQuerySchema = z.strictObject({
  status: z.enum(PIPELINE_STATUSES).optional(),
  platform: platformSchema.optional(),
  limit: z.coerce.number({ message: 'limit must be a whole number from 1 to 100' }).int('limit must be a whole number from 1 to 100').min(1, 'limit must be at least 1').max(100, 'limit must be at most 100').default(20),
  cursor: z.string().max(200).optional(),
  view: z.enum(['summary', 'full']).default('summary').describe('summary (the default): each item a PipelineSummary; full: each item the whole Pipeline (about 15 KB each)'),
});

export const idParams = z.object({ id: z.string().min(1).max(100) });

export const approveBodySchema = z
  .strictObject({
    edits: z
      .strictObject({
        title: z.string().max(500).optional(),
        body: z.string().max(20_000).optional(),
        variants: z.partialRecord(platformSchema, z.string().max(70_000)).optional(),
      })
      .optional(),
  })
  .default({});

export const rejectBodySchema = z.strictObject({ reason: z.string().trim().min(1, 'reason must not be empty').max(2000) });
export const publishAtBodySchema = z.strictObject({ publishAt: dateTimeString });
export const feedbackBodySchema = z.strictObject({
  score: z.number().int().min(0).max(10),
  approved: z.boolean().optional(),
  comment: z.string().max(5000).optional(),
});
