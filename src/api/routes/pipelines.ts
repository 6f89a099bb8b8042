import { createHash, randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pipelineWorkflowId } from '../../domain/ids';
import { canonical, initialState } from '../../domain/pipeline-state';
import { isTerminal, type PipelineRequest, type PipelineState, type Priority } from '../../domain/types';
import type { PipelineRow } from '../../db/pipelines-repo';
import { approveUpdate, HeraldPlatforms, HeraldStatus, HeraldTenant, rejectUpdate, setPublishAtUpdate } from '../../workflows/messages';
import type { contentPipeline } from '../../workflows/content-pipeline';
import type { ApiDeps } from '../deps';
import { HttpError, notFound } from '../errors';
import { presentPipeline } from '../present';
import { responses } from '../schemas/common';
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
import { httpErrorFromTemporal } from '../temporal-errors';

const PRIORITY_KEY: Record<Priority, number> = { critical: 1, high: 2, normal: 3, low: 4 };



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
  const show = (row: PipelineRow, state: PipelineState = row.state) =>
    presentPipeline(state, row.workflowId, { temporalUiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace });
  const load = async (tenantId: string, id: string) => {
    const row = await pipelines.get(tenantId, id);
    if (!row) throw notFound(`pipeline ${id}`);
    return row;
  };
  const handleOf = (row: PipelineRow) => temporal.workflow.getHandle<typeof contentPipeline>(row.workflowId);
  const failMapped = (err: unknown): never => {
    const mapped = httpErrorFromTemporal(err);
    if (mapped) throw mapped;
    throw err;
  };

  async function startWorkflow(row: PipelineRow): Promise<void> {
    const req = row.state.request;
    try {
      await temporal.workflow.start('contentPipeline', {
        taskQueue: config.temporal.taskQueue,
        workflowId: row.workflowId,
        args: [{ state: row.state }],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        typedSearchAttributes: [
          { key: HeraldTenant, value: row.tenantId },
          { key: HeraldStatus, value: 'queued' },
          { key: HeraldPlatforms, value: [...new Set(req.targets.map((t) => t.platform))] },
        ],
        priority: { priorityKey: PRIORITY_KEY[req.priority], fairnessKey: row.tenantId },
        memo: { tenantId: row.tenantId },
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw err;
    }
  }

  app.post(
    '/pipelines',
    {
      schema: {
        summary: 'Start a pipeline',
        description: 'Optional Idempotency-Key header: the same key and body returns the same pipeline (200).',
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }).loose(),
        body: pipelineRequestSchema,
        response: responses(200, 202),
      },
    },
    async (request, reply) => {
      const tenantId = request.tenantId;
      const body = request.body as PipelineRequest;
      const idempotencyKey = request.headers['idempotency-key'];
      const requestHash = createHash('sha256').update(canonical(body)).digest('hex');
      if (!body.dryRun) {
        for (const [i, t] of body.targets.entries()) {
          const account = await accounts.get(tenantId, t.accountId!);
          if (!account) throw new HttpError('validation_failed', `targets[${i}].accountId: no connected account ${t.accountId}`, [{ path: `targets.${i}.accountId`, message: 'unknown account' }]);
          if (account.platform !== t.platform) {
            throw new HttpError('validation_failed', `targets[${i}].accountId: account ${t.accountId} is a ${account.platform} account, not ${t.platform}`, [
              { path: `targets.${i}.accountId`, message: 'platform mismatch' },
            ]);
          }
        }
      }
      if (idempotencyKey) {
        // A replay is answered before the backlog check: it creates nothing.
        const existing = await deps.pool.query<{ id: string }>('SELECT id FROM pipelines WHERE tenant_id = $1 AND idempotency_key = $2', [tenantId, idempotencyKey]);
        if (existing.rows[0]) return replay(await load(tenantId, existing.rows[0].id));
      }
      if ((await pipelines.countActive(tenantId)) >= config.tenantMaxActivePipelines) {
        throw new HttpError('backlog_full', `this tenant already has ${config.tenantMaxActivePipelines} active pipelines; try again when some finish`, [], 30);
      }
      const id = `pl_${randomBytes(10).toString('hex')}`;
      const state = initialState(id, tenantId, body, new Date().toISOString());
      const { created, row } = await pipelines.insert({
        id,
        tenantId,
        workflowId: pipelineWorkflowId(tenantId, id),
        request: body,
        state,
        idempotencyKey,
        requestHash,
      });
      if (!created) return replay(row);
      try {
        await startWorkflow(row);
      } catch (err) {
        request.log.error({ err, pipelineId: id }, 'could not start the workflow');
        if (!idempotencyKey) await deps.pool.query('DELETE FROM pipelines WHERE id = $1 AND version = 0', [id]);
        throw new HttpError('unavailable', 'Temporal is not reachable; the pipeline was not started', [], 5);
      }
      reply.header('location', `/v1/pipelines/${id}`);
      return reply.status(202).send(show(row));

      async function replay(existing: PipelineRow) {
        if (existing.requestHash !== requestHash) {
          throw new HttpError('unprocessable', 'Idempotency-Key was already used with a different request body', [{ pipelineId: existing.id }]);
        }
        // The first attempt may have died between storing and starting: starting again is idempotent.
        if (existing.state.version === 0) await startWorkflow(existing).catch(() => undefined);
        reply.header('location', `/v1/pipelines/${existing.id}`);
        return reply.status(200).send(show(existing));
      }
    },
  );

  app.get(
    '/pipelines',
    { schema: { summary: 'List pipelines, newest first', querystring: listQuerySchema, response: responses(200) } },
    async (request) => {
      const q = request.query;
      const page = await pipelines.list(request.tenantId, {
        status: q.status,
        platform: q.platform,
        limit: q.limit,
        cursor: q.cursor ? decodeCursor(q.cursor) : undefined,
      });
      return { items: page.items.map((r) => show(r)), nextCursor: page.next ? encodeCursor(page.next) : null };
    },
  );

  app.get('/pipelines/:id', { schema: { summary: 'A pipeline state', params: idParams, response: responses(200) } }, async (request) =>
    show(await load(request.tenantId, request.params.id)),
  );

  app.get('/pipelines/:id/events', { schema: { summary: 'Server-Sent Events: `event: state` on every change', params: idParams } }, async (request, reply) => {
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
    { schema: { summary: 'Approve, optionally with edits', params: idParams, body: approveBodySchema, response: responses(200) } },
    async (request) => {
      const row = await load(request.tenantId, request.params.id);
      if (isTerminal(row.status)) throw new HttpError('conflict', `pipeline is ${row.status}, not awaiting_approval`);
      const state = await handleOf(row).executeUpdate(approveUpdate, { args: [{ edits: request.body.edits }] }).catch(failMapped);
      return show(row, state);
    },
  );

  app.post(
    '/pipelines/:id/reject',
    { schema: { summary: 'Reject', params: idParams, body: rejectBodySchema, response: responses(200) } },
    async (request) => {
      const row = await load(request.tenantId, request.params.id);
      if (isTerminal(row.status)) throw new HttpError('conflict', `pipeline is ${row.status}, not awaiting_approval`);
      const state = await handleOf(row).executeUpdate(rejectUpdate, { args: [{ reason: request.body.reason }] }).catch(failMapped);
      return show(row, state);
    },
  );

  app.put(
    '/pipelines/:id/publish-at',
    { schema: { summary: 'Reschedule before publishing starts', params: idParams, body: publishAtBodySchema, response: responses(200) } },
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
    { schema: { summary: 'Cancel; what was already published stays and is reported', params: idParams, response: responses(202) } },
    async (request, reply) => {
      const row = await load(request.tenantId, request.params.id);
      if (isTerminal(row.status)) throw new HttpError('conflict', `pipeline is already ${row.status}`);
      await handleOf(row).cancel().catch(failMapped);
      return reply.status(202).send({ ...show(row), cancelRequested: true });
    },
  );

  app.post(
    '/pipelines/:id/feedback',
    { schema: { summary: 'Score a piece', params: idParams, body: feedbackBodySchema, response: responses(201) } },
    async (request, reply) => {
      const row = await load(request.tenantId, request.params.id);
      const id = `fb_${randomBytes(8).toString('hex')}`;
      const { score, approved, comment } = request.body;
      await deps.pool.query(
        `INSERT INTO feedback (id, tenant_id, pipeline_id, score, approved, comment, provider, format) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
        [id, request.tenantId, row.id, score, approved ?? null, comment ?? null, row.state.content?.provider ?? null, row.state.request.format],
      );
      return reply.status(201).send({ id, pipelineId: row.id, score, approved: approved ?? null, comment: comment ?? null });
    },
  );

  app.get(
    '/feedback/stats',
    { schema: { summary: 'Feedback by text provider', querystring: z.strictObject({ format: z.enum(['post', 'thread', 'article']).optional() }) } },
    async (request) => {
      const { rows } = await deps.pool.query<{ provider: string | null; count: string; avg: string | null; approved: string; decided: string }>(
        `SELECT provider, count(*) AS count, avg(score) AS avg, count(*) FILTER (WHERE approved) AS approved, count(approved) AS decided
         FROM feedback WHERE tenant_id = $1 AND ($2::text IS NULL OR format = $2) GROUP BY provider ORDER BY provider`,
        [request.tenantId, request.query.format ?? null],
      );
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
