// Recurring posts: when each runs (a cron expression or an interval, in its own time zone), its next runs, what its
// recent runs did (including those skipped, and why), and pausing and resuming it.
import { useState } from 'preact/hooks';
import type { components } from '../../client';
import { PLATFORM_NAMES } from '../../domain/types';
import { ok, useApi } from '../api';
import { Button } from '../components/button';
import { ErrorNote } from '../components/error-note';
import { ConfirmDelete } from './confirm-delete';
import { Page } from '../components/page';
import { href, type PageProps } from '../router';
import { formatLocal, userTimeZone } from '../time';
import { useLoad } from './load';
import { nextRuns, readEvery } from './runs';
import { utcIso } from './week';
import './plan.css';

type Schedule = components['schemas']['Schedule'];

const MACROS: Record<string, string> = {
  '@yearly': 'once a year (1 January, 00:00)',
  '@annually': 'once a year (1 January, 00:00)',
  '@monthly': 'once a month (the 1st, 00:00)',
  '@weekly': 'once a week (Sunday, 00:00)',
  '@daily': 'every day at 00:00',
  '@midnight': 'every day at 00:00',
  '@hourly': 'every hour, on the hour',
};

function when(s: Schedule): string {
  if (s.every) return readEvery(s.every)?.words ?? `every ${s.every}`;
  const cron = s.cron ?? '';
  return MACROS[cron] ?? `on the cron expression “${cron}” (minute, hour, day of month, month, day of week)`;
}

/** A time in the schedule's own zone, with the user's beside it when they differ. */
function inZones(iso: string, scheduleZone: string, userZone: string): string {
  const own = new Date(iso).toLocaleString(undefined, { timeZone: scheduleZone, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  return scheduleZone === userZone ? own : `${own} ${scheduleZone} (${formatLocal(iso)} your time)`;
}

function Runs({ s }: { s: Schedule }) {
  if (!s.recentRuns.length) return <p class="muted">No runs yet.</p>;
  return (
    <ul class="schedule-runs">
      {s.recentRuns.map((r, i) => (
        <li key={`${r.runAt}-${i}`} data-testid={`run-${s.id}-${i}`}>
          <time dateTime={utcIso(r.runAt)}>{formatLocal(r.runAt)}</time>:{' '}
          {r.skipped !== undefined ? (
            <>
              <span class="badge badge-warn">Skipped</span> {r.skipped}
            </>
          ) : r.pipelineId ? (
            <a href={href('pipelines', r.pipelineId)}>the post it started</a>
          ) : (
            <span class="muted">starting…</span>
          )}
        </li>
      ))}
    </ul>
  );
}

function ScheduleCard({ schedule: s, userZone, onReplaced, onDeleted }: { schedule: Schedule; userZone: string; onReplaced(s: Schedule): void; onDeleted(): void }) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const path = { params: { path: { id: s.id } } };
  const togglePause = async () => {
    setBusy(true);
    setError(null);
    try {
      onReplaced(await ok(s.paused ? api.POST('/v1/schedules/{id}/unpause', path) : api.POST('/v1/schedules/{id}/pause', path)));
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  const remove = async () => {
    await ok(api.DELETE('/v1/schedules/{id}', path));
    onDeleted();
  };
  const runs = nextRuns(s);
  const targets = s.pipeline.targets.map((t) => PLATFORM_NAMES[t.platform]).join(', ');
  return (
    <li class={`card ${s.paused ? 'card-warn' : ''}`} data-testid={`schedule-${s.id}`} data-paused={String(s.paused)}>
      <div class="card-head">
        <h2>{s.pipeline.topic}</h2>
        <span class={s.paused ? 'badge badge-warn' : 'badge badge-ok'} data-testid={`schedule-state-${s.id}`}>
          {s.paused ? 'Paused' : 'Running'}
        </span>
      </div>
      <dl class="facts">
        <dt>Runs</dt>
        <dd>
          {when(s)}, in {s.timezone}
        </dd>
        <dt>Posts to</dt>
        <dd>
          {targets}
          {s.pipeline.dryRun ? ' (dry run: nothing is published)' : ''}
          {s.pipeline.approval?.required ? ', each waiting for approval' : ''}
        </dd>
        <dt>Next runs</dt>
        <dd data-testid={`schedule-next-${s.id}`}>
          {s.paused ? (
            'none while paused'
          ) : runs.length ? (
            <>
              <ul class="schedule-next">
                {runs.map((r) => (
                  <li key={r}>
                    <time dateTime={utcIso(r)}>{inZones(r, s.timezone, userZone)}</time>
                  </li>
                ))}
              </ul>
              {runs.length > 1 ? <span class="field-help">The first is Temporal’s; the others follow from the schedule.</span> : null}
            </>
          ) : (
            'not known right now (Herald could not ask Temporal)'
          )}
        </dd>
        <dt>Last run</dt>
        <dd>{s.lastRunAt ? formatLocal(s.lastRunAt) : 'not yet'}</dd>
      </dl>
      <h3>Recent runs</h3>
      <Runs s={s} />
      <ErrorNote error={error} />
      <div class="actions">
        <Button kind={s.paused ? 'primary' : 'secondary'} busy={busy} onClick={togglePause} aria-label={`${s.paused ? 'Resume' : 'Pause'} “${s.pipeline.topic}”`}>
          {s.paused ? 'Resume' : 'Pause'}
        </Button>
        <ConfirmDelete label="Delete" confirm="Yes, delete the schedule" ariaLabel={`Delete schedule “${s.pipeline.topic}”`} onConfirm={remove} />
        <a class="button button-secondary" href={s.links.temporal} target="_blank" rel="noreferrer">
          Open in Temporal
        </a>
      </div>
    </li>
  );
}

export default function SchedulesPage(_props: PageProps) {
  const api = useApi();
  const list = useLoad(() => ok(api.GET('/v1/schedules')), [api]);
  const userZone = userTimeZone();
  const items = list.data?.items ?? [];
  const replace = (next: Schedule) => list.setData((cur) => (cur ? { items: cur.items.map((s) => (s.id === next.id ? next : s)) } : cur));
  return (
    <Page title="Schedules">
      <p>
        Posts Herald writes again and again on a schedule. Each run starts a new post. A run more than an hour late (after an outage) or one that
        would go past the team’s limit of unfinished posts is skipped, not published late. Pausing stops the runs until you resume; posts already
        started carry on.
      </p>
      <p class="muted">
        To make a schedule: <code>npx herald schedules create --cron "0 9 * * MON-FRI" --timezone Europe/Berlin --topic "Weekly digest" --platform linkedin</code>{' '}
        (or <code>--every 6h</code>).
      </p>
      <ErrorNote error={list.error} testId="schedules-error" />
      {list.loading && !list.data ? <p class="muted">Loading schedules…</p> : null}
      {list.data && !items.length ? <p class="note note-info">No schedules yet.</p> : null}
      <ul class="cards" aria-label="Schedules">
        {items.map((s) => (
          <ScheduleCard key={s.id} schedule={s} userZone={userZone} onReplaced={replace} onDeleted={list.reload} />
        ))}
      </ul>
    </Page>
  );
}
