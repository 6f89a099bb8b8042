// Pipelines: start one and follow it, list, show, follow, decide, stop, reschedule, read its timeline, validate.
import { Option, type Command } from 'commander';
import { PIPELINE_STATUSES, PLATFORMS } from '../../domain/types';
import type { operations } from '../../client';
import { pipelinePath, type Api } from '../api';
import { isoTime, pairs, positiveInt, type Context } from '../context';
import { UsageError } from '../errors';
import { followPipeline } from '../follow';
import type { Output } from '../output';
import { BAD_ENDINGS, LiveLines, pipelineTable, printPipeline, statusWord, type PipelineView } from '../render';
import { buildRequest, requestOptions, requireTopicAndTargets, type RequestFlags } from './request';
import { printTimeline, printValidation } from './pipeline-views';

const DEFAULT_GIVE_UP_S = 300;
const DEFAULT_IDLE_S = 45;

// The flags are checked as they are parsed (choices, key=value, ISO times); the API checks the assembled body.
type PipelineRequestBody = operations['createPipeline']['requestBody']['content']['application/json'];
type ValidateBody = operations['validatePipeline']['requestBody']['content']['application/json'];
type ListQuery = NonNullable<operations['listPipelines']['parameters']['query']>;
type Status = ListQuery['status'];
type Platform = ListQuery['platform'];

function followOptions(cmd: Command): Command {
  return cmd
    .option('--reconnect-for <seconds>', `when the live stream drops, keep reconnecting this long before giving up with exit code 3 (default ${DEFAULT_GIVE_UP_S})`, positiveInt(86_400))
    .option('--idle-timeout <seconds>', `a stream silent this long counts as dropped (default ${DEFAULT_IDLE_S}; keep it above 15, the API's keep-alive interval)`, positiveInt(3_600));
}

interface FollowFlags {
  reconnectFor?: number;
  idleTimeout?: number;
}

/** Follows to the end; prints live lines (or one JSON state per line), then the full picture. Exit 1 on a bad ending. */
async function followToEnd(ctx: Context, api: Api, out: Output, id: string, flags: FollowFlags): Promise<void> {
  const live = new LiveLines(out, { id });
  const final = await followPipeline(api, id, {
    giveUpMs: (flags.reconnectFor ?? DEFAULT_GIVE_UP_S) * 1000,
    idleMs: (flags.idleTimeout ?? DEFAULT_IDLE_S) * 1000,
    onState: (s) => (out.json ? out.value(s) : live.show(s)),
    onNotice: (text) => out.note(out.dim(`herald: ${text}`)),
  });
  if (!out.json) {
    out.line('');
    printPipeline(out, final, api.baseUrl);
  }
  if (BAD_ENDINGS.has(final.status)) ctx.exitCode = 1;
}

export function registerPipelineCommands(program: Command, ctx: Context): void {
  const run = program
    .command('run')
    .summary('start a pipeline and follow it live until it ends')
    .description(
      'Starts a pipeline through the API, shows every stage and publication live (reconnecting when the stream drops), then every variant and publication.\n' +
        'Exit code 0 when it published (or previewed, in a dry run), 1 when it ended partially_published, failed, rejected, cancelled or expired.',
    )
    .option('--no-follow', 'print the new pipeline and return without following it');
  requestOptions(run);
  followOptions(run).action(async (flags: RequestFlags & FollowFlags & { follow: boolean }, cmd: Command) => {
    const out = ctx.output(cmd);
    const request = buildRequest(flags);
    requireTopicAndTargets(request);
    const api = ctx.api(cmd);
    const created = await api.unwrap(api.client.POST('/v1/pipelines', { body: request as PipelineRequestBody }));
    if (!flags.follow) {
      if (out.json) out.value(created);
      else out.line(`${out.bold('pipeline')} ${created.id}  ${statusWord(out, created.status)}  ${out.dim(`follow it with: herald watch ${created.id}`)}`);
      return;
    }
    if (!out.json) out.line(`${out.bold('pipeline')} ${created.id}  ${out.dim(created.links?.temporal ?? '')}`);
    await followToEnd(ctx, api, out, created.id, flags);
  });

  followOptions(
    program
      .command('watch <id>')
      .summary('follow a pipeline live until it ends')
      .description(
        'Follows a pipeline through its event stream, reconnecting when the stream drops (re-reading the state, printing nothing twice), then shows every variant and publication.\n' +
          'Exit code 0 when it published, 1 when it ended partially_published, failed, rejected, cancelled or expired.',
      ),
  ).action(async (id: string, flags: FollowFlags, cmd: Command) => {
    await followToEnd(ctx, ctx.api(cmd), ctx.output(cmd), id, flags);
  });

  program
    .command('list')
    .summary('pipelines, newest first')
    .addOption(new Option('--status <status>', 'only this status').choices(PIPELINE_STATUSES))
    .addOption(new Option('--platform <platform>', 'only pipelines with this target').choices(PLATFORMS))
    .option('--limit <n>', 'how many (1 to 100, default 20)', positiveInt(100))
    .option('--cursor <cursor>', 'the next page: nextCursor of the previous one')
    .action((flags: { status?: string; platform?: string; limit?: number; cursor?: string }, cmd: Command) =>
      ctx.show(
        cmd,
        (api) =>
          api.unwrap(api.client.GET('/v1/pipelines', { params: { query: { status: flags.status as Status, platform: flags.platform as Platform, limit: flags.limit, cursor: flags.cursor } } })),
        (out, page) => {
          if (!page.items.length) return out.line('no pipelines');
          for (const row of pipelineTable(out, page.items)) out.line(row);
          if (page.nextCursor) out.line(out.dim(`more: herald list --cursor ${page.nextCursor}`));
        },
      ),
    );

  program
    .command('show <id>')
    .summary("a pipeline's state: content, variants, publications")
    .action((id: string, _flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.GET('/v1/pipelines/{id}', pipelinePath(id))), (out, state, api) => printPipeline(out, state, api.baseUrl)),
    );

  program
    .command('approve <id>')
    .summary('approve a pipeline that awaits approval, optionally with edits')
    .description('Edits are checked against every target platform\'s limits; one that does not fit is refused (exit 1) and nothing is approved.')
    .option('--edit-title <text>', 'a new title')
    .option('--edit-body <text>', 'a new body, adapted again for every platform')
    .option('--edit-variant <platform=text>', "one platform's text as it is, repeatable", pairs)
    .action(async (id: string, flags: { editTitle?: string; editBody?: string; editVariant?: Record<string, string> }, cmd: Command) => {
      for (const p of Object.keys(flags.editVariant ?? {})) {
        if (!(PLATFORMS as readonly string[]).includes(p)) throw new UsageError(`--edit-variant ${p}=…: ${p} is not a platform (${PLATFORMS.join(', ')})`);
      }
      const edits = {
        ...(flags.editTitle !== undefined ? { title: flags.editTitle } : {}),
        ...(flags.editBody !== undefined ? { body: flags.editBody } : {}),
        ...(flags.editVariant ? { variants: flags.editVariant } : {}),
      };
      const body = Object.keys(edits).length ? { edits } : {};
      await ctx.show(cmd, (api) => api.unwrap(api.client.POST('/v1/pipelines/{id}/approve', { ...pipelinePath(id), body })), decided('approved'));
    });

  program
    .command('reject <id>')
    .summary('reject a pipeline that awaits approval')
    .requiredOption('--reason <text>', 'why (kept in its state and timeline)')
    .action((id: string, flags: { reason: string }, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.POST('/v1/pipelines/{id}/reject', { ...pipelinePath(id), body: { reason: flags.reason } })), decided('rejected')),
    );

  program
    .command('cancel <id>')
    .summary('stop a pipeline; what was already published stays and is reported')
    .action((id: string, _flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.POST('/v1/pipelines/{id}/cancel', pipelinePath(id))), (out, state) =>
        out.line(`cancel requested for ${state.id} (was ${state.status}); it shows cancelled once the workflow has stopped: herald watch ${state.id}`),
      ),
    );

  program
    .command('reschedule <id>')
    .summary('move the publish time of a pipeline that has not started publishing')
    .requiredOption('--at <time>', 'the new ISO 8601 publish time', isoTime)
    .action((id: string, flags: { at: string }, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.PUT('/v1/pipelines/{id}/publish-at', { ...pipelinePath(id), body: { publishAt: flags.at } })), (out, state) =>
        out.line(`${state.id} publishes at ${state.publishAt ?? flags.at} (${state.status})`),
      ),
    );

  program
    .command('timeline <id>')
    .summary("a pipeline's life, oldest first: stages, provider attempts and skips, waits, approvals, edits, errors with hints")
    .action((id: string, _flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.GET('/v1/pipelines/{id}/timeline', pipelinePath(id))), printTimeline),
    );

  const validate = program
    .command('validate')
    .summary('check a pipeline request (or finished content) before anything runs')
    .description(
      'Shows, per target, the variant Herald would make and every problem found (unknown or reauth_required account, a daily cap already full at the publish time, a publish time in the past). Nothing is stored or started.\n' +
        'With --title/--body it checks that content instead of writing new content. Exit code 0 when nothing is wrong, 1 when problems were found.',
    )
    .option('--title <text>', 'check this finished content instead of a topic: its title')
    .option('--body <text>', 'its body')
    .option('--hashtag <tag>', 'its hashtags, repeatable', (v: string, prev: string[] | undefined) => [...(prev ?? []), v.replace(/^#/, '')])
    .option('--variant <platform=text>', "with --body: one platform's own text, used as it is, repeatable", pairs);
  requestOptions(validate).action(async (flags: RequestFlags & { title?: string; body?: string; hashtag?: string[]; variant?: Record<string, string> }, cmd: Command) => {
    const out = ctx.output(cmd);
    const request = buildRequest(flags);
    let body: Record<string, unknown> = request;
    if (flags.title !== undefined || flags.body !== undefined) {
      if (flags.body === undefined) throw new UsageError('--title needs --body');
      if (!Array.isArray(request.targets) || !request.targets.length) throw new UsageError('at least one --platform is required');
      const { topic: _t, brief: _b, voice: _v, audience: _a, ...rest } = request;
      body = { ...rest, content: { title: flags.title ?? '', body: flags.body, hashtags: flags.hashtag ?? [] }, ...(flags.variant ? { variants: flags.variant } : {}) };
    } else {
      if (flags.variant) throw new UsageError('--variant needs --body: variants are checked as exact text');
      requireTopicAndTargets(request);
    }
    const api = ctx.api(cmd);
    const result = await api.unwrap(api.client.POST('/v1/validate', { body: body as ValidateBody }));
    if (out.json) out.value(result);
    else printValidation(out, result);
    if (!result.ok) ctx.exitCode = 1;
  });
}

const decided = (what: string) => (out: Output, state: PipelineView) => out.line(`${what} ${state.id}: now ${statusWord(out, state.status)}`);
