import { z } from 'zod';
import { FORMATS, PIPELINE_STATUSES, PLATFORMS, PRIORITIES } from '../../domain/types';
import { parseDuration } from '../../domain/duration';
import { IMAGE_SOURCE_NAMES } from '../../providers/images/types';
import { dateTimeString, durationString } from './common';

const MAX_APPROVAL_TIMEOUT_MS = 30 * 86_400_000;
const MAX_SCHEDULE_AHEAD_MS = 366 * 86_400_000;

export const platformSchema = z.enum(PLATFORMS, { message: `must be one of ${PLATFORMS.join(', ')}` });

export const targetSchema = z.strictObject({
  platform: platformSchema,
  accountId: z.string().min(1).max(100).optional(),
});

/** publishAt must lie ahead (a little clock skew is forgiven) and within a year. */
export function checkPublishAt(value: string, now = Date.now()): string | null {
  const t = Date.parse(value);
  if (t < now - 5_000) return 'publishAt is in the past';
  if (t > now + MAX_SCHEDULE_AHEAD_MS) return 'publishAt is more than a year ahead';
  return null;
}

export const pipelineRequestSchema = z
  .strictObject({
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
  })
  .superRefine((req, ctx) => {
    // Zod still runs this when a field failed its own check: look before touching anything.
    if (!Array.isArray(req.targets) || !req.targets.every((t) => t && typeof t === 'object')) return;
    req.targets.forEach((t, i) => {
      if (!req.dryRun && !t.accountId) {
        ctx.addIssue({ code: 'custom', path: ['targets', i, 'accountId'], message: `accountId is required for ${t.platform} unless dryRun is true` });
      }
      const dup = req.targets.findIndex((o) => o.platform === t.platform && o.accountId === t.accountId);
      if (dup !== i) ctx.addIssue({ code: 'custom', path: ['targets', i], message: `duplicate target: ${t.platform} is already listed at targets[${dup}]` });
    });
    if (typeof req.publishAt === 'string') {
      const problem = checkPublishAt(req.publishAt);
      if (problem) ctx.addIssue({ code: 'custom', path: ['publishAt'], message: problem });
    }
    if (req.approval && typeof req.approval.timeout === 'string') {
      const ms = parseDuration(req.approval.timeout);
      // null: the format check above already reported it.
      if (ms !== null && (ms < 1000 || ms > MAX_APPROVAL_TIMEOUT_MS)) ctx.addIssue({ code: 'custom', path: ['approval', 'timeout'], message: 'approval.timeout must be between 1s and 30d' });
    }
  });

export const listQuerySchema = z.strictObject({
  status: z.enum(PIPELINE_STATUSES).optional(),
  platform: platformSchema.optional(),
  limit: z.coerce.number({ message: 'limit must be a whole number from 1 to 100' }).int('limit must be a whole number from 1 to 100').min(1, 'limit must be at least 1').max(100, 'limit must be at most 100').default(20),
  cursor: z.string().max(200).optional(),
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

