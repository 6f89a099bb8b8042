// What the pipeline routes answer. These schemas also serialize the answers (a field not named here would be dropped),
// so they describe the whole state as src/api/present.ts shows it, with no checks a stored value could fail: a state
// written by an earlier version must still be shown.
import { z } from 'zod';
import { FORMATS, PIPELINE_STATUSES, PLATFORMS, PRIORITIES, PUBLICATION_STATUSES } from '../../domain/types';
import { errorInfoSchema } from './common';

/** The request as the pipeline stored it (defaults applied). */
export const storedRequestSchema = z.object({
  topic: z.string(),
  brief: z.string().optional(),
  voice: z.string().optional(),
  audience: z.string().optional(),
  format: z.enum(FORMATS),
  targets: z.array(z.object({ platform: z.enum(PLATFORMS), accountId: z.string().optional() })),
  image: z.object({ mode: z.enum(['auto', 'none']), style: z.string().optional(), sources: z.array(z.string()).optional() }),
  publishAt: z.string().optional(),
  approval: z.object({ required: z.boolean(), timeout: z.string().optional(), onTimeout: z.enum(['reject', 'publish']) }).optional(),
  priority: z.enum(PRIORITIES),
  dryRun: z.boolean(),
  cache: z.boolean().optional(),
  whenFull: z.enum(['refuse', 'next_slot']).optional(),
});

const contentSchema = z.object({
  title: z.string(),
  body: z.string(),
  hashtags: z.array(z.string()),
  provider: z.string(),
  model: z.string(),
  cached: z.boolean(),
  usage: z.object({ inputTokens: z.number(), outputTokens: z.number(), totalTokens: z.number() }).nullable().optional(),
  skipped: z
    .array(z.object({ provider: z.string(), type: z.string().describe('the failure type: RateLimited, BreakerOpen, QuotaExhausted...'), reason: z.string() }))
    .optional()
    .describe('providers tried before the one that wrote, and why each was passed over'),
});

const imageSchema = z.object({
  id: z.string(),
  url: z.string(),
  source: z.string(),
  alt: z.string(),
  attribution: z.string().nullable(),
  fallbackReason: z.string().nullable(),
  width: z.number().optional(),
  height: z.number().optional(),
});

export const variantSchema = z.object({
  platform: z.enum(PLATFORMS),
  parts: z.array(z.string()),
  length: z.number().describe("the longest part's length, counted the platform's way"),
  limit: z.number(),
  adaptations: z.array(z.string()),
});

const publicationSchema = z.object({
  platform: z.enum(PLATFORMS),
  accountId: z.string().nullable(),
  status: z.enum(PUBLICATION_STATUSES),
  externalId: z.string().nullable(),
  url: z.string().nullable(),
  attempts: z.number(),
  error: errorInfoSchema.nullable().describe('why it failed, waits or was skipped'),
  retryAt: z.string().nullable(),
  publishedAt: z.string().nullable(),
  preview: z.unknown().optional().describe('dry run: the exact request that would have been sent (secrets redacted)'),
});

const approvalSchema = z.object({
  required: z.boolean(),
  timeout: z.string().nullable(),
  onTimeout: z.enum(['reject', 'publish']),
  deadline: z.string().nullable(),
  decision: z.enum(['approved', 'rejected', 'timed_out']).nullable(),
  decidedAt: z.string().nullable(),
  reason: z.string().nullable(),
  edited: z.boolean(),
  by: z.enum(['api', 'review_link']).optional().describe('who decided: a caller with an API key or a reviewer through a review link'),
});

/** A pipeline's state as every route (and the event stream) shows it. */
export const pipelineView = z
  .object({
    id: z.string(),
    status: z.enum(PIPELINE_STATUSES),
    createdAt: z.string(),
    updatedAt: z.string(),
    request: storedRequestSchema,
    content: contentSchema.nullable(),
    images: z.array(imageSchema),
    variants: z.array(variantSchema),
    publications: z.array(publicationSchema),
    publishAt: z.string().nullable(),
    approval: approvalSchema.nullable(),
    error: errorInfoSchema.nullable(),
    links: z.object({
      self: z.string(),
      events: z.string().describe('the Server-Sent Events stream of this state'),
      timeline: z.string().describe("the pipeline's recorded events"),
      temporal: z.string().describe("the workflow in Temporal's web UI"),
    }),
  })
  .meta({ id: 'Pipeline' });

/**
 * A list item (GET /v1/pipelines without view=full): the pipeline as GET /v1/pipelines/{id} shows it, same fields at the
 * same paths, without the parts only its own page reads: images, variants, the content's body, hashtags, usage and
 * skipped providers, each publication's preview, and the request's brief.
 */
export const pipelineSummaryView = pipelineView
  .omit({ images: true, variants: true })
  .extend({
    request: storedRequestSchema.omit({ brief: true }),
    content: contentSchema.omit({ body: true, hashtags: true, usage: true, skipped: true }).nullable(),
    publications: z.array(publicationSchema.omit({ preview: true })),
  })
  .meta({
    id: 'PipelineSummary',
    description: "A pipeline as the list shows it: the Pipeline's fields at the same paths, without images, variants, content.body, content.hashtags, content.usage, content.skipped, publications[].preview and request.brief (ask with view=full for those)",
  });

const nextCursor = z.string().nullable().describe('pass as `cursor` for the next page (with the same filters); null on the last');
export const pipelineListView = z
  .object({ view: z.literal('summary'), items: z.array(pipelineSummaryView), nextCursor })
  .meta({ id: 'PipelineList', description: 'A page of the list (the default view): each item a PipelineSummary' });
export const pipelineFullListView = z
  .object({ view: z.literal('full'), items: z.array(pipelineView), nextCursor })
  .meta({ id: 'PipelineFullList', description: 'A page of the list with view=full: each item the whole Pipeline, as GET /v1/pipelines/{id} answers it' });
export const pipelinePageView = z.discriminatedUnion('view', [pipelineListView, pipelineFullListView]);

export const cancelledPipelineView = pipelineView.extend({ cancelRequested: z.literal(true) }).meta({ id: 'CancelledPipeline' });

export const feedbackView = z
  .object({ id: z.string(), pipelineId: z.string(), score: z.number(), approved: z.boolean().nullable(), comment: z.string().nullable() })
  .meta({ id: 'Feedback' });

const feedbackTotals = {
  count: z.number(),
  averageScore: z.number().nullable().describe('null when nothing was scored'),
  approvalRate: z.number().nullable().describe('approved / decided, 0..1; null when nothing was decided'),
};
export const feedbackStatsView = z
  .object({ ...feedbackTotals, byProvider: z.array(z.object({ provider: z.string(), ...feedbackTotals })) })
  .meta({ id: 'FeedbackStats' });

export const PIPELINE_EVENTS_DESCRIPTION = [
  'A `text/event-stream` (Server-Sent Events) of the pipeline state. Each change is one event:',
  '',
  '```',
  'event: state',
  'id: <version>',
  'data: <the Pipeline, as GET /v1/pipelines/{id} answers it, on one line>',
  '```',
  '',
  'The first event is the state at connection time. A `: keep-alive` comment follows 15 s without a change. The',
  'server ends the stream after the event of a terminal status (published, partially_published, failed, rejected,',
  'cancelled, expired); a client that loses the connection earlier reconnects and gets the current state first.',
].join('\n');

export const pipelineEventStream = {
  description: 'Server-Sent Events; each `data:` line is a Pipeline (see the description)',
  content: { 'text/event-stream': { schema: z.string().describe('`event: state` frames whose `data` is a Pipeline as JSON') } },
};
