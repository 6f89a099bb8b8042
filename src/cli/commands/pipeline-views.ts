// How a timeline and a validation read on a terminal.
import type { components } from '../../client';
import { table, type Output } from '../output';
import { errorText } from '../render';

type TimelineEvent = components['schemas']['TimelineEvent'];
export type TimelineBody = components['schemas']['PipelineTimeline'];
export type ValidationBody = components['schemas']['Validation'];

export function printTimeline(out: Output, body: TimelineBody): void {
  const items = body.events;
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

export function printValidation(out: Output, body: ValidationBody): void {
  for (const t of body.targets) {
    const v = t.variant;
    const size = v ? `${v.parts.length} part(s), longest ${v.length > v.limit ? out.red(`${v.length}/${v.limit}`) : `${v.length}/${v.limit}`}` : out.dim(t.note ?? '');
    out.line(`${out.bold(t.platform.padEnd(10))} ${size}${v?.adaptations.length ? out.dim(` · ${v.adaptations.join('; ')}`) : ''}`.trimEnd());
  }
  if (!body.problems.length) {
    out.line(out.green('ok: no problems found'));
    return;
  }
  out.line(out.red(`${body.problems.length} problem(s):`));
  for (const p of body.problems) {
    out.line(`  ${out.bold(p.path)}: ${p.code}: ${p.message}${p.nextFreeAt ? ` (next free: ${p.nextFreeAt})` : ''}`);
    out.line(out.yellow(`    hint: ${p.hint}`));
  }
}
