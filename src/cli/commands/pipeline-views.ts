// How a timeline and a validation read on a terminal.
import type { TimelineEvent } from '../../domain/timeline';
import { table, type Output } from '../output';
import { errorText, type ErrorView } from '../render';

export type TimelineBody = { items: TimelineEvent[] } | TimelineEvent[];

export function printTimeline(out: Output, body: TimelineBody): void {
  const items = Array.isArray(body) ? body : (body.items ?? []);
  if (!items.length) return out.line('no events yet');
  const rows = items.map((e) => [out.dim(e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')), e.type.replace(/_/g, ' '), describeEvent(out, e)]);
  for (const row of table(rows)) out.line(row);
  for (const e of items) {
    const hint = e.type === 'error' ? e.hint : 'error' in e && e.error && typeof e.error === 'object' ? e.error.hint : null;
    if (hint) out.line(out.yellow(`hint: ${hint}`));
  }
}

function describeEvent(out: Output, e: TimelineEvent): string {
  switch (e.type) {
    case 'stage':
      return e.from ? `${e.from} → ${e.to}` : e.to;
    case 'provider_used':
      return `${e.stage} by ${e.provider}${e.model ? `/${e.model}` : ''}${e.cached ? ' (cached)' : ''}`;
    case 'provider_skipped':
      return `${e.stage}: ${e.provider} skipped (${e.failureType}: ${e.reason})`;
    case 'image_fallback':
      return `image from ${e.source}: ${e.reason}`;
    case 'publication_attempt': {
      const where = e.url ? ` ${e.url}` : '';
      const err = e.error ? out.red(` ${errorText(e.error)}`) : '';
      return `${e.platform} ${e.status} after ${e.attempts} attempt(s)${where}${err}`;
    }
    case 'publication_waiting':
      return `${e.platform} waits${e.retryAt ? ` until ${e.retryAt}` : ''}${e.error ? `: ${errorText(e.error)}` : ''}`;
    case 'approval':
      return `${e.decision}${e.by ? ` by ${e.by}` : ''}${e.edited ? ', with edits' : ''}${e.reason ? `: ${e.reason}` : ''}`;
    case 'edit':
      return `changed ${e.fields.join(', ')}`;
    case 'publish_time':
      return `${e.from ?? 'now'} → ${e.to ?? 'now'}${e.reason ? ` (${e.reason})` : ''}`;
    case 'error':
      return out.red(`${e.code}: ${e.message}`);
    default:
      return JSON.stringify(e);
  }
}

export interface ValidationBody {
  ok: boolean;
  targets?: {
    platform: string;
    accountId?: string | null;
    parts?: string[];
    length?: number;
    limit?: number;
    adaptations?: string[];
    variant?: { parts: string[]; length: number; limit: number; adaptations: string[] } | null;
  }[];
  problems?: ({ code?: string; message?: string; path?: string; platform?: string; hint?: string | null } & Record<string, unknown>)[];
}

export function printValidation(out: Output, body: ValidationBody): void {
  for (const t of body.targets ?? []) {
    const v = t.variant ?? t;
    const size = v.length !== undefined && v.limit !== undefined ? `${v.length}/${v.limit}` : '';
    const parts = v.parts ? `${v.parts.length} part(s)` : '';
    const over = v.length !== undefined && v.limit !== undefined && v.length > v.limit;
    out.line(`${out.bold(t.platform.padEnd(10))} ${parts} ${over ? out.red(size) : size}${v.adaptations?.length ? out.dim(` · ${v.adaptations.join('; ')}`) : ''}`.trimEnd());
  }
  const problems = body.problems ?? [];
  if (!problems.length) {
    out.line(out.green('ok: no problems found'));
    return;
  }
  out.line(out.red(`${problems.length} problem(s):`));
  for (const p of problems) {
    const where = [p.platform, p.path].filter(Boolean).join(' ');
    out.line(`  ${where ? `${out.bold(where)}: ` : ''}${errorText(p as ErrorView)}`);
  }
}
