import { z } from 'zod';
import { PLATFORMS } from '../../domain/types';
import { AFTER_GENERATION } from '../../pipelines/validate-request';
import { pipelineRequestFields, platformSchema, refinePipelineRequest } from './pipeline';
import { variantSchema } from './pipeline-view';

const PROBLEM_CODES = [
  'unknown_account',
  'platform_mismatch',
  'account_reauth_required',
  'account_disabled',
  'publish_at_past',
  'publish_at_too_far',
  'daily_cap_full',
  'text_too_long',
  'text_invalid',
  'not_a_target',
] as const;

/** The exact content to check, as a pipeline would have it after generation. */
const contentSchema = z.strictObject({
  title: z.string().max(500).default(''),
  body: z.string().max(20_000),
  hashtags: z.array(z.string().max(100)).max(30).default([]),
});

/**
 * A pipeline request (with `topic`), or the same with `content` instead of `topic`, optionally with each platform's own
 * text in `variants`. A publishAt in the past is a problem in the answer, not a 400.
 */
export const validateBodySchema = z
  .strictObject({
    ...pipelineRequestFields,
    topic: pipelineRequestFields.topic.optional(),
    content: contentSchema.optional().describe('the exact text to check instead of a topic: every variant is counted and checked'),
    variants: z.partialRecord(platformSchema, z.string().max(70_000)).optional().describe("a platform's own text, used as it is (as in an approval's edits)"),
  })
  .superRefine((req, ctx) => {
    if ((req.topic === undefined) === (req.content === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['topic'], message: 'give either topic (a pipeline request) or content (exact text), not both or neither' });
    }
    if (req.variants !== undefined && req.content === undefined) {
      ctx.addIssue({ code: 'custom', path: ['variants'], message: 'variants need content: they are checked as exact text' });
    }
    refinePipelineRequest(req, ctx, { publishAtTiming: false });
  });

export const validationView = z
  .object({
    ok: z.boolean().describe('true when no problem was found'),
    targets: z.array(
      z.object({
        platform: z.enum(PLATFORMS),
        accountId: z.string().nullable(),
        variant: variantSchema.nullable().describe('the variant Herald would publish; null with a topic (the text is written later) or when the text cannot be adapted'),
        note: z.string().nullable().describe(`why there is no variant, e.g. "${AFTER_GENERATION}"`),
      }),
    ),
    problems: z.array(
      z.object({
        target: z.number().nullable().describe('index in targets; null for the whole request'),
        platform: z.enum(PLATFORMS).nullable(),
        path: z.string().describe('the field at fault, dotted: targets.0.accountId, content.body, variants.x, publishAt'),
        code: z.enum(PROBLEM_CODES),
        message: z.string(),
        hint: z.string().describe('what to do about it'),
        nextFreeAt: z.string().nullable().optional().describe('daily_cap_full: the first time every target has room'),
        accountId: z.string().optional().describe('daily_cap_full: the account whose cap is full'),
        cap: z
          .object({ count: z.number().int(), window: z.string() })
          .optional()
          .describe('daily_cap_full: the cap, e.g. {count: 50, window: "24h"}'),
      }),
    ),
  })
  .meta({ id: 'Validation' });
