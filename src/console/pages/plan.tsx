// The plan: a week calendar of posts waiting to publish, and the list of every post with filters, where a post can be
// moved to another time or cancelled. Times are the user's own zone's, sent to the API with that zone's offset.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { components } from '../../client';
import { PIPELINE_STATUSES, PLATFORM_NAMES, PLATFORMS, type Platform } from '../../domain/types';
import { ok, useApi } from '../api';
import { Button } from '../components/button';
import { ErrorNote } from '../components/error-note';
import { Page } from '../components/page';
import { TimeZoneNote } from '../components/time-zone-note';
import { href, type PageProps } from '../router';
import { formatLocal, userTimeZone } from '../time';
import { useLoad } from './load';
import { ActionDialog, CancelConfirm, RescheduleForm, type PlanAction } from './plan-actions';
import { addDays, bucketWeek, dayLabel, localDateOf, utcIso, weekLabel, weekOf } from './week';
import './plan.css';

/** A pipeline as the list answers it (GET /v1/pipelines); a full Pipeline is one too. */
type Pipeline = components['schemas']['PipelineSummary'];
type Status = Pipeline['status'];
type Api = ReturnType<typeof useApi>;

/** Statuses of a pipeline that has not published yet: what the calendar shows. */
const WAITING: Status[] = ['queued', 'generating', 'illustrating', 'adapting', 'awaiting_approval', 'scheduled'];
const FINISHED = new Set<Status>(['published', 'partially_published', 'failed', 'rejected', 'cancelled', 'expired']);
/** The calendar reads at most this many pages of 100 per status, so a huge backlog cannot stall the page. */
const CALENDAR_PAGES = 10;

export const STATUS_WORDS: Record<Status, string> = {
  queued: 'Queued',
  generating: 'Writing',
  illustrating: 'Finding images',
  adapting: 'Fitting to platforms',
  awaiting_approval: 'Waiting for approval',
  scheduled: 'Scheduled',
  publishing: 'Publishing',
  published: 'Published',
  partially_published: 'Partly published',
  failed: 'Failed',
  rejected: 'Rejected',
  cancelled: 'Cancelled',
  expired: 'Expired (nobody approved)',
};

function statusBadge(status: Status): string {
  if (status === 'published') return 'badge badge-ok';
  if (status === 'failed' || status === 'partially_published' || status === 'expired') return 'badge badge-error';
  if (status === 'awaiting_approval' || status === 'rejected' || status === 'cancelled') return 'badge badge-warn';
  return 'badge badge-neutral';
}

export const canMove = (p: Pipeline) => !FINISHED.has(p.status) && p.status !== 'publishing';
export const canCancel = (p: Pipeline) => !FINISHED.has(p.status);
/** What a person calls the post: its title once written, the topic before. */
const titleOf = (p: Pipeline) => p.content?.title || p.request.topic;
const platformsOf = (p: Pipeline) => p.request.targets.map((t) => PLATFORM_NAMES[t.platform]).join(', ');

async function loadWaiting(api: Api): Promise<{ items: Pipeline[]; truncated: boolean }> {
  const lists = await Promise.all(
    WAITING.map(async (status) => {
      const items: Pipeline[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < CALENDAR_PAGES; page++) {
        const query: { status: Status; limit: number; cursor?: string } = { status, limit: 100, ...(cursor ? { cursor } : {}) };
        const body: { items: Pipeline[]; nextCursor: string | null } = await ok(api.GET('/v1/pipelines', { params: { query } }));
        items.push(...body.items);
        cursor = body.nextCursor;
        if (!cursor) return { items, truncated: false };
      }
      return { items, truncated: true };
    }),
  );
  return { items: lists.flatMap((l) => l.items).filter((p) => p.publishAt), truncated: lists.some((l) => l.truncated) };
}

function WeekCalendar({ version, timeZone, onAction }: { version: number; timeZone: string; onAction(a: PlanAction): void }) {
  const api = useApi();
  const thisWeek = weekOf(Date.now(), timeZone);
  const [monday, setMonday] = useState(thisWeek);
  const waiting = useLoad(() => loadWaiting(api), [api, version]);
  const today = localDateOf(Date.now(), timeZone);
  const days = useMemo(
    () => bucketWeek((waiting.data?.items ?? []).map((p) => ({ ...p, publishAt: p.publishAt as string })), monday, timeZone),
    [waiting.data, monday, timeZone],
  );
  const count = days.reduce((n, d) => n + d.items.length, 0);
  return (
    <section aria-labelledby="calendar-heading" class="plan-section">
      <h2 id="calendar-heading">Week</h2>
      <div class="calendar-nav">
        <Button kind="secondary" onClick={() => setMonday(addDays(monday, -7))}>
          Previous week
        </Button>
        <Button kind="secondary" onClick={() => setMonday(thisWeek)} disabled={monday === thisWeek}>
          This week
        </Button>
        <Button kind="secondary" onClick={() => setMonday(addDays(monday, 7))}>
          Next week
        </Button>
      </div>
      <p class="calendar-week" data-testid="calendar-week" aria-live="polite">
        <strong>{weekLabel(monday)}</strong>: {waiting.loading && !waiting.data ? 'loading…' : `${count} ${count === 1 ? 'post' : 'posts'} planned`}
      </p>
      <p>
        <TimeZoneNote />
      </p>
      <ErrorNote error={waiting.error} testId="calendar-error" />
      {waiting.data?.truncated ? (
        <p class="note note-warn">There are more waiting posts than the calendar reads at once: it shows the {CALENDAR_PAGES * 100} newest of each status.</p>
      ) : null}
      <ol class="calendar" data-testid="calendar" aria-label={`Posts planned for ${weekLabel(monday)}`}>
        {days.map((day) => (
          <li key={day.date} class={day.date === today ? 'calendar-day calendar-today' : 'calendar-day'} data-testid={`calendar-day-${day.date}`}>
            <h3 class="calendar-date">
              {dayLabel(day.date)}
              {day.date === today ? <span class="muted"> (today)</span> : null}
            </h3>
            {day.items.length ? (
              <ul class="calendar-posts">
                {day.items.map(({ item, time }) => (
                  <li key={item.id} class="calendar-entry">
                    <a class="calendar-post" href={href('pipelines', item.id)} data-testid={`calendar-post-${item.id}`}>
                      <time dateTime={utcIso(item.publishAt)}>{time}</time> <span class="calendar-topic">{titleOf(item)}</span>
                      <span class="calendar-meta">
                        {platformsOf(item)}
                        {item.status === 'awaiting_approval' ? ' · waiting for approval' : ''}
                      </span>
                    </a>
                    {canMove(item) ? (
                      <button type="button" class="calendar-move" onClick={() => onAction({ kind: 'reschedule', pipeline: item })} aria-label={`Reschedule “${titleOf(item)}”`}>
                        Reschedule
                      </button>
                    ) : null}
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted calendar-empty">Nothing planned</p>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

interface Filters {
  status: Status | '';
  platform: Platform | '';
  from: string;
  to: string;
}

/** The date a post is filed under: when it publishes, or when it was made if it publishes as soon as it is ready. */
const dateOf = (p: Pipeline, timeZone: string) => localDateOf(Date.parse(p.publishAt ?? p.createdAt), timeZone);

export function matchesDates(p: Pipeline, from: string, to: string, timeZone: string): boolean {
  const date = dateOf(p, timeZone);
  return (!from || date >= from) && (!to || date <= to);
}

function FilterBar({ filters, onChange }: { filters: Filters; onChange(f: Filters): void }) {
  const set = (patch: Partial<Filters>) => onChange({ ...filters, ...patch });
  return (
    <form class="row plan-filters" aria-label="Filter posts" onSubmit={(e) => e.preventDefault()}>
      <div class="field">
        <label for="filter-status">Status</label>
        <select id="filter-status" value={filters.status} onChange={(e) => set({ status: e.currentTarget.value as Status | '' })}>
          <option value="">Any status</option>
          {PIPELINE_STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS_WORDS[s]}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="filter-platform">Platform</label>
        <select id="filter-platform" value={filters.platform} onChange={(e) => set({ platform: e.currentTarget.value as Platform | '' })}>
          <option value="">Any platform</option>
          {PLATFORMS.map((p) => (
            <option key={p} value={p}>
              {PLATFORM_NAMES[p]}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="filter-from">From</label>
        <input id="filter-from" type="date" value={filters.from} max={filters.to || undefined} onInput={(e) => set({ from: e.currentTarget.value })} aria-describedby="filter-dates-help" />
      </div>
      <div class="field">
        <label for="filter-to">To</label>
        <input id="filter-to" type="date" value={filters.to} min={filters.from || undefined} onInput={(e) => set({ to: e.currentTarget.value })} aria-describedby="filter-dates-help" />
      </div>
      <p class="field-help plan-filters-help" id="filter-dates-help">
        Dates match the publish time, or the day a post was made when it publishes as soon as it is ready. Herald lists posts
        newest first and cannot search by date, so the dates filter the posts loaded so far: use “Load more” to look further back.
      </p>
    </form>
  );
}

interface ListState {
  items: Pipeline[];
  nextCursor: string | null;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Filters from the page's address (#/plan?status=scheduled&platform=x&from=2026-12-01), anything unknown dropped. */
export function filtersFrom(query: URLSearchParams): Filters {
  const status = query.get('status') ?? '';
  const platform = query.get('platform') ?? '';
  const date = (name: string) => (DATE.test(query.get(name) ?? '') ? (query.get(name) as string) : '');
  return {
    status: (PIPELINE_STATUSES as readonly string[]).includes(status) ? (status as Status) : '',
    platform: (PLATFORMS as readonly string[]).includes(platform) ? (platform as Platform) : '',
    from: date('from'),
    to: date('to'),
  };
}

/** Keeps the filters in the address, so a filtered plan can be bookmarked and shared; no new history entry per change. */
function rememberFilters(f: Filters): void {
  const query = new URLSearchParams(Object.entries(f).filter(([, v]) => v !== '')).toString();
  // location.replace: no history entry per change, and the router hears it, so the address and the filters agree.
  location.replace(`#/plan${query ? `?${query}` : ''}`);
}

function PostList({ version, timeZone, address, onAction }: { version: number; timeZone: string; address: URLSearchParams; onAction(a: PlanAction): void }) {
  const api = useApi();
  const [filters, setFiltersState] = useState<Filters>(() => filtersFrom(address));
  const setFilters = (f: Filters) => {
    setFiltersState(f);
    rememberFilters(f);
  };
  // A followed link or the menu's "Plan" changes the address itself: the filters follow it.
  const addressText = address.toString();
  useEffect(() => setFiltersState(filtersFrom(new URLSearchParams(addressText))), [addressText]);
  const [more, setMore] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const query = (cursor?: string) => ({
    limit: 50,
    ...(filters.status ? { status: filters.status } : {}),
    ...(filters.platform ? { platform: filters.platform } : {}),
    ...(cursor ? { cursor } : {}),
  });
  const list = useLoad<ListState>(() => ok(api.GET('/v1/pipelines', { params: { query: query() } })), [api, filters.status, filters.platform, version]);
  const loadMore = async () => {
    const cursor = list.data?.nextCursor;
    if (!cursor) return;
    setMore({ busy: true, error: null });
    try {
      const page = await ok(api.GET('/v1/pipelines', { params: { query: query(cursor) } }));
      list.setData((cur) => ({ items: [...(cur?.items ?? []), ...page.items.filter((p) => !cur?.items.some((c) => c.id === p.id))], nextCursor: page.nextCursor }));
      setMore({ busy: false, error: null });
    } catch (err) {
      setMore({ busy: false, error: err });
    }
  };
  const shown = (list.data?.items ?? []).filter((p) => matchesDates(p, filters.from, filters.to, timeZone));
  const loaded = list.data?.items.length ?? 0;
  return (
    <section aria-labelledby="list-heading" class="plan-section">
      <h2 id="list-heading">All posts</h2>
      <FilterBar filters={filters} onChange={setFilters} />
      <ErrorNote error={list.error} testId="list-error" />
      <p role="status" class="muted">
        {list.loading ? 'Loading posts…' : `Showing ${shown.length} of ${loaded} loaded ${loaded === 1 ? 'post' : 'posts'}${list.data?.nextCursor ? ' (more to load)' : ''}.`}
      </p>
      {shown.length ? (
        <table class="stack plan-table">
          <thead>
            <tr>
              <th scope="col">Post</th>
              <th scope="col">Status</th>
              <th scope="col">Platforms</th>
              <th scope="col">Publishes</th>
              <th scope="col">Made</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((p) => (
              <PostRow key={p.id} pipeline={p} onAction={onAction} />
            ))}
          </tbody>
        </table>
      ) : !list.loading && !list.error ? (
        <p class="note note-info">
          {loaded ? 'No loaded post matches these filters.' : 'No posts match these filters yet.'} <a href={href('compose')}>Write a post</a>.
        </p>
      ) : null}
      <ErrorNote error={more.error} testId="load-more-error" />
      {list.data?.nextCursor ? (
        <div class="actions">
          <Button kind="secondary" busy={more.busy} onClick={loadMore}>
            {more.busy ? 'Loading…' : 'Load more'}
          </Button>
        </div>
      ) : null}
    </section>
  );
}

function PostRow({ pipeline: p, onAction }: { pipeline: Pipeline; onAction(a: PlanAction): void }) {
  return (
    <tr data-testid={`plan-row-${p.id}`}>
      <td data-label="Post">
        <a href={href('pipelines', p.id)}>{titleOf(p)}</a>
        {p.request.dryRun ? <span class="muted"> (dry run)</span> : null}
        {p.error ? (
          <p class="plan-error" data-testid={`plan-error-${p.id}`}>
            {p.error.message}
            {p.error.hint ? <span class="muted"> {p.error.hint}</span> : null}
          </p>
        ) : null}
      </td>
      <td data-label="Status">
        <span class={statusBadge(p.status)} data-testid={`plan-status-${p.id}`}>
          {STATUS_WORDS[p.status]}
        </span>
      </td>
      <td data-label="Platforms">{platformsOf(p)}</td>
      <td data-label="Publishes">{p.publishAt ? <time dateTime={utcIso(p.publishAt)}>{formatLocal(p.publishAt)}</time> : <span class="muted">as soon as ready</span>}</td>
      <td data-label="Made">
        <time dateTime={utcIso(p.createdAt)}>{formatLocal(p.createdAt)}</time>
      </td>
      <td data-label="Actions">
        {canMove(p) || canCancel(p) ? (
          <div class="actions plan-row-buttons">
            {canMove(p) ? (
              <Button kind="secondary" onClick={() => onAction({ kind: 'reschedule', pipeline: p })} aria-label={`Reschedule “${titleOf(p)}”`}>
                Reschedule
              </Button>
            ) : null}
            {canCancel(p) ? (
              <Button kind="secondary" onClick={() => onAction({ kind: 'cancel', pipeline: p })} aria-label={`Cancel post “${titleOf(p)}”`}>
                Cancel post
              </Button>
            ) : null}
          </div>
        ) : (
          <span class="muted">Nothing to do</span>
        )}
      </td>
    </tr>
  );
}

export default function PlanPage({ query }: PageProps) {
  const timeZone = useMemo(userTimeZone, []);
  // Bumped after a reschedule or cancel, so the calendar and the list read the new state.
  const [version, setVersion] = useState(0);
  const [action, setAction] = useState<PlanAction | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const open = (a: PlanAction) => {
    setNotice(null);
    setAction(a);
  };
  const done = (message: string) => {
    setAction(null);
    setNotice(message);
    setVersion((v) => v + 1);
  };
  return (
    <Page title="Plan">
      <p>Posts planned for each week, and every post with its status. Move a post to another time, or cancel it.</p>
      <p class={notice ? 'note note-ok' : 'visually-hidden'} role="status" data-testid="plan-notice">
        {notice ?? ''}
      </p>
      <WeekCalendar version={version} timeZone={timeZone} onAction={open} />
      <PostList version={version} timeZone={timeZone} address={query} onAction={open} />
      {action ? (
        <ActionDialog title={action.kind === 'reschedule' ? `Reschedule “${titleOf(action.pipeline)}”` : `Cancel “${titleOf(action.pipeline)}”`} onClose={() => setAction(null)}>
          {action.kind === 'reschedule' ? (
            <RescheduleForm pipeline={action.pipeline} title={titleOf(action.pipeline)} timeZone={timeZone} onDone={done} onClose={() => setAction(null)} onStale={() => setVersion((v) => v + 1)} />
          ) : (
            <CancelConfirm pipeline={action.pipeline} title={titleOf(action.pipeline)} onDone={done} onClose={() => setAction(null)} />
          )}
        </ActionDialog>
      ) : null}
    </Page>
  );
}
