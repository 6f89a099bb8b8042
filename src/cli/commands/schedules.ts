// Recurring pipelines: list, create, pause, unpause, delete.
import type { Command } from 'commander';
import type { components, operations } from '../../client';
import { deleteAction, type Context } from '../context';
import { UsageError } from '../errors';
import { table, type Output } from '../output';
import { clip } from '../render';
import { buildRequest, requestOptions, requireTopicAndTargets, type RequestFlags } from './request';

type Schedule = components['schemas']['Schedule'];
// The pipeline flags are checked as they are parsed; the API checks the assembled body.
type ScheduleBody = operations['createSchedule']['requestBody']['content']['application/json'];

function scheduleRows(out: Output, items: Schedule[]): string[] {
  return table([
    ['ID', 'WHEN', 'STATE', 'NEXT RUN', 'LAST RUN', 'TARGETS', 'TOPIC'].map(out.dim),
    ...items.map((s) => [
      s.id,
      s.cron !== undefined ? `cron "${s.cron}" ${s.timezone}` : `every ${s.every}`,
      s.paused ? out.yellow('paused') : out.green('active'),
      s.nextRunAt ?? '-',
      s.lastRunAt ?? '-',
      (s.pipeline.targets ?? []).map((t) => t.platform).join(','),
      clip(s.pipeline.topic ?? '', 40),
    ]),
  ]);
}

export function registerScheduleCommands(program: Command, ctx: Context): void {
  const schedules = program.command('schedules').summary('recurring pipelines (Temporal Schedules)');
  const shown = (what: string) => (out: Output, s: Schedule) => {
    out.line(`${what} ${s.id}`);
    for (const row of scheduleRows(out, [s])) out.line(row);
  };

  schedules
    .command('list')
    .summary("the tenant's schedules, newest first")
    .action((_flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.GET('/v1/schedules')), (out, body) => {
        if (!body.items.length) return out.line('no schedules');
        for (const row of scheduleRows(out, body.items)) out.line(row);
      }),
    );

  const create = schedules
    .command('create')
    .summary('a pipeline that runs on a cron expression or at an interval')
    .description('Exactly one of --cron (5 fields, or @daily and the like; in --timezone, default UTC) or --every (at least 1m). Each run starts the pipeline the other flags describe.')
    .option('--cron <expression>', 'e.g. "0 9 * * MON-FRI"')
    .option('--every <duration>', 'e.g. 30m, 6h, 1d')
    .option('--timezone <iana>', 'the cron time zone, e.g. Europe/Berlin');
  requestOptions(create, { publishAt: false }).action(async (flags: RequestFlags & { cron?: string; every?: string; timezone?: string }, cmd: Command) => {
    if ((flags.cron === undefined) === (flags.every === undefined)) throw new UsageError('give exactly one of --cron and --every');
    const pipeline = buildRequest(flags);
    requireTopicAndTargets(pipeline);
    const body = { ...(flags.cron !== undefined ? { cron: flags.cron } : { every: flags.every }), ...(flags.timezone ? { timezone: flags.timezone } : {}), pipeline };
    await ctx.show(cmd, (api) => api.unwrap(api.client.POST('/v1/schedules', { body: body as ScheduleBody })), shown('created'));
  });

  for (const action of ['pause', 'unpause'] as const) {
    schedules
      .command(`${action} <id>`)
      .summary(action === 'pause' ? 'stop its runs until unpaused (idempotent)' : 'resume a paused schedule (idempotent)')
      .action((id: string, _flags: unknown, cmd: Command) =>
        ctx.show(
          cmd,
          (api) => api.unwrap(api.client.POST(action === 'pause' ? '/v1/schedules/{id}/pause' : '/v1/schedules/{id}/unpause', { params: { path: { id } } })),
          shown(action === 'pause' ? 'paused' : 'unpaused'),
        ),
      );
  }

  schedules
    .command('delete <id>')
    .summary('delete a schedule; pipelines it already started carry on')
    .action(deleteAction(ctx, 'schedule', (api, id) => api.unwrap(api.client.DELETE('/v1/schedules/{id}', { params: { path: { id } } }))));
}
