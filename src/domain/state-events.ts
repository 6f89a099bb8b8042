// What one saved state change means: the timeline events and the lifecycle events (webhooks) it produces, derived
// from the state stored before and the state saved now. Pure: the same two states always give the same events with
// the same ids, so a retried save records nothing twice.
import { readErrorInfo } from './hints';
import { type LifecycleEvent, type LifecycleEventType, lifecycleEventId } from './lifecycle-events';
import type { TimelineEventBody, TimelineEventInput } from './timeline';
import { isTerminal, type PipelineError, type PipelineState, type Publication, type PipelineStatus } from './types';

export interface StateEvents {
  timeline: TimelineEventInput[];
  lifecycle: LifecycleEvent[];
}

/** The statuses a pipeline.* lifecycle event is sent for (besides the terminal ones). */
const ANNOUNCED: readonly PipelineStatus[] = ['awaiting_approval', 'scheduled'];
const FINISHED: readonly Publication['status'][] = ['published', 'previewed', 'failed', 'skipped'];

export function stateEvents(prev: PipelineState, next: PipelineState): StateEvents {
  return { timeline: timelineEvents(prev, next), lifecycle: lifecycleEvents(prev, next) };
}

// ---- Timeline

type Body = TimelineEventBody & { key: string };

/** Facts first, then the stage they led to: text written during `generating` shows before `illustrating`. */
export function timelineEvents(prev: PipelineState, next: PipelineState): TimelineEventInput[] {
  const at = next.updatedAt;
  const out: TimelineEventInput[] = [];
  // The stored state is the API's initial one: its stage is the pipeline's first event.
  if (prev.version === 0) out.push({ key: `stage:${prev.status}`, at: prev.createdAt, type: 'stage', from: null, to: prev.status });
  const bodies: Body[] = [
    ...contentEvents(prev, next),
    ...imageEvents(prev, next),
    ...approvalEvents(prev, next),
    ...publishTimeEvents(prev, next),
    ...publicationEvents(prev, next),
    ...errorEvents(prev, next),
  ];
  if (prev.status !== next.status) bodies.push({ key: `stage:${next.status}`, type: 'stage', from: prev.status, to: next.status });
  for (const b of bodies) out.push({ ...b, at });
  return out;
}

function contentEvents(prev: PipelineState, next: PipelineState): Body[] {
  const c = next.content;
  if (!c) return [];
  if (!prev.content) {
    const skipped: Body[] = (c.skipped ?? []).map((s, i) => ({
      key: `text:skipped:${i}`,
      type: 'provider_skipped',
      stage: 'text',
      provider: s.provider,
      failureType: s.type,
      reason: s.reason,
    }));
    return [...skipped, { key: 'text:used', type: 'provider_used', stage: 'text', provider: c.provider, model: c.model || null, cached: c.cached }];
  }
  const fields: string[] = [];
  if (prev.content.title !== c.title) fields.push('title');
  if (prev.content.body !== c.body) fields.push('body');
  if (prev.content.hashtags.join('\n') !== c.hashtags.join('\n')) fields.push('hashtags');
  // Variants are edits only once there were variants to edit (adapting makes the first ones).
  if (prev.variants.length) {
    for (const v of next.variants) {
      const before = prev.variants.find((p) => p.platform === v.platform);
      if (before && before.parts.join('\n') !== v.parts.join('\n')) fields.push(`variants.${v.platform}`);
    }
  }
  return fields.length ? [{ key: `edit:v${next.version}`, type: 'edit', fields }] : [];
}

function imageEvents(prev: PipelineState, next: PipelineState): Body[] {
  const first = next.images[0];
  if (!first || prev.images.length) return [];
  const used: Body = { key: 'image:used', type: 'provider_used', stage: 'image', provider: first.source, model: null, cached: false };
  if (!first.fallbackReason) return [used];
  return [{ key: 'image:fallback', type: 'image_fallback', source: first.source, reason: first.fallbackReason }, used];
}

function approvalEvents(prev: PipelineState, next: PipelineState): Body[] {
  const a = next.approval;
  if (!a?.decision || prev.approval?.decision) return [];
  return [{ key: `approval:${a.decision}`, type: 'approval', decision: a.decision, by: a.by ?? null, reason: a.reason, edited: a.edited }];
}

function publishTimeEvents(prev: PipelineState, next: PipelineState): Body[] {
  if (prev.publishAt === next.publishAt) return [];
  return [{ key: `publish_time:v${next.version}`, type: 'publish_time', from: prev.publishAt, to: next.publishAt, reason: null }];
}

function publicationEvents(prev: PipelineState, next: PipelineState): Body[] {
  const out: Body[] = [];
  next.publications.forEach((p, index) => {
    const before = prev.publications[index];
    const common = { index, platform: p.platform, accountId: p.accountId, attempts: p.attempts, error: readErrorInfo(p.error) };
    if (isNewWait(before, p)) {
      out.push({ key: `pub:${index}:waiting:${p.attempts}:${p.retryAt}`, type: 'publication_waiting', ...common, retryAt: p.retryAt });
    } else if (FINISHED.includes(p.status) && before?.status !== p.status) {
      out.push({ key: `pub:${index}:${p.status}`, type: 'publication_attempt', ...common, status: p.status, url: p.url });
    }
  });
  return out;
}

function isNewWait(before: Publication | undefined, p: Publication): boolean {
  return p.status === 'waiting' && (before?.status !== 'waiting' || before.attempts !== p.attempts || before.retryAt !== p.retryAt);
}

function errorEvents(prev: PipelineState, next: PipelineState): Body[] {
  const error = readErrorInfo(next.error);
  if (!error || sameError(readErrorInfo(prev.error), error)) return [];
  return [{ key: `error:v${next.version}`, type: 'error', ...error }];
}

function sameError(a: PipelineError | null, b: PipelineError | null): boolean {
  return a?.code === b?.code && a?.message === b?.message && a?.hint === b?.hint;
}

// ---- Lifecycle events (the webhooks' outbox)

export function lifecycleEvents(prev: PipelineState, next: PipelineState): LifecycleEvent[] {
  const out: LifecycleEvent[] = [];
  const base = { tenantId: next.tenantId, occurredAt: next.updatedAt };
  next.publications.forEach((p, index) => {
    const before = prev.publications[index];
    const type = publicationEventType(before, p);
    if (!type) return;
    out.push({
      ...base,
      id: lifecycleEventId('publication', next.id, index, p.status, p.attempts),
      type,
      data: {
        pipelineId: next.id,
        index,
        platform: p.platform,
        accountId: p.accountId,
        status: p.status,
        attempts: p.attempts,
        externalId: p.externalId,
        url: p.url,
        retryAt: p.retryAt,
        error: readErrorInfo(p.error),
      },
    });
  });
  if (prev.status !== next.status && (ANNOUNCED.includes(next.status) || isTerminal(next.status))) {
    out.push({ ...base, id: lifecycleEventId('pipeline', next.id, next.status), type: `pipeline.${next.status}` as LifecycleEventType, data: pipelineData(next) });
  }
  return out;
}

function publicationEventType(before: Publication | undefined, p: Publication): LifecycleEventType | null {
  if (isNewWait(before, p)) return 'publication.waiting';
  if (before?.status === p.status) return null;
  if (p.status === 'published') return 'publication.published';
  if (p.status === 'failed') return 'publication.failed';
  return null;
}

function pipelineData(s: PipelineState): Record<string, unknown> {
  return {
    pipelineId: s.id,
    status: s.status,
    publishAt: s.publishAt,
    approvalDeadline: s.approval?.deadline ?? null,
    error: readErrorInfo(s.error),
    publications: s.publications.map((p) => ({
      platform: p.platform,
      accountId: p.accountId,
      status: p.status,
      url: p.url,
      error: readErrorInfo(p.error),
    })),
  };
}
