import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isTerminal, type PipelineState } from '../../domain/types';
import { createCapsRepository } from '../../db/caps-repo';
import { createFeedbackRepository } from '../../db/feedback-repo';
import type { FastifyBaseLogger } from 'fastify';
import { ResponseSerializationError } from 'fastify-type-provider-zod';
import type { PipelineRow } from '../../db/pipelines-repo';
import { createPipeline, PipelineNotStartedError, type CreationRequest } from '../../pipelines';
import { setPublishAtUpdate } from '../../workflows/messages';
import type { contentPipeline } from '../../workflows/content-pipeline';
import type { ApiDeps } from '../deps';
import { HttpError, notFound } from '../errors';
import { httpErrorFromPipelineCreation } from '../pipeline-errors';
import { presentPipeline } from '../present';
import { presentListItem } from '../present-list';
import { droppedFields } from '../serializer';
import { SummaryTexts, summaryPage } from '../summary-cache';
import { approvePipeline, rejectPipeline } from '../review/decisions';
import { typedResponses } from '../schemas/common';
import { textProblem } from '../schemas/storable';
import {
  approveBodySchema,
  checkPublishAt,
  feedbackBodySchema,
  idParams,
  listQuerySchema,
  pipelineRequestSchema,
  publishAtBodySchema,
  rejectBodySchema,
} from '../schemas/pipeline';
import {
  cancelledPipelineView,
  feedbackStatsView,
  feedbackView,
  PIPELINE_EVENTS_DESCRIPTION,
  pipelineEventStream,
  pipelinePageView,
  pipelineSummaryView,
  pipelineView,
} from '../schemas/pipeline-view';
import { httpErrorFromTemporal } from '../temporal-errors';

function encodeCursor(c: { createdAt: string; id: string }): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
}
/**
 * A cursor made by encodeCursor, or a 400. It is checked as strictly as it is made: a UTC timestamp as toISOString
 * writes it, in a year PostgreSQL can store, and a pipeline id that can be stored, so no forged or damaged cursor
 * reaches the database.
 */
function decodeCursor(text: string): { createdAt: string; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [createdAt, id] = parsed as unknown[];
      if (
        typeof createdAt === 'string' &&
        /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(createdAt) &&
        !Number.isNaN(Date.parse(createdAt)) &&
        new Date(createdAt).toISOString() === createdAt &&
        typeof id === 'string' &&
        id.length >= 1 &&
        id.length <= 100 &&
        textProblem(id) === null
      ) {
        return { createdAt, id };
      }
    }
  } catch {
    // fall through
  }
  throw new HttpError('validation_failed', 'querystring.cursor: not a valid cursor; pass nextCursor from a previous page as it is', [
    { path: 'querystring.cursor', message: 'not a cursor' },
  ]);
}

export const pipelineRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { pipelines, temporal, config, accounts } = deps;
  const feedback = createFeedbackRepository(deps.pool);
  const caps = createCapsRepository(deps.pool);
  const show = (row: PipelineRow, state: PipelineState = row.state) =>
    presentPipeline(state, row.workflowId, { temporalUiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace });
  const load = async (tenantId: string, id: string) => {
    const row = await pipelines.get(tenantId, id);
    if (!row) throw notFound(`pipeline ${id}`);
    return row;
  };
  const handleOf = (row: PipelineRow) => temporal.workflow.getHandle<typeof contentPipeline>(row.workflowId);
  const listOpts = { temporalUiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace };
  // 50 pages of 100 (about 7 MB): the newest pages of the tenants that read their lists, and the pages deep in them.
  const summaryTexts = new SummaryTexts(5_000);
  const summaryArray = z.array(pipelineSummaryView);
  /** List items as the route's serializer writes them, one JSON text each (a 500 where it refuses, dropped fields logged). */
  const encodeSummaries = (items: unknown[], method: string, url: string, log: FastifyBaseLogger): string[] => {
    const encoded = z.safeEncode(summaryArray, items as z.output<typeof summaryArray>);
    if (!encoded.success) throw new ResponseSerializationError(method, url, { cause: encoded.error });
    const dropped = droppedFields(items, encoded.data, 'items');
    if (dropped.length) log.warn({ method, route: url, dropped }, 'response fields dropped: the route\'s response schema does not describe them');
    return encoded.data.map((item) => JSON.stringify(item));
  };
  const failMapped = (err: unknown): never => {
    const mapped = httpErrorFromTemporal(err);
    if (mapped) throw mapped;
    throw err;
  };

  app.post(
    '/pipelines',
    {
      schema: {
        operationId: 'createPipeline',
        tags: ['pipelines'],
        summary: 'Start a pipeline',
        description: [
          'Optional Idempotency-Key header: the same key and body returns the same pipeline (200).',
          "With publishAt, each target account's daily caps (Instagram 50 per 24 h; RATE_LIMIT_<PLATFORM> windows of a day or more) must have room at that time:",
          'otherwise 422 `unprocessable` whose details name the next free time (`nextFreeAt`), or with `"whenFull": "next_slot"` the pipeline is created with publishAt moved there',
          '(its `publishAt` shows the new time, `request.publishAt` the one asked for, and its timeline records the move).',
        ].join(' '),
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }).loose(),
        body: pipelineRequestSchema,
        response: typedResponses({ 200: pipelineView, 202: pipelineView }),
      },
    },
    async (request, reply) => {
      const creation = {
        pipelines,
        accounts,
        workflows: temporal.workflow,
        taskQueue: config.temporal.taskQueue,
        maxActivePipelines: config.tenantMaxActivePipelines,
        dailyCaps: { repo: caps, limits: config.resilience.limits },
      };
      const source = { kind: 'api' as const, idempotencyKey: request.headers['idempotency-key'] };
      const { created, row } = await createPipeline(creation, request.tenantId, request.body as CreationRequest, source).catch((err: unknown) => {
        if (err instanceof PipelineNotStartedError) request.log.error({ err: err.cause, pipelineId: err.pipelineId }, 'could not start the workflow');
        throw httpErrorFromPipelineCreation(err) ?? err;
      });
      reply.header('location', `/v1/pipelines/${row.id}`);
      return reply.status(created ? 202 : 200).send(show(row));
    },
  );

  app.get(
    '/pipelines',
    {
      schema: {
        operationId: 'listPipelines',
        tags: ['pipelines'],
        summary: 'List pipelines, newest first',
        description: [
          'Each item is a PipelineSummary: the Pipeline without images, variants, the content body and the publications\' stored previews, so a page of 100 stays small and fast.',
          'With `view=full` each item is the whole Pipeline, as `GET /v1/pipelines/{id}` answers it. `view` in the answer says which.',
        ].join(' '),
        querystring: listQuerySchema,
        response: typedResponses({ 200: pipelinePageView }),
      },
    },
    async (request, reply) => {
      const q = request.query;
      const filter = { status: q.status, platform: q.platform, limit: q.limit, cursor: q.cursor ? decodeCursor(q.cursor) : undefined };
      if (q.view === 'full') {
        const page = await pipelines.list(request.tenantId, filter);
        return { view: 'full' as const, items: page.items.map((r) => show(r)), nextCursor: page.next ? encodeCursor(page.next) : null };
      }
      // Summaries: each item's JSON text as the response schema wrote it, kept until its row changes
      // (src/api/summary-cache.ts); the page sent as the JSON text it is, in the shape the schema describes.
      const url = request.routeOptions.url ?? request.url;
      const page = await summaryPage(pipelines, summaryTexts, request.tenantId, filter, (rows) =>
        encodeSummaries(rows.map((r) => presentListItem(r, listOpts)), request.method, url, request.log),
      );
      const body = `{"view":"summary","items":[${page.items.join(',')}],"nextCursor":${JSON.stringify(page.next ? encodeCursor(page.next) : null)}}`;
      return reply.type('application/json; charset=utf-8').send(body as never);
    },
  );

  app.get('/pipelines/:id', { schema: { operationId: 'getPipeline', tags: ['pipelines'], summary: 'A pipeline state', params: idParams, response: typedResponses({ 200: pipelineView }) } }, async (request) =>
    show(await load(request.tenantId, request.params.id)),
  );

  app.get('/pipelines/:id/events', { schema: { operationId: 'streamPipelineEvents', tags: ['pipelines'], summary: 'Server-Sent Events: `event: state` on every change', description: PIPELINE_EVENTS_DESCRIPTION, params: idParams, response: typedResponses({ 200: pipelineEventStream }) } }, async (request, reply) => {
    let row = await load(request.tenantId, request.params.id);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let closed = false;
    request.raw.on('close', () => {
      closed = true;
    });
    const send = (r: PipelineRow) => raw.write(`event: state\nid: ${r.state.version}\ndata: ${JSON.stringify(show(r))}\n\n`);
    send(row);
    let lastVersion = row.state.version;
    let lastBeat = Date.now();
    const pollMs = deps.eventsPollMs ?? 300;
    while (!closed && !isTerminal(row.state.status)) {
      await new Promise((r) => setTimeout(r, pollMs));
      if (closed) break;
      const next = await pipelines.get(request.tenantId, row.id).catch(() => null);
      if (next && next.state.version !== lastVersion) {
        row = next;
        lastVersion = next.state.version;
        send(row);
      } else if (Date.now() - lastBeat > 15_000) {
        raw.write(': keep-alive\n\n');
        lastBeat = Date.now();
      }
    }
    raw.end();
  });

  app.post(
    '/pipelines/:id/approve',
    { schema: { operationId: 'approvePipeline', tags: ['pipelines'], summary: 'Approve, optionally with edits', params: idParams, body: approveBodySchema, response: typedResponses({ 200: pipelineView }) } },
    async (request) => {
      const row = await load(request.tenantId, request.params.id);
      return show(row, await approvePipeline(temporal, row, request.body.edits, 'api'));
    },
  );

  app.post(
    '/pipelines/:id/reject',
    { schema: { operationId: 'rejectPipeline', tags: ['pipelines'], summary: 'Reject', params: idParams, body: rejectBodySchema, response: typedResponses({ 200: pipelineView }) } },
    async (request) => {
      const row = await load(request.tenantId, request.params.id);
      return show(row, await rejectPipeline(temporal, row, request.body.reason, 'api'));
    },
  );

  app.put(
    '/pipelines/:id/publish-at',
    { schema: { operationId: 'reschedulePipeline', tags: ['pipelines'], summary: 'Reschedule before publishing starts', params: idParams, body: publishAtBodySchema, response: typedResponses({ 200: pipelineView }) } },
    async (request) => {
      const problem = checkPublishAt(request.body.publishAt);
      if (problem) throw new HttpError('validation_failed', problem, [{ path: 'publishAt', message: problem }]);
      const row = await load(request.tenantId, request.params.id);
      if (isTerminal(row.status) || row.status === 'publishing') throw new HttpError('conflict', `pipeline is ${row.status}; publishAt can only change before publishing starts`);
      const state = await handleOf(row).executeUpdate(setPublishAtUpdate, { args: [{ publishAt: request.body.publishAt }] }).catch(failMapped);
      return show(row, state);
    },
  );

  app.post(
    '/pipelines/:id/cancel',
    { schema: { operationId: 'cancelPipeline', tags: ['pipelines'], summary: 'Cancel; what was already published stays and is reported', params: idParams, response: typedResponses({ 202: cancelledPipelineView }) } },
    async (request, reply) => {
      const row = await load(request.tenantId, request.params.id);
      if (isTerminal(row.status)) throw new HttpError('conflict', `pipeline is already ${row.status}`);
      await handleOf(row).cancel().catch(failMapped);
      return reply.status(202).send({ ...show(row), cancelRequested: true });
    },
  );

  app.post(
    '/pipelines/:id/feedback',
    { schema: { operationId: 'scorePipeline', tags: ['pipelines'], summary: 'Score a piece', params: idParams, body: feedbackBodySchema, response: typedResponses({ 201: feedbackView }) } },
    async (request, reply) => {
      const row = await load(request.tenantId, request.params.id);
      const id = `fb_${randomBytes(8).toString('hex')}`;
      const { score, approved, comment } = request.body;
      await feedback.record({
        id,
        tenantId: request.tenantId,
        pipelineId: row.id,
        score,
        approved: approved ?? null,
        comment: comment ?? null,
        provider: row.state.content?.provider ?? null,
        format: row.state.request.format,
      });
      return reply.status(201).send({ id, pipelineId: row.id, score, approved: approved ?? null, comment: comment ?? null });
    },
  );

  app.get(
    '/feedback/stats',
    {
      schema: {
        operationId: 'getFeedbackStats',
        tags: ['pipelines'],
        summary: 'Feedback by text provider',
        querystring: z.strictObject({ format: z.enum(['post', 'thread', 'article']).optional() }),
        response: typedResponses({ 200: feedbackStatsView }),
      },
    },
    async (request) => {
      const rows = await feedback.totalsByProvider(request.tenantId, request.query.format ?? null);
      const byProvider = rows.map((r) => ({
        provider: r.provider ?? 'unknown',
        count: Number(r.count),
        averageScore: r.avg === null ? null : Math.round(Number(r.avg) * 100) / 100,
        approvalRate: Number(r.decided) ? Number(r.approved) / Number(r.decided) : null,
      }));
      const count = byProvider.reduce((n, p) => n + p.count, 0);
      const sum = rows.reduce((n, r) => n + Number(r.avg ?? 0) * Number(r.count), 0);
      const decided = rows.reduce((n, r) => n + Number(r.decided), 0);
      const approvedN = rows.reduce((n, r) => n + Number(r.approved), 0);
      return {
        count,
        averageScore: count ? Math.round((sum / count) * 100) / 100 : null,
        approvalRate: decided ? approvedN / decided : null,
        byProvider,
      };
    },
  );
};
