// Webhooks: the endpoints Herald tells when something happens. Create one (its signing secret is shown once), see
// whether Herald still delivers to it and why not, follow each delivery's attempts, redeliver, send a test event.
import { useState } from 'preact/hooks';
import type { components } from '../../client';
import { LIFECYCLE_EVENT_TYPES, type LifecycleEventType } from '../../domain/lifecycle-events';
import { fieldProblems, ok, useApi } from '../api';
import { Button } from '../components/button';
import { Countdown } from '../components/countdown';
import { ErrorNote } from '../components/error-note';
import { ConfirmDelete } from './confirm-delete';
import { Field } from '../components/field';
import { Page } from '../components/page';
import type { PageProps } from '../router';
import { formatLocal } from '../time';
import { useEvery, useLoad } from './load';
import './plan.css';

type Webhook = components['schemas']['Webhook'];
type Created = components['schemas']['WebhookCreated'];
type Delivery = components['schemas']['WebhookDelivery'];

const EVENT_WORDS: Record<LifecycleEventType, string> = {
  'pipeline.awaiting_approval': 'a post waits for approval',
  'pipeline.scheduled': 'a post is scheduled',
  'pipeline.published': 'a post is published everywhere',
  'pipeline.partially_published': 'a post is published only in part',
  'pipeline.failed': 'a post failed',
  'pipeline.expired': 'nobody approved a post in time',
  'pipeline.rejected': 'a post was rejected',
  'pipeline.cancelled': 'a post was cancelled',
  'publication.published': 'a post went out on one platform',
  'publication.failed': 'a post failed on one platform',
  'publication.waiting': 'a post waits for a platform (rate limit, outage)',
  'account.reauth_required': 'an account must be reconnected',
  'account.token_expiring': 'an account’s token expires soon',
  'schedule.run_skipped': 'a schedule skipped a run',
};

const DELIVERY_BADGE: Record<Delivery['status'], string> = { pending: 'badge badge-warn', delivered: 'badge badge-ok', failed: 'badge badge-error' };
const DELIVERY_WORDS: Record<Delivery['status'], string> = { pending: 'Being retried', delivered: 'Delivered', failed: 'Failed' };

function CreateForm({ onCreated }: { onCreated(w: Created): void }) {
  const api = useApi();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<Set<LifecycleEventType>>(new Set(['pipeline.published', 'pipeline.failed', 'account.reauth_required']));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const problems = fieldProblems(error);
  const toggle = (e: LifecycleEventType) => {
    const next = new Set(events);
    if (next.has(e)) next.delete(e);
    else next.add(e);
    setEvents(next);
  };
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await ok(api.POST('/v1/webhooks', { body: { url: url.trim(), events: [...events], ...(description.trim() ? { description: description.trim() } : {}) } }));
      setUrl('');
      setDescription('');
      onCreated(created);
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  return (
    <form onSubmit={submit} data-testid="webhook-create">
      <fieldset>
        <legend>Add a webhook</legend>
        <Field id="webhook-url" label="URL" help="Herald sends a signed POST here for each event you choose." problems={problems.filter((p) => p.path === 'url')}>
          <input type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} required placeholder="https://example.com/herald" />
        </Field>
        <Field id="webhook-description" label="Description (optional)" problems={problems.filter((p) => p.path === 'description')}>
          <input type="text" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </Field>
        <fieldset class="webhook-events">
          <legend>Events</legend>
          <div class="actions">
            <Button kind="secondary" onClick={() => setEvents(new Set(LIFECYCLE_EVENT_TYPES))}>
              Choose all
            </Button>
            <Button kind="secondary" onClick={() => setEvents(new Set())}>
              Clear
            </Button>
          </div>
          <div class="checks">
            {LIFECYCLE_EVENT_TYPES.map((e) => (
              <label key={e} class="check">
                <input type="checkbox" checked={events.has(e)} onChange={() => toggle(e)} />
                <span>
                  {EVENT_WORDS[e]} <code>{e}</code>
                </span>
              </label>
            ))}
          </div>
        </fieldset>
        <ErrorNote error={error} testId="webhook-create-error" />
        <div class="actions">
          <Button type="submit" busy={busy} disabled={!events.size}>
            {busy ? 'Adding…' : 'Add webhook'}
          </Button>
          {!events.size ? <span class="muted">Choose at least one event.</span> : null}
        </div>
      </fieldset>
    </form>
  );
}

function SecretOnce({ created, onDismiss }: { created: Created; onDismiss(): void }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = () =>
    navigator.clipboard.writeText(created.secret).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return (
    <div class="note note-warn" role="status" data-testid="webhook-created">
      <p class="note-message">
        <strong>Webhook added for {created.url}.</strong> This is its signing secret. It is shown only now: store it where your receiver can read
        it, to check that each delivery comes from Herald.
      </p>
      <code class="secret" data-testid="webhook-secret">
        {created.secret}
      </code>
      <div class="actions">
        <Button kind="secondary" onClick={copy}>
          Copy the secret
        </Button>
        <Button kind="secondary" onClick={onDismiss}>
          I have stored it
        </Button>
        {copied === true ? <span>Copied.</span> : copied === false ? <span>Copying was refused by the browser: select the text and copy it.</span> : null}
      </div>
    </div>
  );
}

function DeliveryRow({ d, webhook, onRedelivered }: { d: Delivery; webhook: Webhook; onRedelivered(d: Delivery): void }) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const redeliver = async () => {
    setBusy(true);
    setError(null);
    try {
      onRedelivered(await ok(api.POST('/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver', { params: { path: { id: webhook.id, deliveryId: d.id } } })));
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  return (
    <tr data-testid={`delivery-${d.id}`}>
      <td data-label="Event">
        <code>{d.eventType}</code>
        {d.redeliveryOf ? <span class="muted"> (sent again)</span> : null}
        <br />
        <span class="muted">{formatLocal(d.createdAt)}</span>
      </td>
      <td data-label="Status">
        <span class={DELIVERY_BADGE[d.status]}>{DELIVERY_WORDS[d.status]}</span>
      </td>
      <td data-label="Attempts">{d.attempts}</td>
      <td data-label="Answer">
        {d.lastStatusCode !== null ? `HTTP ${d.lastStatusCode}` : d.attempts ? 'no answer' : '–'}
        {d.lastError ? <span class="muted"> {d.lastError}</span> : null}
      </td>
      <td data-label="When">
        {d.deliveredAt ? (
          `delivered ${formatLocal(d.deliveredAt)}`
        ) : d.nextAttemptAt ? (
          <>
            next try <Countdown to={d.nextAttemptAt} />
          </>
        ) : d.lastAttemptAt ? (
          `last tried ${formatLocal(d.lastAttemptAt)}`
        ) : (
          '–'
        )}
      </td>
      <td data-label="Actions">
        {d.status !== 'pending' && webhook.status === 'active' ? (
          <Button kind="secondary" busy={busy} onClick={redeliver} aria-label={`Redeliver ${d.eventType} of ${formatLocal(d.createdAt)}`}>
            Redeliver
          </Button>
        ) : null}
        <ErrorNote error={error} />
      </td>
    </tr>
  );
}

function Deliveries({ webhook, version }: { webhook: Webhook; version: number }) {
  const api = useApi();
  const [pages, setPages] = useState(1);
  const load = async () => {
    const items: Delivery[] = [];
    let cursor: string | null = null;
    // Read again as many pages as are shown, so "Load more" survives the refresh every few seconds.
    for (let i = 0; i < pages; i++) {
      const query: { limit: number; cursor?: string } = { limit: 20, ...(cursor ? { cursor } : {}) };
      const page: components['schemas']['WebhookDeliveryList'] = await ok(api.GET('/v1/webhooks/{id}/deliveries', { params: { path: { id: webhook.id }, query } }));
      items.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    return { items, more: cursor !== null };
  };
  const list = useLoad(load, [api, webhook.id, pages, version]);
  useEvery(5_000, list.reload);
  const items = list.data?.items ?? [];
  return (
    <div class="webhook-deliveries" data-testid={`deliveries-${webhook.id}`}>
      <h3>Deliveries</h3>
      <ErrorNote error={list.error} />
      {list.data && !items.length ? <p class="muted">Nothing sent yet.</p> : null}
      {items.length ? (
        <table class="stack">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Answer</th>
              <th scope="col">When</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <DeliveryRow key={d.id} d={d} webhook={webhook} onRedelivered={list.reload} />
            ))}
          </tbody>
        </table>
      ) : null}
      {list.data?.more ? (
        <div class="actions">
          <Button kind="secondary" onClick={() => setPages((p) => p + 1)}>
            Load more
          </Button>
        </div>
      ) : null}
    </div>
  );
}

function WebhookCard({ webhook: w, onDeleted }: { webhook: Webhook; onDeleted(): void }) {
  const api = useApi();
  const [open, setOpen] = useState(false);
  const [version, setVersion] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const path = { params: { path: { id: w.id } } };
  const sendTest = async () => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await ok(api.POST('/v1/webhooks/{id}/test', path));
      setNotice('Test event sent: its delivery is listed below.');
      setOpen(true);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  const remove = async () => {
    await ok(api.DELETE('/v1/webhooks/{id}', path));
    onDeleted();
  };
  const disabled = w.status === 'disabled';
  return (
    <li class={`card ${disabled ? 'card-alert' : ''}`} data-testid={`webhook-${w.id}`} data-status={w.status}>
      <div class="card-head">
        <h2>
          <code>{w.url}</code>
        </h2>
        <span class={disabled ? 'badge badge-error' : 'badge badge-ok'}>{disabled ? 'Stopped' : 'Active'}</span>
      </div>
      {w.description ? <p>{w.description}</p> : null}
      {disabled ? (
        <div class="note note-error" role="alert" data-testid={`webhook-disabled-${w.id}`}>
          <p class="note-message">
            Herald stopped delivering here{w.disabledAt ? ` on ${formatLocal(w.disabledAt)}` : ''}: {w.disabledReason ?? 'no reason was recorded'}.
          </p>
          <p class="note-hint">Once the receiver is fixed, add the webhook again (it gets a new secret) and delete this one.</p>
        </div>
      ) : null}
      <p>
        <span class="label">Events:</span> {w.events.join(', ')}
      </p>
      <p class="muted">Added {formatLocal(w.createdAt)}</p>
      {notice ? (
        <p class="note note-ok" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorNote error={error} />
      <div class="actions">
        <Button kind="secondary" onClick={() => setOpen(!open)} aria-expanded={open ? 'true' : 'false'} aria-controls={`deliveries-of-${w.id}`}>
          {open ? 'Hide deliveries' : 'Show deliveries'}
        </Button>
        {!disabled ? (
          <Button kind="secondary" busy={busy} onClick={sendTest}>
            Send test event
          </Button>
        ) : null}
        <ConfirmDelete label="Delete" confirm="Yes, delete it" ariaLabel={`Delete the webhook to ${w.url}`} onConfirm={remove} />
      </div>
      <div id={`deliveries-of-${w.id}`}>{open ? <Deliveries webhook={w} version={version} /> : null}</div>
    </li>
  );
}

export default function WebhooksPage(_props: PageProps) {
  const api = useApi();
  const list = useLoad(() => ok(api.GET('/v1/webhooks')), [api]);
  const [created, setCreated] = useState<Created | null>(null);
  const items = list.data?.items ?? [];
  return (
    <Page title="Webhooks">
      <p>
        Herald tells your own systems when something happens, with a signed POST. A delivery that fails is tried again for 24 hours; a receiver
        that answers “410 Gone”, or fails all that time, is stopped.
      </p>
      {created ? <SecretOnce created={created} onDismiss={() => setCreated(null)} /> : null}
      <ErrorNote error={list.error} testId="webhooks-error" />
      {list.loading && !list.data ? <p class="muted">Loading webhooks…</p> : null}
      {list.data && !items.length ? <p class="note note-info">No webhooks yet: add one below.</p> : null}
      <ul class="cards" aria-label="Webhooks">
        {items.map((w) => (
          <WebhookCard key={w.id} webhook={w} onDeleted={list.reload} />
        ))}
      </ul>
      <CreateForm
        onCreated={(w) => {
          setCreated(w);
          list.reload();
          window.scrollTo({ top: 0 });
        }}
      />
    </Page>
  );
}
