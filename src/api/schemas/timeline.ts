// What GET /v1/pipelines/{id}/timeline answers: the pipeline's events, oldest first, one schema per event type
// (src/domain/timeline.ts). No checks a stored event could fail: these schemas also serialize the answer.
import { z } from 'zod';
import { PIPELINE_STATUSES, PLATFORMS, PUBLICATION_STATUSES } from '../../domain/types';
import { errorInfoSchema } from './common';

const common = {
  id: z.string().describe('stable: the same event always has the same id'),
  pipelineId: z.string(),
  at: z.string().describe('when it happened (ISO 8601)'),
};
const publication = {
  index: z.number().describe("the target's position in the request's targets"),
  platform: z.enum(PLATFORMS),
  accountId: z.string().nullable(),
  attempts: z.number(),
  error: errorInfoSchema.nullable(),
};

export const timelineEventSchema = z
  .discriminatedUnion('type', [
    z.object({ ...common, type: z.literal('stage'), from: z.enum(PIPELINE_STATUSES).nullable(), to: z.enum(PIPELINE_STATUSES) }).describe('the pipeline moved to a new status'),
    z
      .object({ ...common, type: z.literal('provider_used'), stage: z.enum(['text', 'image']), provider: z.string(), model: z.string().nullable(), cached: z.boolean() })
      .describe('the provider that wrote the text, or the source the images came from'),
    z
      .object({
        ...common,
        type: z.literal('provider_skipped'),
        stage: z.enum(['text', 'image']),
        provider: z.string(),
        failureType: z.string().describe('RateLimited, BreakerOpen, QuotaExhausted, Permanent, Transient...'),
        reason: z.string(),
      })
      .describe('a provider passed over before the one that wrote, and why'),
    z.object({ ...common, type: z.literal('image_fallback'), source: z.string(), reason: z.string() }).describe('the images came from a fallback source; why the ones before it gave none'),
    z
      .object({ ...common, type: z.literal('publication_attempt'), ...publication, status: z.enum(PUBLICATION_STATUSES), url: z.string().nullable() })
      .describe('a publication finished: published, previewed (dry run), failed or skipped'),
    z.object({ ...common, type: z.literal('publication_waiting'), ...publication, retryAt: z.string().nullable() }).describe('a publication waits for a quota or an open breaker until retryAt'),
    z
      .object({
        ...common,
        type: z.literal('approval'),
        decision: z.enum(['approved', 'rejected', 'timed_out']),
        by: z.enum(['api', 'review_link']).nullable().describe('who decided; null for a timeout'),
        reason: z.string().nullable(),
        edited: z.boolean(),
      })
      .describe('a decision on a pipeline awaiting approval'),
    z.object({ ...common, type: z.literal('edit'), fields: z.array(z.string()).describe('e.g. title, body, variants.x') }).describe('content changed by an edit'),
    z
      .object({ ...common, type: z.literal('publish_time'), from: z.string().nullable(), to: z.string().nullable(), reason: z.string().nullable() })
      .describe('the publish time changed'),
    z.object({ ...common, type: z.literal('error'), code: z.string(), message: z.string(), hint: z.string().nullable() }).describe("the pipeline's error, with what to do about it"),
  ])
  .meta({ id: 'TimelineEvent' });

export const timelineView = z.object({ pipelineId: z.string(), events: z.array(timelineEventSchema).describe('oldest first') }).meta({ id: 'PipelineTimeline' });
