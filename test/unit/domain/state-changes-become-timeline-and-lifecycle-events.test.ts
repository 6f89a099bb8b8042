// The events a saved state change means, derived from the stored state and the new one: stages in order, the text
// chain's skips, image fallbacks, waits with retryAt, approvals, edits, publish-time moves, errors; lifecycle events
// for the webhooks' outbox with ids that the same change always gives again.
import { stateEvents } from '../../../src/domain/state-events';
import type { PipelineState, Publication } from '../../../src/domain/types';

const T0 = '2026-12-03T09:00:00.000Z';
const T1 = '2026-12-03T09:00:05.000Z';

function pub(over: Partial<Publication> = {}): Publication {
  return { platform: 'x', accountId: 'acc_1', status: 'pending', externalId: null, url: null, attempts: 0, error: null, retryAt: null, publishedAt: null, ...over };
}

function state(over: Partial<PipelineState> = {}): PipelineState {
  return {
    id: 'pl_1',
    tenantId: 'ten_1',
    status: 'queued',
    createdAt: T0,
    updatedAt: T0,
    request: { topic: 't', format: 'post', targets: [{ platform: 'x', accountId: 'acc_1' }], image: { mode: 'auto' }, priority: 'normal', dryRun: false },
    content: null,
    images: [],
    variants: [],
    publications: [pub()],
    publishAt: null,
    approval: null,
    error: null,
    version: 0,
    ...over,
  };
}

const content = {
  title: 'Title',
  body: 'Body',
  hashtags: ['a'],
  provider: 'anthropic',
  model: 'claude-x',
  cached: false,
  skipped: [{ provider: 'openai', type: 'RateLimited', reason: 'openai: 429 too many requests' }],
};

it('the first save records the initial stage at creation, then the new one', () => {
  const { timeline, lifecycle } = stateEvents(state(), state({ status: 'generating', version: 1, updatedAt: T1 }));
  expect(timeline).toEqual([
    { key: 'stage:queued', at: T0, type: 'stage', from: null, to: 'queued' },
    { key: 'stage:generating', at: T1, type: 'stage', from: 'queued', to: 'generating' },
  ]);
  expect(lifecycle).toEqual([]);
});

it('the text chain: each skipped provider with its failure type and reason, then the one that wrote, then the stage', () => {
  const prev = state({ status: 'generating', version: 1 });
  const next = state({ status: 'illustrating', version: 2, updatedAt: T1, content });
  expect(stateEvents(prev, next).timeline.map(({ at: _at, ...e }) => e)).toEqual([
    { key: 'text:skipped:0', type: 'provider_skipped', stage: 'text', provider: 'openai', failureType: 'RateLimited', reason: 'openai: 429 too many requests' },
    { key: 'text:used', type: 'provider_used', stage: 'text', provider: 'anthropic', model: 'claude-x', cached: false },
    { key: 'stage:illustrating', type: 'stage', from: 'generating', to: 'illustrating' },
  ]);
});

it('an image fallback carries the reason the sources before it gave none', () => {
  const image = { id: 'm1', url: 'http://x/m1', source: 'pexels', alt: '', attribution: null, fallbackReason: 'unsplash: breaker open' };
  const prev = state({ status: 'illustrating', version: 2, content });
  const next = state({ status: 'adapting', version: 3, updatedAt: T1, content, images: [image] });
  expect(stateEvents(prev, next).timeline.map((e) => e.type)).toEqual(['image_fallback', 'provider_used', 'stage']);
  expect(stateEvents(prev, next).timeline[0]).toMatchObject({ source: 'pexels', reason: 'unsplash: breaker open' });
});

it('awaiting approval and scheduled are announced; approval with edits records what was edited and who decided', () => {
  const variant = { platform: 'x' as const, parts: ['Body'], length: 4, limit: 280, adaptations: [] };
  const approval = { required: true, timeout: null, onTimeout: 'reject' as const, deadline: null, decision: null, decidedAt: null, reason: null, edited: false };
  const adapting = state({ status: 'adapting', version: 3, content });
  const awaiting = state({ status: 'awaiting_approval', version: 4, updatedAt: T1, content, variants: [variant], approval });
  expect(stateEvents(adapting, awaiting).lifecycle).toEqual([
    {
      id: 'evt_pipeline:pl_1:awaiting_approval',
      tenantId: 'ten_1',
      type: 'pipeline.awaiting_approval',
      occurredAt: T1,
      data: expect.objectContaining({ pipelineId: 'pl_1', status: 'awaiting_approval', error: null }),
    },
  ]);
  const approved = state({
    ...awaiting,
    version: 5,
    content: { ...content, title: 'New title' },
    variants: [{ ...variant, parts: ['Edited'] }],
    approval: { ...approval, decision: 'approved', decidedAt: T1, edited: true, by: 'review_link' },
  });
  expect(stateEvents(awaiting, approved).timeline.map(({ at: _at, ...e }) => e)).toEqual([
    { key: 'edit:v5', type: 'edit', fields: ['title', 'variants.x'] },
    { key: 'approval:approved', type: 'approval', decision: 'approved', by: 'review_link', reason: null, edited: true },
  ]);
  const moved = state({ ...approved, version: 6, publishAt: '2026-12-04T10:00:00.000Z' });
  expect(stateEvents(approved, moved).timeline.map(({ at: _at, ...e }) => e)).toEqual([
    { key: 'publish_time:v6', type: 'publish_time', from: null, to: '2026-12-04T10:00:00.000Z', reason: null },
  ]);
  const scheduled = state({ ...moved, version: 7, status: 'scheduled' });
  expect(stateEvents(moved, scheduled).lifecycle.map((e) => [e.id, e.type])).toEqual([['evt_pipeline:pl_1:scheduled', 'pipeline.scheduled']]);
});

it('a wait with retryAt, then a failure: publication events and the terminal pipeline event carry the same code and hint', () => {
  const wait = { code: 'RateLimited', message: 'x: 429', hint: 'Wait until 09:15 UTC: X\'s rate limit is used up. Herald tries again by itself then.' };
  const publishing = state({ status: 'publishing', version: 8, content, publications: [pub({ status: 'publishing' })] });
  const waiting = state({ ...publishing, version: 9, updatedAt: T1, publications: [pub({ status: 'waiting', attempts: 1, retryAt: '2026-12-03T09:15:00.000Z', error: wait })] });
  const w = stateEvents(publishing, waiting);
  expect(w.timeline.map(({ at: _at, ...e }) => e)).toEqual([
    { key: 'pub:0:waiting:1:2026-12-03T09:15:00.000Z', type: 'publication_waiting', index: 0, platform: 'x', accountId: 'acc_1', attempts: 1, retryAt: '2026-12-03T09:15:00.000Z', error: wait },
  ]);
  expect(w.lifecycle.map((e) => [e.id, e.type, (e.data as { retryAt: string }).retryAt])).toEqual([['evt_publication:pl_1:0:waiting:1', 'publication.waiting', '2026-12-03T09:15:00.000Z']]);

  const reauth = { code: 'ReauthRequired', message: 'account @a is reauth_required', hint: 'Reconnect the X account @a (id acc_1)' };
  const failedPub = state({ ...waiting, version: 10, publications: [pub({ status: 'failed', attempts: 2, error: reauth })] });
  const failed = state({ ...failedPub, version: 11, status: 'failed', error: { ...reauth, message: 'no publication succeeded: x: account @a is reauth_required' } });
  const f1 = stateEvents(waiting, failedPub);
  expect(f1.lifecycle.map((e) => [e.id, e.type])).toEqual([['evt_publication:pl_1:0:failed:2', 'publication.failed']]);
  expect(f1.lifecycle[0].data).toMatchObject({ pipelineId: 'pl_1', platform: 'x', accountId: 'acc_1', error: reauth });
  const f2 = stateEvents(failedPub, failed);
  expect(f2.timeline.map((e) => e.type)).toEqual(['error', 'stage']);
  expect(f2.timeline[0]).toMatchObject({ code: 'ReauthRequired', hint: reauth.hint });
  expect(f2.lifecycle.map((e) => [e.id, e.type])).toEqual([['evt_pipeline:pl_1:failed', 'pipeline.failed']]);
  expect(f2.lifecycle[0].data).toMatchObject({ error: { code: 'ReauthRequired', hint: reauth.hint } });
});

it('the same two states always give the same events; no change gives none', () => {
  const prev = state({ status: 'publishing', version: 8, publications: [pub({ status: 'publishing' })] });
  const next = state({ ...prev, version: 9, status: 'published', publications: [pub({ status: 'published', attempts: 1, url: 'https://x.com/p/1' })] });
  expect(stateEvents(prev, next)).toEqual(stateEvents(prev, next));
  expect(stateEvents(next, { ...next, version: 10 })).toEqual({ timeline: [], lifecycle: [] });
  expect(stateEvents(prev, next).lifecycle.map((e) => e.type)).toEqual(['publication.published', 'pipeline.published']);
});

it('reads an error stored as text by an earlier version without failing', () => {
  const prev = state({ status: 'publishing', version: 8, publications: [pub({ status: 'publishing' })] });
  const next = state({ ...prev, version: 9, publications: [pub({ status: 'failed', attempts: 1, error: 'Permanent: x: 403' as unknown as Publication['error'] })] });
  expect(stateEvents(prev, next).timeline[0]).toMatchObject({ type: 'publication_attempt', error: { code: 'error', message: 'Permanent: x: 403', hint: null } });
});
