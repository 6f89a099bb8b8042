// How a pipeline reads on a terminal: the live lines while it runs, and the full picture (content, variants,
// publications) when it ends or when asked with `show`.
import type { components } from '../client';
import { clock, table, type Output } from './output';

type Schemas = components['schemas'];

/** The pipeline state (GET /v1/pipelines/{id}, and each event of its stream). */
export type PipelineView = Schemas['Pipeline'];
type PublicationView = PipelineView['publications'][number];
/** A pipeline as the list shows it (GET /v1/pipelines): the state without its heavy parts. */
export type PipelineSummaryView = Schemas['PipelineSummary'];

/** An error as every surface shows it: code, message, and what to do about it. */
export type ErrorView = { code: string; message: string; hint: string | null } | null;

export const BAD_ENDINGS = new Set(['partially_published', 'failed', 'rejected', 'cancelled', 'expired']);
export const TERMINAL = new Set(['published', ...BAD_ENDINGS]);

export function errorText(e: ErrorView): string {
  if (!e) return '';
  return e.hint ? `${e.code}: ${e.message} (${e.hint})` : `${e.code}: ${e.message}`;
}

/**
 * Prints what changed since the last state it saw: a line per new pipeline status and per publication that moved.
 * A state seen again (a reconnected stream starts with the current state) prints nothing.
 */
export class LiveLines {
  private status: string | null = null;
  private readonly publications = new Map<string, string>();

  constructor(
    private readonly out: Output,
    private readonly hints: { id: string },
  ) {}

  show(state: PipelineView): void {
    const { out } = this;
    if (state.status !== this.status) {
      this.status = state.status;
      const paint = state.status === 'published' ? out.green : BAD_ENDINGS.has(state.status) ? out.red : out.bold;
      out.line(`${out.dim(clock())}  ${paint(state.status)}${this.statusDetail(state)}`);
    }
    for (const p of state.publications) {
      const key = `${p.platform}/${p.accountId ?? ''}`;
      const view = publicationDetail(p);
      const seen = this.publications.get(key) ?? 'pending';
      if (view === seen) continue;
      this.publications.set(key, view);
      const ok = p.status === 'published' || p.status === 'previewed';
      out.line(`${out.dim(clock())}    ${p.platform.padEnd(10)} ${(ok ? out.green : p.status === 'waiting' ? out.yellow : p.status === 'failed' ? out.red : (s: string) => s)(view)}`);
    }
  }

  private statusDetail(state: PipelineView): string {
    const { out, hints } = this;
    if (state.status === 'awaiting_approval') {
      const until = state.approval?.deadline ? ` until ${state.approval.deadline}` : '';
      return out.dim(`  waiting for a decision${until}: herald approve ${hints.id} | herald reject ${hints.id} --reason "…"`);
    }
    if (state.status === 'scheduled' && state.publishAt) return out.dim(`  publishes at ${state.publishAt}`);
    if (state.error) return `  ${out.red(errorText(state.error))}`;
    if (state.status === 'rejected' && state.approval?.reason) return out.dim(`  ${state.approval.reason}`);
    return '';
  }
}

/** A publication's status with what matters for it: where it went, why it waits or failed. */
function publicationDetail(p: PublicationView): string {
  if (p.status === 'published') return `published ${p.url ?? p.externalId ?? ''}`.trimEnd();
  if (p.status === 'previewed') return `previewed${Array.isArray(p.preview) ? ` (${p.preview.length} request(s) stored)` : ''}`;
  if (p.status === 'waiting') return `waiting${p.retryAt ? ` until ${p.retryAt}` : ''}${p.error ? `: ${errorText(p.error)}` : ''}`;
  if (p.status === 'failed' || p.status === 'skipped') return `${p.status}${p.error ? `: ${errorText(p.error)}` : ''}`;
  return p.status;
}

/** The whole pipeline: content, images, every variant and every publication. */
export function printPipeline(out: Output, state: PipelineView, baseUrl: string): void {
  out.line(`${out.bold('pipeline')} ${state.id}  ${statusWord(out, state.status)}  ${out.dim(`created ${state.createdAt}`)}`);
  if (state.publishAt) out.line(out.dim(`publish at ${state.publishAt}`));
  if (state.content) out.line(`\n${out.bold(state.content.title)}  ${out.dim(`(${state.content.provider}/${state.content.model})`)}`);
  for (const img of state.images) out.line(out.dim(`image: ${baseUrl}${img.url} (${img.source}${img.fallbackReason ? `; ${img.fallbackReason}` : ''})`));
  for (const v of state.variants) {
    out.line('');
    out.line(out.bold(`── ${v.platform} ── ${v.parts.length} part(s), longest ${v.length}/${v.limit}${v.adaptations.length ? ` · ${v.adaptations.join('; ')}` : ''}`));
    v.parts.forEach((p, i) => out.line(`${out.dim(`[${i + 1}]`)} ${p}\n`));
  }
  if (state.publications.length) {
    out.line(out.bold('Publications'));
    for (const p of state.publications) {
      const ok = p.status === 'published' || p.status === 'previewed';
      const where = p.url ?? p.externalId ?? (Array.isArray(p.preview) ? `${p.preview.length} request(s) stored` : '');
      const err = p.error ? out.red(`  ${errorText(p.error)}`) : '';
      out.line(`  ${(ok ? out.green : p.status === 'pending' ? (s: string) => s : out.red)(p.status.padEnd(10))} ${p.platform.padEnd(10)} ${where}${err}`);
    }
  }
  if (state.approval?.decision) out.line(out.dim(`approval: ${state.approval.decision}${state.approval.reason ? ` (${state.approval.reason})` : ''}`));
  if (state.error) out.line(out.red(`\n${errorText(state.error)}`));
  out.line(out.dim(`\nTemporal: ${state.links.temporal}`));
}

export function statusWord(out: Output, status: string): string {
  return status === 'published' ? out.green(status) : BAD_ENDINGS.has(status) ? out.red(status) : out.bold(status);
}

/** One line per pipeline, newest first, as `herald list` shows them. */
export function pipelineTable(out: Output, items: PipelineSummaryView[]): string[] {
  const rows = items.map((p) => [
    p.id,
    statusWord(out, p.status),
    p.createdAt.slice(0, 16).replace('T', ' '),
    p.request.targets.map((t) => t.platform).join(','),
    p.publishAt ? `at ${p.publishAt}` : '',
    clip(p.content?.title ?? p.request.topic, 50),
  ]);
  return table([['ID', 'STATUS', 'CREATED (UTC)', 'TARGETS', 'PUBLISH', 'TITLE'].map(out.dim), ...rows]);
}

export const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
