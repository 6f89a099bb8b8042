// Connected accounts: whether Herald can post with each, when its token expires, what went wrong last; an account that
// must be reconnected stands out and says what to do. Connecting takes the few fields each platform needs; anything
// rarer goes through `npx herald accounts add`.
import { useRef, useState } from 'preact/hooks';
import type { components } from '../../client';
import { PLATFORM_NAMES, PLATFORMS, type Platform } from '../../domain/types';
import { ApiError, fieldProblems, ok, useApi } from '../api';
import { Button } from '../components/button';
import { ErrorNote } from '../components/error-note';
import { ConfirmDelete } from './confirm-delete';
import { Field } from '../components/field';
import { Page } from '../components/page';
import type { PageProps } from '../router';
import { formatLocal } from '../time';
import { useLoad } from './load';
import { fromInputValue } from './week';
import './plan.css';

type Account = components['schemas']['Account'];

/** Herald warns this long before a token expires (ACCOUNT_EXPIRY_WARNING's default). */
const EXPIRY_WARNING_MS = 7 * 24 * 3_600_000;

const STATUS_WORDS: Record<Account['status'], string> = { active: 'Connected', reauth_required: 'Reconnect needed', disabled: 'Disconnected' };
const STATUS_BADGE: Record<Account['status'], string> = { active: 'badge badge-ok', reauth_required: 'badge badge-error', disabled: 'badge badge-neutral' };

function expiryWords(a: Account, now: number): string {
  if (!a.expiresAt) return 'does not expire';
  const at = Date.parse(a.expiresAt);
  const days = Math.round((at - now) / 86_400_000);
  if (at <= now) return `expired ${formatLocal(a.expiresAt)}`;
  return `${formatLocal(a.expiresAt)} (${days < 1 ? 'within a day' : `in ${days} ${days === 1 ? 'day' : 'days'}`})`;
}

function ReauthNote({ account: a, onReconnect }: { account: Account; onReconnect(a: Account): void }) {
  const name = PLATFORM_NAMES[a.platform];
  return (
    <div class="note note-error" role="alert" data-testid={`account-reauth-${a.id}`}>
      <p class="note-message">
        <strong>Reconnect needed.</strong> Herald can no longer post as {a.handle} on {name}: {name} stopped accepting its sign-in
        {a.lastError ? ` (${a.lastError})` : ''}. Posts to this account will fail until it is connected again.
      </p>
      <p class="note-hint">
        What to do: sign in to {name} as {a.handle}, create a new access token for Herald, and connect the account again with
        “Reconnect” below. Then choose the newly connected account in your posts and schedules, and disconnect this one.
      </p>
      <div class="actions">
        <Button onClick={() => onReconnect(a)}>Reconnect {a.handle}</Button>
      </div>
    </div>
  );
}

type Outcome = { ok: true; message: string } | { ok: false; error: unknown };

function AccountCard({ account: a, onChanged, onReconnect }: { account: Account; onChanged(): void; onReconnect(a: Account): void }) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const now = Date.now();
  const expiringSoon = a.status === 'active' && a.expiresAt !== null && Date.parse(a.expiresAt) - now < EXPIRY_WARNING_MS;
  const refresh = async () => {
    setBusy(true);
    setOutcome(null);
    try {
      const r = await ok(api.POST('/v1/accounts/{id}/refresh', { params: { path: { id: a.id } } }));
      setOutcome({ ok: true, message: r.refreshed ? `Token refreshed. It now ${r.expiresAt ? `expires ${formatLocal(r.expiresAt)}` : 'does not expire'}.` : `Nothing to refresh${r.reason ? `: ${r.reason}` : ''}.` });
    } catch (err) {
      setOutcome({ ok: false, error: err });
    }
    setBusy(false);
    onChanged();
  };
  const remove = async () => {
    await ok(api.DELETE('/v1/accounts/{id}', { params: { path: { id: a.id } } }));
    onChanged();
  };
  const refusedForReauth = outcome && !outcome.ok && outcome.error instanceof ApiError && outcome.error.code === 'conflict';
  return (
    <li class={`card ${a.status === 'reauth_required' ? 'card-alert' : expiringSoon ? 'card-warn' : ''}`} data-testid={`account-${a.id}`} data-status={a.status}>
      <div class="card-head">
        <h2>
          {PLATFORM_NAMES[a.platform]} · {a.handle}
        </h2>
        <span class={STATUS_BADGE[a.status]}>{STATUS_WORDS[a.status]}</span>
      </div>
      {a.status === 'reauth_required' ? <ReauthNote account={a} onReconnect={onReconnect} /> : null}
      {expiringSoon ? (
        <p class="note note-warn">
          {a.expiresAt && Date.parse(a.expiresAt) <= now ? `Its token has ${expiryWords(a, now)}.` : `Its token expires soon: ${expiryWords(a, now)}.`} Herald renews it by
          itself where {PLATFORM_NAMES[a.platform]} allows; if “Refresh now” says there is nothing to refresh, reconnect it.
        </p>
      ) : null}
      <dl class="facts">
        <dt>Token expires</dt>
        <dd>{expiryWords(a, now)}</dd>
        <dt>Last refreshed</dt>
        <dd>{a.lastRefreshedAt ? formatLocal(a.lastRefreshedAt) : 'never'}</dd>
        <dt>Last error</dt>
        <dd data-testid={`account-error-${a.id}`}>{a.lastError ?? 'none'}</dd>
        <dt>Connected</dt>
        <dd>{formatLocal(a.createdAt)}</dd>
        <dt>Id</dt>
        <dd>
          <code>{a.id}</code>
        </dd>
      </dl>
      {outcome?.ok ? (
        <p class="note note-ok" role="status">
          {outcome.message}
        </p>
      ) : null}
      {refusedForReauth ? (
        <div class="note note-error" role="alert">
          <p class="note-message">{(outcome.error as ApiError).message}</p>
          <p class="note-hint">A refresh cannot fix this: reconnect the account.</p>
        </div>
      ) : outcome && !outcome.ok ? (
        <ErrorNote error={outcome.error} />
      ) : null}
      <div class="actions">
        <Button kind="secondary" busy={busy} onClick={refresh} aria-label={`Refresh now: ${a.handle}`}>
          {busy ? 'Refreshing…' : 'Refresh now'}
        </Button>
        <ConfirmDelete label="Disconnect" confirm={`Yes, disconnect ${a.handle}`} ariaLabel={`Disconnect ${a.handle}`} onConfirm={remove} />
      </div>
    </li>
  );
}

interface Input {
  where: 'credentials' | 'settings';
  key: string;
  label: string;
  required: boolean;
  secret?: boolean;
  help?: string;
}

const ACCESS_TOKEN: Input = { where: 'credentials', key: 'accessToken', label: 'Access token', required: true, secret: true };
const REFRESH_TOKEN: Input = { where: 'credentials', key: 'refreshToken', label: 'Refresh token (optional)', required: false, secret: true, help: 'Lets Herald renew the access token by itself.' };
const WEBHOOK_URL: Input = { where: 'credentials', key: 'url', label: 'Incoming webhook URL', required: true, secret: true };

/** What each platform needs to post; the rest (rarer settings) is for `npx herald accounts add`. */
export const CONNECT_FIELDS: Record<Platform, Input[]> = {
  x: [ACCESS_TOKEN, REFRESH_TOKEN],
  linkedin: [ACCESS_TOKEN, REFRESH_TOKEN, { where: 'settings', key: 'authorUrn', label: 'Author URN', required: true, help: 'urn:li:person:… or urn:li:organization:…' }],
  facebook: [{ ...ACCESS_TOKEN, key: 'pageAccessToken', label: 'Page access token' }, { where: 'settings', key: 'pageId', label: 'Page id', required: true }],
  instagram: [ACCESS_TOKEN, { where: 'settings', key: 'igUserId', label: 'Instagram user id', required: true }],
  threads: [ACCESS_TOKEN, { where: 'settings', key: 'threadsUserId', label: 'Threads user id', required: true }],
  mastodon: [{ where: 'settings', key: 'instanceUrl', label: 'Instance URL', required: true, help: 'For example https://mastodon.social' }, ACCESS_TOKEN],
  bluesky: [{ where: 'credentials', key: 'appPassword', label: 'App password', required: true, secret: true, help: 'Made in Bluesky under Settings → App passwords; the handle above signs in.' }],
  slack: [WEBHOOK_URL],
  discord: [WEBHOOK_URL],
  webhook: [WEBHOOK_URL],
};

export interface Prefill {
  platform: Platform;
  handle: string;
}

function ConnectForm({ prefill, onConnected }: { prefill: Prefill | null; onConnected(a: Account): void }) {
  const api = useApi();
  const [platform, setPlatform] = useState<Platform>(prefill?.platform ?? 'x');
  const [handle, setHandle] = useState(prefill?.handle ?? '');
  const [values, setValues] = useState<Record<string, string>>({});
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fields = CONNECT_FIELDS[platform];
  const problems = fieldProblems(error);
  const problemsAt = (path: string) => problems.filter((p) => p.path === path || p.path.startsWith(`${path}.`));

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const pick = (where: Input['where']) => Object.fromEntries(fields.filter((f) => f.where === where && values[f.key]?.trim()).map((f) => [f.key, values[f.key].trim()]));
    const expiresAt = expires ? fromInputValue(expires, Intl.DateTimeFormat().resolvedOptions().timeZone)?.iso : undefined;
    try {
      const account = await ok(
        api.POST('/v1/accounts', { body: { platform, handle: handle.trim(), credentials: pick('credentials'), settings: pick('settings'), ...(expiresAt ? { expiresAt } : {}) } }),
      );
      setValues({});
      setHandle('');
      setExpires('');
      onConnected(account);
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };

  return (
    <form onSubmit={submit} aria-labelledby="connect-heading" data-testid="connect-form">
      <fieldset>
        <legend id="connect-heading">{prefill ? `Reconnect ${PLATFORM_NAMES[prefill.platform]} · ${prefill.handle}` : 'Connect an account'}</legend>
        <p class="field-help">
          Credentials are stored encrypted and never shown again. For other settings, or from a script, use{' '}
          <code>npx herald accounts add --platform x --handle @you --credential accessToken=…</code>.
        </p>
        <div class="row">
          <Field id="connect-platform" label="Platform" problems={problemsAt('platform')}>
            <select value={platform} onChange={(e) => setPlatform(e.currentTarget.value as Platform)}>
              {PLATFORMS.map((p) => (
                <option key={p} value={p}>
                  {PLATFORM_NAMES[p]}
                </option>
              ))}
            </select>
          </Field>
          <Field id="connect-handle" label="Handle" help="Its name on the platform, such as @herald or #news." problems={problemsAt('handle')}>
            <input value={handle} onInput={(e) => setHandle(e.currentTarget.value)} required autoComplete="off" />
          </Field>
        </div>
        {fields.map((f) => (
          <Field key={`${platform}-${f.key}`} id={`connect-${f.key}`} label={f.label} help={f.help} problems={problemsAt(`${f.where}.${f.key}`)}>
            {f.secret ? (
              <input type="password" value={values[f.key] ?? ''} onInput={(e) => setValues({ ...values, [f.key]: e.currentTarget.value })} required={f.required} autoComplete="off" />
            ) : (
              <input type="text" value={values[f.key] ?? ''} onInput={(e) => setValues({ ...values, [f.key]: e.currentTarget.value })} required={f.required} autoComplete="off" spellcheck={false} />
            )}
          </Field>
        ))}
        <Field id="connect-expires" label="Token expires (optional)" help="If the platform told you; in your time zone." problems={problemsAt('expiresAt')}>
          <input type="datetime-local" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </Field>
        <ErrorNote error={error} testId="connect-error" />
        <div class="actions">
          <Button type="submit" busy={busy}>
            {busy ? 'Connecting…' : 'Connect account'}
          </Button>
        </div>
      </fieldset>
    </form>
  );
}

export default function AccountsPage(_props: PageProps) {
  const api = useApi();
  const accounts = useLoad(() => ok(api.GET('/v1/accounts')), [api]);
  const [prefill, setPrefill] = useState<Prefill | null>(null);
  const [formKey, setFormKey] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);
  const formAt = useRef<HTMLDivElement>(null);
  const items = accounts.data?.items ?? [];
  const needReconnect = items.filter((a) => a.status === 'reauth_required');
  const reconnect = (a: Account) => {
    setPrefill({ platform: a.platform, handle: a.handle });
    setFormKey((k) => k + 1);
    setNotice(null);
    // After the form has been drawn again with the account's platform and handle.
    setTimeout(() => {
      formAt.current?.scrollIntoView({ block: 'start' });
      const form = formAt.current;
      (form?.querySelector<HTMLInputElement>('input[type="password"]') ?? form?.querySelector<HTMLInputElement>('input'))?.focus();
    }, 0);
  };
  return (
    <Page title="Accounts">
      <p>The accounts Herald posts with. Herald renews tokens before they expire where the platform allows it.</p>
      {needReconnect.length ? (
        <p class="note note-error" data-testid="accounts-reauth-summary">
          {needReconnect.length === 1 ? 'One account needs' : `${needReconnect.length} accounts need`} reconnecting:{' '}
          {needReconnect.map((a) => `${PLATFORM_NAMES[a.platform]} ${a.handle}`).join(', ')}.
        </p>
      ) : null}
      <p class={notice ? 'note note-ok' : 'visually-hidden'} role="status">
        {notice ?? ''}
      </p>
      <ErrorNote error={accounts.error} testId="accounts-error" />
      {accounts.loading && !accounts.data ? <p class="muted">Loading accounts…</p> : null}
      {accounts.data && !items.length ? <p class="note note-info">No accounts connected yet: connect one below. Dry runs need none.</p> : null}
      <ul class="cards" aria-label="Connected accounts">
        {items.map((a) => (
          <AccountCard key={a.id} account={a} onChanged={accounts.reload} onReconnect={reconnect} />
        ))}
      </ul>
      <div ref={formAt}>
        <ConnectForm
          key={formKey}
          prefill={prefill}
          onConnected={(a) => {
            setNotice(`Connected ${PLATFORM_NAMES[a.platform]} account ${a.handle} (${a.id}).`);
            setPrefill(null);
            setFormKey((k) => k + 1);
            accounts.reload();
          }}
        />
      </div>
    </Page>
  );
}
