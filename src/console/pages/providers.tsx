// The providers Herald calls (AI text, images, platforms): whether each is being called at all (its circuit breaker and
// any block after a 429), how much of each rate-limit window is used, and how often the AI text cache answered.
import type { components } from '../../client';
import { PLATFORM_NAMES, PLATFORMS, type Platform } from '../../domain/types';
import { ok, useApi } from '../api';
import { Button } from '../components/button';
import { Countdown } from '../components/countdown';
import { ErrorNote } from '../components/error-note';
import { Page } from '../components/page';
import type { PageProps } from '../router';
import { formatLocal } from '../time';
import { useEvery, useLoad } from './load';
import './plan.css';

type Provider = components['schemas']['ProviderStatus'];

const OTHER_NAMES: Record<string, string> = { openai: 'OpenAI', anthropic: 'Anthropic', gemini: 'Gemini', stability: 'Stability', unsplash: 'Unsplash', pexels: 'Pexels', offline: 'Offline writer', card: 'Title card' };

/** "X" for a platform, "OpenAI" for a known provider, the name itself otherwise (an account's own key: "x:acc_1"). */
export function providerName(id: string): string {
  const [base, rest] = id.split(':', 2);
  const name = (PLATFORMS as readonly string[]).includes(base) ? PLATFORM_NAMES[base as Platform] : (OTHER_NAMES[base] ?? base);
  return rest ? `${name} (account ${rest})` : name;
}

/** The AI text providers: only their answers are cached. */
const TEXT_PROVIDERS = new Set(['openai', 'anthropic', 'gemini', 'offline']);

const troubled = (p: Provider) => p.breaker.state !== 'closed' || (p.blockedUntil !== null && Date.parse(p.blockedUntil) > Date.now());

function Breaker({ p }: { p: Provider }) {
  const b = p.breaker;
  const failures = `${b.failures} ${b.failures === 1 ? 'failure' : 'failures'} in a row`;
  if (b.state === 'open') {
    return (
      <p data-testid={`breaker-${p.provider}`} data-state="open">
        <span class="badge badge-error">Paused</span> It kept failing ({failures}), so Herald stopped calling it
        {b.openedAt ? ` at ${formatLocal(b.openedAt)}` : ''}.{' '}
        {b.retryAt ? (
          <>
            Herald tries again by itself <Countdown to={b.retryAt} /> ({formatLocal(b.retryAt)}).
          </>
        ) : null}
      </p>
    );
  }
  if (b.state === 'half_open') {
    return (
      <p data-testid={`breaker-${p.provider}`} data-state="half_open">
        <span class="badge badge-warn">Trying again</span> After repeated failures Herald is sending one test call; it goes back to normal if that works.
      </p>
    );
  }
  return (
    <p data-testid={`breaker-${p.provider}`} data-state="closed">
      <span class="badge badge-ok">Working</span> {b.failures ? `${failures} so far; Herald pauses it after too many.` : 'No recent failures.'}
    </p>
  );
}

/** One line per window: "1m (requests): 3 of 60 used, 57 left; resets 09:12". */
function Windows({ p }: { p: Provider }) {
  if (!p.windows.length) return <p class="muted">No rate limits known for it.</p>;
  const n = (v: number | null) => (v === null ? '?' : v.toLocaleString());
  return (
    <ul class="provider-windows">
      {p.windows.map((w, i) => (
        <li key={`${w.kind}-${w.window ?? w.source}-${i}`} data-testid={`window-${p.provider}-${i}`} class={w.remaining === 0 ? 'provider-empty' : undefined}>
          <strong>{w.window ? `per ${w.window}` : 'as the provider reports it'}</strong> ({w.kind === 'tokens' ? 'AI tokens' : 'requests'}): {n(w.used)} of {n(w.limit)}{' '}
          used, {n(w.remaining)} left{w.resetAt ? `; resets ${formatLocal(w.resetAt)}` : ''}
        </li>
      ))}
    </ul>
  );
}

function ProviderCard({ p }: { p: Provider }) {
  const calls = p.cache.hits + p.cache.misses;
  const blocked = p.blockedUntil !== null && Date.parse(p.blockedUntil) > Date.now();
  return (
    <li class={`card ${p.breaker.state === 'open' || blocked ? 'card-alert' : p.breaker.state === 'half_open' ? 'card-warn' : ''}`} data-testid={`provider-${p.provider}`}>
      <div class="card-head">
        <h2>{providerName(p.provider)}</h2>
        <code>{p.provider}</code>
      </div>
      <Breaker p={p} />
      {blocked && p.blockedUntil ? (
        <p class="note note-warn" data-testid={`blocked-${p.provider}`}>
          Calls are held until {formatLocal(p.blockedUntil)} (<Countdown to={p.blockedUntil} />){p.blockedReason ? `: ${p.blockedReason}` : ''}.
        </p>
      ) : null}
      <h3>Rate limits</h3>
      <Windows p={p} />
      {calls || TEXT_PROVIDERS.has(p.provider) ? (
        <>
          <h3>Cache</h3>
          <p data-testid={`cache-${p.provider}`}>
            {calls
              ? `${p.cache.hits.toLocaleString()} answered from the cache, ${p.cache.misses.toLocaleString()} asked anew (${Math.round((100 * p.cache.hits) / calls)}% from the cache).`
              : 'No cached answers counted yet.'}
          </p>
        </>
      ) : null}
    </li>
  );
}

export default function ProvidersPage(_props: PageProps) {
  const api = useApi();
  const list = useLoad(() => ok(api.GET('/v1/providers')), [api]);
  useEvery(10_000, list.reload);
  const items = [...(list.data?.items ?? [])].sort((a, b) => Number(troubled(b)) - Number(troubled(a)) || a.provider.localeCompare(b.provider));
  const trouble = items.filter(troubled);
  return (
    <Page
      title="Providers"
      actions={
        <Button kind="secondary" onClick={list.reload}>
          Read again
        </Button>
      }
    >
      <p>
        The services Herald calls to write, illustrate and publish. When one keeps failing Herald pauses it for a while and tries again by itself;
        posts for it wait rather than fail. This page reads again every 10 seconds.
      </p>
      {list.data ? (
        <p class="muted" data-testid="providers-shared">
          {list.data.shared
            ? 'These numbers are shared by every Herald process. Cache counts are this API process’s own.'
            : 'These numbers are this API process’s own view; workers keep their own (Herald runs without Redis).'}
        </p>
      ) : null}
      {trouble.length ? (
        <p class="note note-warn" role="status">
          {trouble.length === 1 ? 'One provider is' : `${trouble.length} providers are`} paused or held: {trouble.map((p) => providerName(p.provider)).join(', ')}.
        </p>
      ) : null}
      <ErrorNote error={list.error} testId="providers-error" />
      {list.data && !items.length ? <p class="note note-info">Herald has not called any provider yet.</p> : null}
      <ul class="cards provider-cards" aria-label="Providers">
        {items.map((p) => (
          <ProviderCard key={p.provider} p={p} />
        ))}
      </ul>
    </Page>
  );
}
