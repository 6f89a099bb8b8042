// What the schedule routes answer: the stored schedule with Temporal's view of its next and recent runs.
import { z } from 'zod';
import { storedRequestSchema } from './pipeline-view';

export const scheduleView = z
  .object({
    id: z.string(),
    cron: z.string().optional().describe('present when the schedule runs on a cron expression'),
    every: z.string().optional().describe('present when the schedule runs at an interval'),
    timezone: z.string(),
    pipeline: storedRequestSchema.describe('the request each run starts'),
    paused: z.boolean(),
    nextRunAt: z.string().nullable().describe('null while paused or when Temporal cannot be asked'),
    lastRunAt: z.string().nullable(),
    recentRuns: z.array(
      z.object({
        runAt: z.string(),
        pipelineId: z.string().nullable().describe('the pipeline the run started, once it exists'),
        skipped: z.string().optional().describe('present when the run made no pipeline: why (the tenant had TENANT_MAX_ACTIVE_PIPELINES active pipelines)'),
      }),
    ),
    createdAt: z.string(),
    updatedAt: z.string(),
    links: z.object({ self: z.string(), temporal: z.string().describe("the schedule in Temporal's web UI") }),
  })
  .meta({ id: 'Schedule' });

export const scheduleListView = z.object({ items: z.array(scheduleView) }).meta({ id: 'ScheduleList' });
