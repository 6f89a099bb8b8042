// A pipeline's live view: the stages as a progress line, the text and images, every platform's post as that platform
// shows it, the publications (with a countdown to a retry, the link once published), the timeline, the approval panel
// while a decision is awaited, and a link to the workflow in the Temporal Web UI.
import { useEffect } from 'preact/hooks';
import type { components } from '../../client';
import type { ImageRef, Publication, Variant } from '../../domain/types';
import { ok, useApi } from '../api';
import { Approval } from '../components/approval';
import { Countdown } from '../components/countdown';
import { ErrorNote } from '../components/error-note';
import { Page } from '../components/page';
import { Previews } from '../previews';
import '../previews/previews.css';
import './pipeline.css';
import type { PageProps } from '../router';
import { formatLocal } from '../time';
import { useLoad } from './load';
import { isTerminalStatus, useLiveState, type Connection, type Pipeline } from './live-state';

type TimelineEvent = components['schemas']['TimelineEvent'];

const PLATFORM_NAMES: Record<string, string> = {
  x: 'X', linkedin: 'LinkedIn', facebook: 'Facebook', instagram: 'Instagram', threads: 'Threads',
  mastodon: 'Mastodon', bluesky: 'Bluesky', slack: 'Slack', discord: 'Discord', webhook: 'Webhook',
};
const platformName = (p: string) => PLATFORM_NAMES[p] ?? p;

const STATUS_WORDS: Record<string, string> = {
  queued: 'Queued', generating: 'Writing the text', illustrating: 'Finding an image', adapting: 'Fitting each platform',
  awaiting_approval: 'Awaiting approval', scheduled: 'Scheduled', publishing: 'Publishing', published: 'Published',
  partially_published: 'Partly published', failed: 'Failed', rejected: 'Rejected', cancelled: 'Cancelled', expired: 'Expired (no decision in time)',
};
const words = (status: string) => STATUS_WORDS[status] ?? status;

/** The stages this pipeline goes through: approval and scheduling only when it asked for them. */
function stagesOf(s: Pipeline): string[] {
  const stages = ['queued', 'generating', 'illustrating', 'adapting'];
  if (s.request.approval?.required || s.approval?.required) stages.push('awaiting_approval');
  if (s.publishAt || s.request.publishAt) stages.push('scheduled');
  stages.push('publishing', isTerminalStatus(s.status) ? s.status : 'published');
  return stages;
}

function Progress({ state }: { state: Pipeline }) {
  const stages = stagesOf(state);
  const at = stages.indexOf(state.status);
  return (
    <ol class="progress" aria-label="Stages">
      {stages.map((stage, i) => {
        const phase = i < at || (i === at && isTerminalStatus(stage)) ? 'done' : i === at ? 'current' : 'todo';
        return (
          <li key={stage} class={`progress-step progress-${phase}${i === at && ['failed', 'rejected', 'cancelled', 'expired'].includes(stage) ? ' progress-bad' : ''}`} aria-current={i === at ? 'step' : undefined}>
            <span class="visually-hidden">{phase === 'done' ? 'done: ' : phase === 'current' ? 'now: ' : 'next: '}</span>
            {words(stage)}
          </li>
        );
      })}
    </ol>
  );
}

const CONNECTION_WORDS: Record<Connection, string> = {
  connecting: 'Connecting…',
  live: 'Live: this page updates by itself.',
  reconnecting: 'Connection lost: reconnecting…',
  ended: 'Finished: nothing more will change.',
};

function badgeOf(status: string): string {
  if (['published', 'previewed'].includes(status)) return 'badge badge-ok';
  if (['failed', 'rejected', 'expired', 'partially_published'].includes(status)) return 'badge badge-error';
  if (['waiting', 'awaiting_approval', 'scheduled', 'cancelled', 'skipped'].includes(status)) return 'badge badge-warn';
  return 'badge badge-neutral';
}

const PUBLICATION_WORDS: Record<string, string> = {
  pending: 'Not started', waiting: 'Waiting to retry', publishing: 'Publishing', published: 'Published',
  previewed: 'Dry run: nothing was sent', failed: 'Failed', skipped: 'Skipped',
};

function Publications({ state, accountNames }: { state: Pipeline; accountNames: Record<string, string> }) {
  if (!state.publications.length) return <p class="muted">Nothing is being published yet.</p>;
  return (
    <table class="stack">
      <thead>
        <tr>
          <th scope="col">Platform</th>
          <th scope="col">Status</th>
          <th scope="col">Tries</th>
          <th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        {state.publications.map((p, i) => (
          <tr key={`${p.platform}-${i}`} data-testid={`publication-${p.platform}`}>
            <td data-label="Platform">
              {platformName(p.platform)}
              {p.accountId ? <span class="muted"> ({accountNames[p.accountId] ?? p.accountId})</span> : null}
            </td>
            <td data-label="Status">
              <span class={badgeOf(p.status)}>{PUBLICATION_WORDS[p.status] ?? p.status}</span>
            </td>
            <td data-label="Tries">{p.attempts}</td>
            <td data-label="Details">
              {p.url ? (
                <a href={p.url} target="_blank" rel="noopener noreferrer">
                  See it on {platformName(p.platform)}
                </a>
              ) : null}
              {p.publishedAt ? <span class="muted"> {formatLocal(p.publishedAt)}</span> : null}
              {p.retryAt && p.status === 'waiting' ? (
                <p>
                  Tries again <Countdown to={p.retryAt} testId={`retry-${p.platform}`} />
                </p>
              ) : null}
              {p.error ? (
                <div class="publication-error">
                  <p>{p.error.message}</p>
                  {p.error.hint ? <p class="muted">{p.error.hint}</p> : null}
                </div>
              ) : null}
              {p.preview !== undefined && p.preview !== null ? (
                <details>
                  <summary>Requests that would have been sent</summary>
                  <pre class="json">{JSON.stringify(p.preview, null, 2)}</pre>
                </details>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One timeline event in words, with what to do about it when there is something. */
export function describeEvent(e: TimelineEvent): { text: string; hint?: string | null } {
  switch (e.type) {
    case 'stage':
      return { text: `${words(e.to)}${e.from ? ` (was: ${words(e.from).toLowerCase()})` : ''}` };
    case 'provider_used':
      return { text: `${e.stage === 'text' ? 'Text written by' : 'Image from'} ${e.provider}${e.model ? ` (${e.model})` : ''}${e.cached ? ', from the cache' : ''}` };
    case 'provider_skipped':
      return { text: `${e.provider} was skipped for the ${e.stage}: ${e.reason}` };
    case 'image_fallback':
      return { text: `Image from ${e.source} instead: ${e.reason}` };
    case 'publication_attempt':
      return { text: `${platformName(e.platform)}: ${PUBLICATION_WORDS[e.status] ?? e.status}${e.error ? ` (${e.error.message})` : ''}`, hint: e.error?.hint };
    case 'publication_waiting':
      return { text: `${platformName(e.platform)} waits${e.retryAt ? ` until ${formatLocal(e.retryAt)}` : ''}${e.error ? `: ${e.error.message}` : ''}`, hint: e.error?.hint };
    case 'approval':
      return {
        text: `${e.decision === 'approved' ? 'Approved' : e.decision === 'rejected' ? 'Rejected' : 'No decision in time'}${e.by === 'review_link' ? ' through a review link' : ''}${e.edited ? ', with edits' : ''}${e.reason ? `: ${e.reason}` : ''}`,
      };
    case 'edit':
      return { text: `Edited: ${e.fields.join(', ')}` };
    case 'publish_time':
      return { text: e.to ? `Publish time set to ${formatLocal(e.to)}${e.reason ? ` (${e.reason})` : ''}` : 'Publish time removed: publishes when ready' };
    case 'error':
      return { text: e.message, hint: e.hint };
  }
}

function Timeline({ id, version }: { id: string; version: string }) {
  const api = useApi();
  const timeline = useLoad(() => ok(api.GET('/v1/pipelines/{id}/timeline', { params: { path: { id } } })), [id, version]);
  if (timeline.error) return <ErrorNote error={timeline.error} />;
  const events = timeline.data?.events ?? [];
  if (!events.length) return <p class="muted">{timeline.loading ? 'Loading…' : 'Nothing recorded yet.'}</p>;
  return (
    <ol class="timeline" data-testid="timeline">
      {events.map((e) => {
        const { text, hint } = describeEvent(e);
        return (
          <li key={e.id} class={e.type === 'error' ? 'timeline-error' : undefined}>
            <time dateTime={e.at}>{formatLocal(e.at)}</time> <span>{text}</span>
            {hint ? <p class="muted timeline-hint">{hint}</p> : null}
          </li>
        );
      })}
    </ol>
  );
}

function Content({ state }: { state: Pipeline }) {
  if (!state.content) return <p class="muted">The text is not written yet.</p>;
  const { content } = state;
  return (
    <div class="card">
      <h3>{content.title}</h3>
      <p class="pv-text">{content.body}</p>
      {content.hashtags.length ? (
        <ul class="tags" aria-label="Hashtags">
          {content.hashtags.map((t) => (
            <li key={t}>#{t.replace(/^#/, '')}</li>
          ))}
        </ul>
      ) : null}
      <p class="muted">
        Written by {content.provider}
        {content.model ? ` (${content.model})` : ''}
        {content.cached ? ', from the cache' : ''}.
      </p>
    </div>
  );
}

function Images({ images }: { images: ImageRef[] }) {
  if (!images.length) return <p class="muted">No images.</p>;
  return (
    <div class="images">
      {images.map((img) => (
        <figure key={img.id}>
          <img src={img.url} alt={img.alt} width={img.width} height={img.height} />
          <figcaption>
            {img.source}
            {img.attribution ? ` · ${img.attribution}` : ''}
            {img.fallbackReason ? <span class="muted"> · {img.fallbackReason}</span> : null}
          </figcaption>
        </figure>
      ))}
    </div>
  );
}

/** The handles of the accounts this pipeline posts as, for the previews; none when it names no account. */
function useAccountNames(state: Pipeline | null): Record<string, string> {
  const api = useApi();
  const wanted = state?.request.targets.some((t) => t.accountId) ?? false;
  const accounts = useLoad(async () => (wanted ? ok(api.GET('/v1/accounts')) : { items: [] }), [wanted]);
  return Object.fromEntries((accounts.data?.items ?? []).map((a) => [a.id, a.handle]));
}

export default function PipelinePage({ params }: PageProps) {
  const id = params[0] ?? '';
  const live = useLiveState(id);
  const { state } = live;
  const accountNames = useAccountNames(state);
  useEffect(() => {
    if (state?.status === 'awaiting_approval') document.title = `Awaiting approval · ${state.content?.title ?? 'Pipeline'} · Herald`;
  }, [state?.status, state?.content?.title]);
  if (!state) {
    return (
      <Page title="Pipeline">
        {live.error ? <ErrorNote error={live.error} /> : <p role="status">{CONNECTION_WORDS[live.connection]}</p>}
      </Page>
    );
  }
  const title = state.content?.title ?? state.request.topic;
  return (
    <Page
      title={title}
      actions={
        <a class="button button-secondary" href={state.links.temporal} target="_blank" rel="noopener noreferrer">
          Open the workflow in Temporal
        </a>
      }
    >
      <p>
        <span class={badgeOf(state.status)} data-testid="pipeline-status" role="status">
          {words(state.status)}
        </span>{' '}
        <span class="muted" aria-live="polite">
          {CONNECTION_WORDS[live.connection]}
        </span>
        {state.request.dryRun ? (
          <>
            {' '}
            <span class="badge badge-neutral">Dry run</span>
          </>
        ) : null}
      </p>
      <Progress state={state} />
      {state.publishAt && !isTerminalStatus(state.status) ? (
        <p>
          Publishes at {formatLocal(state.publishAt)} (<Countdown to={state.publishAt} testId="publish-countdown" />)
        </p>
      ) : null}
      {state.error ? (
        <div class="note note-error" role="alert">
          <p class="note-message">{state.error.message}</p>
          {state.error.hint ? <p class="note-hint">{state.error.hint}</p> : null}
        </div>
      ) : null}
      {state.status === 'awaiting_approval' && state.content ? <Approval state={state} onChange={live.replace} /> : null}
      {state.approval?.decision === 'rejected' && state.approval.reason ? <p class="note note-warn">Rejected: {state.approval.reason}</p> : null}
      <h2>Text</h2>
      <Content state={state} />
      <h2>Images</h2>
      <Images images={state.images as ImageRef[]} />
      <h2>How each platform shows it</h2>
      {state.variants.length && state.content ? (
        <Previews title={state.content.title} variants={state.variants as Variant[]} images={state.images as ImageRef[]} publications={state.publications as Publication[]} accountNames={accountNames} />
      ) : (
        <p class="muted">The previews appear once the text is fitted to each platform.</p>
      )}
      <h2>Publications</h2>
      <Publications state={state} accountNames={accountNames} />
      <h2>Timeline</h2>
      <Timeline id={state.id} version={`${state.status}:${state.updatedAt}`} />
    </Page>
  );
}
