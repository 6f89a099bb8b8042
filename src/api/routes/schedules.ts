import { randomBytes } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleSpec } from '@temporalio/client';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { scheduledRunIdempotencyKey } from '../../domain/pipeline-state';
import { createScheduleRunRepository } from '../../db/schedule-runs-repo';
import { createScheduleRepository, type ScheduleRow, type ScheduleSpecInput } from '../../db/schedules-repo';
import { parseDuration } from '../../domain/duration';
import type { PipelineRequest } from '../../domain/types';
import { HeraldTenant } from '../../workflows/messages';
import type { ScheduledPipelineInput } from '../../workflows/scheduled-pipeline';
import { checkTargetAccounts } from '../../pipelines';
import { tenantPriority } from '../../pipelines/start-options';
import type { ApiDeps } from '../deps';
import { HttpError, notFound } from '../errors';
import { httpErrorFromPipelineCreation } from '../pipeline-errors';
import { noContent, typedResponses } from '../schemas/common';
import { canonicalTimeZone, scheduleIdParams, scheduleRequestSchema } from '../schemas/schedule';
import { scheduleListView, scheduleView } from '../schemas/schedule-view';

export function temporalScheduleId(tenantId: string, scheduleId: string): string {
  return `herald-schedule-${tenantId}-${scheduleId}`;
}
/** The workflow id each run gets (Temporal appends the run's scheduled time to it). */
export function scheduledRunWorkflowIdPrefix(tenantId: string, scheduleId: string): string {
  return `scheduled-pipeline-${tenantId}-${scheduleId}`;
}

/** What recent runs made: pipeline ids by idempotency key, skip reasons by run workflow id. */
interface RunOutcomes {
  pipelineIds: Map<string, string>;
  skipped: Map<string, string>;
}

/** How many past runs a schedule shows (Temporal keeps the last 10). */
const RECENT_RUNS = 5;

export const scheduleRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { temporal, config, accounts, pool, pipelines } = deps;
  const schedules = createScheduleRepository(pool);
  const scheduleRuns = createScheduleRunRepository(pool);

  const load = async (tenantId: string, id: string) => {
    const row = await schedules.get(tenantId, id);
    if (!row) throw notFound(`schedule ${id}`);
    return row;
  };
  const handleOf = (row: ScheduleRow) => temporal.schedule.getHandle(row.temporalScheduleId);

  /** Temporal's view (next and recent runs), or null when it cannot be had: the row alone is still worth showing. */
  async function describe(row: ScheduleRow, log: FastifyBaseLogger): Promise<ScheduleDescription | null> {
    try {
      return await handleOf(row).describe();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) log.warn({ err, scheduleId: row.id }, 'could not describe the Temporal schedule');
      return null;
    }
  }

  /**
   * The pipelines recent runs created, found by the idempotency key each run stores its pipeline under, and why runs
   * that made none were skipped (by run workflow id).
   */
  async function runsOf(tenantId: string, rows: { row: ScheduleRow; desc: ScheduleDescription | null }[]): Promise<RunOutcomes> {
    const runs = rows.flatMap(({ row, desc }) => (desc?.info.recentActions ?? []).map((a) => ({ scheduleId: row.id, runWorkflowId: a.action.workflow.workflowId })));
    const [pipelineIds, skipped] = await Promise.all([
      pipelines.idsByIdempotencyKey(tenantId, runs.map((r) => scheduledRunIdempotencyKey(r.scheduleId, r.runWorkflowId))),
      scheduleRuns.skipReasons(tenantId, runs),
    ]);
    return { pipelineIds, skipped };
  }

  function present(row: ScheduleRow, desc: ScheduleDescription | null, { pipelineIds, skipped }: RunOutcomes = { pipelineIds: new Map(), skipped: new Map() }) {
    // Temporal is the truth about pausing; the row follows it (and answers when Temporal cannot).
    const paused = desc ? desc.state.paused : row.paused;
    const next = desc?.info.nextActionTimes[0];
    const recent = [...(desc?.info.recentActions ?? [])]
      .sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime())
      .slice(0, RECENT_RUNS)
      .map((a) => ({
        runAt: a.takenAt.toISOString(),
        pipelineId: pipelineIds.get(scheduledRunIdempotencyKey(row.id, a.action.workflow.workflowId)) ?? null,
        ...(skipped.has(a.action.workflow.workflowId) ? { skipped: skipped.get(a.action.workflow.workflowId)! } : {}),
      }));
    return {
      id: row.id,
      ...('cron' in row.spec ? { cron: row.spec.cron } : { every: row.spec.every }),
      timezone: row.timezone,
      pipeline: row.request,
      paused,
      // A paused schedule runs at no time; Temporal still computes the times it would run at.
      nextRunAt: !paused && next ? next.toISOString() : null,
      lastRunAt: recent[0]?.runAt ?? null,
      recentRuns: recent,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
      links: {
        self: `/v1/schedules/${row.id}`,
        temporal: `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/schedules/${encodeURIComponent(row.temporalScheduleId)}`,
      },
    };
  }

  async function show(tenantId: string, row: ScheduleRow, log: FastifyBaseLogger) {
    const desc = await describe(row, log);
    return present(row, desc, await runsOf(tenantId, [{ row, desc }]));
  }

  /** A Temporal call that failed: a schedule gone from Temporal is a conflict, anything else means Temporal is away. */
  const temporalFailure = (log: FastifyBaseLogger, row: ScheduleRow) => (err: unknown): never => {
    if (err instanceof ScheduleNotFoundError) {
      throw new HttpError('conflict', `schedule ${row.id} no longer exists in Temporal; delete it and create it again`);
    }
    log.error({ err, scheduleId: row.id }, 'Temporal schedule call failed');
    throw new HttpError('unavailable', 'Temporal is not reachable; try again', [], 5);
  };

  app.post(
    '/schedules',
    {
      schema: {
        operationId: 'createSchedule',
        tags: ['schedules'],
        summary: 'Create a recurring pipeline',
        description: 'Exactly one of `cron` (5 fields, evaluated in `timezone`, default UTC) or `every` (at least 1m). Each run starts `pipeline` (no `publishAt`) as a new pipeline.',
        body: scheduleRequestSchema,
        response: typedResponses({ 201: scheduleView }),
      },
    },
    async (request, reply) => {
      const tenantId = request.tenantId;
      const body = request.body;
      const pipeline = body.pipeline as PipelineRequest;
      // The same check as POST /v1/pipelines, made once here rather than failing every run later.
      await checkTargetAccounts(accounts, tenantId, pipeline, 'pipeline.').catch((err: unknown) => {
        throw httpErrorFromPipelineCreation(err) ?? err;
      });
      const spec: ScheduleSpecInput = body.cron !== undefined ? { cron: body.cron.trim().replace(/\s+/g, ' ') } : { every: body.every! };
      const timezone = body.timezone === undefined ? 'UTC' : canonicalTimeZone(body.timezone)!;
      const id = `sc_${randomBytes(10).toString('hex')}`;
      const row = await schedules.insert({ id, tenantId, temporalScheduleId: temporalScheduleId(tenantId, id), spec, timezone, request: pipeline });

      const temporalSpec: ScheduleSpec = 'cron' in spec ? { cronExpressions: [spec.cron], timezone } : { intervals: [{ every: parseDuration(spec.every)! }], timezone };
      const input: ScheduledPipelineInput = { tenantId, scheduleId: id, request: pipeline };
      try {
        await temporal.schedule.create({
          scheduleId: row.temporalScheduleId,
          spec: temporalSpec,
          action: {
            type: 'startWorkflow',
            workflowType: 'scheduledPipeline',
            taskQueue: config.temporal.taskQueue,
            workflowId: scheduledRunWorkflowIdPrefix(tenantId, id),
            args: [input],
            typedSearchAttributes: [{ key: HeraldTenant, value: tenantId }],
            memo: { tenantId, scheduleId: id },
            // The run (and the activity that creates its pipeline) queues with the tenant's fairness key and the
            // pipeline's priority, like the pipeline it starts. The SDK (1.24) sends an action's priority but its type
            // leaves the field out, hence the spread.
            ...{ priority: tenantPriority(tenantId, pipeline.priority ?? 'normal') },
          },
          policies: {
            // BUFFER_ONE rather than ALLOW_ALL: a run only lives until its pipeline has started (seconds), so runs
            // overlap only when runs cannot make progress (no worker, PostgreSQL down). ALLOW_ALL would then pile up
            // one run per missed tick and, on recovery, publish the same recurring post several times at once;
            // BUFFER_ONE keeps one run waiting and drops the rest. The pipelines themselves never block the schedule:
            // they are abandoned children, not part of the run.
            overlap: ScheduleOverlapPolicy.BUFFER_ONE,
            // After an outage, a tick more than an hour late is skipped rather than published late.
            catchupWindow: '1 hour',
          },
          memo: { tenantId, scheduleId: id },
          state: { note: `Herald recurring pipeline ${id} for tenant ${tenantId}` },
        });
      } catch (err) {
        await schedules.delete(tenantId, id).catch(() => undefined);
        if (err instanceof TypeError) {
          // The server refused the spec ("Invalid schedule spec: ..."): our own checks let something through.
          const field = /time ?zone|location/i.test(err.message) ? 'timezone' : 'cron' in spec ? 'cron' : 'every';
          throw new HttpError('validation_failed', `${field}: Temporal refused the schedule: ${err.message}`, [{ path: field, message: err.message }]);
        }
        request.log.error({ err, scheduleId: id }, 'could not create the Temporal schedule');
        throw new HttpError('unavailable', 'Temporal is not reachable; the schedule was not created', [], 5);
      }
      reply.header('location', `/v1/schedules/${id}`);
      return reply.status(201).send(await show(tenantId, row, request.log));
    },
  );

  app.get('/schedules', { schema: { operationId: 'listSchedules', tags: ['schedules'], summary: "The tenant's recurring pipelines, newest first", response: typedResponses({ 200: scheduleListView }) } }, async (request) => {
    const rows = await schedules.list(request.tenantId);
    const described = await Promise.all(rows.map(async (row) => ({ row, desc: await describe(row, request.log) })));
    const outcomes = await runsOf(request.tenantId, described);
    return { items: described.map(({ row, desc }) => present(row, desc, outcomes)) };
  });

  app.post(
    '/schedules/:id/pause',
    { schema: { operationId: 'pauseSchedule', tags: ['schedules'], summary: 'Pause a schedule (idempotent)', params: scheduleIdParams, response: typedResponses({ 200: scheduleView }) } },
    async (request) => {
      const row = await load(request.tenantId, request.params.id);
      await handleOf(row).pause('paused through the Herald API').catch(temporalFailure(request.log, row));
      const updated = (await schedules.setPaused(request.tenantId, row.id, true)) ?? row;
      return show(request.tenantId, updated, request.log);
    },
  );

  app.post(
    '/schedules/:id/unpause',
    { schema: { operationId: 'unpauseSchedule', tags: ['schedules'], summary: 'Resume a paused schedule (idempotent)', params: scheduleIdParams, response: typedResponses({ 200: scheduleView }) } },
    async (request) => {
      const row = await load(request.tenantId, request.params.id);
      await handleOf(row).unpause('unpaused through the Herald API').catch(temporalFailure(request.log, row));
      const updated = (await schedules.setPaused(request.tenantId, row.id, false)) ?? row;
      return show(request.tenantId, updated, request.log);
    },
  );

  app.delete(
    '/schedules/:id',
    {
      schema: {
        operationId: 'deleteSchedule',
        tags: ['schedules'],
        summary: 'Delete a schedule; pipelines it already started carry on',
        params: scheduleIdParams,
        response: typedResponses({ 204: noContent }),
      },
    },
    async (request, reply) => {
      const row = await load(request.tenantId, request.params.id);
      await handleOf(row)
        .delete()
        .catch((err) => {
          // Already gone from Temporal: deleting the row finishes the job.
          if (!(err instanceof ScheduleNotFoundError)) temporalFailure(request.log, row)(err);
        });
      await schedules.delete(request.tenantId, row.id);
      return reply.status(204).send();
    },
  );
};
