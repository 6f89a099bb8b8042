import type { ComponentType } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { clientFor, forgetKey, saveKey, SessionContext, storedKey, type Session } from './api';
import { Page } from './components/page';
import AccountsPage from './pages/accounts';
import ComposePage from './pages/compose';
import PipelinePage from './pages/pipeline';
import PlanPage from './pages/plan';
import ProvidersPage from './pages/providers';
import SchedulesPage from './pages/schedules';
import WebhooksPage from './pages/webhooks';
import { href, useRoute, type PageProps } from './router';
import { SignIn } from './signin';

const NAV: { page: string; label: string }[] = [
  { page: 'compose', label: 'Compose' },
  { page: 'plan', label: 'Plan' },
  { page: 'schedules', label: 'Schedules' },
  { page: 'accounts', label: 'Accounts' },
  { page: 'providers', label: 'Providers' },
  { page: 'webhooks', label: 'Webhooks' },
];

const PAGES: Record<string, ComponentType<PageProps>> = {
  compose: ComposePage,
  pipelines: PipelinePage,
  plan: PlanPage,
  schedules: SchedulesPage,
  accounts: AccountsPage,
  providers: ProvidersPage,
  webhooks: WebhooksPage,
};

function NotFound() {
  return (
    <Page title="Page not found">
      <p>
        There is no such page. <a href={href('compose')}>Write a new post</a> or pick a page above.
      </p>
    </Page>
  );
}

function Layout({ signOut }: { signOut(): void }) {
  const route = useRoute();
  // A pipeline without an id is the list, which the plan page shows.
  const page = route.page === 'pipelines' && route.params.length === 0 ? 'plan' : route.page;
  const Current = PAGES[page] ?? NotFound;
  const current = page === 'pipelines' ? 'plan' : page;
  return (
    <div class="layout">
      {/* The hash is the route: the skip link moves focus itself instead of going to #main. */}
      <a
        class="skip-link"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href={href('compose')}>
          Herald
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.page}>
                <a href={href(n.page)} aria-current={current === n.page ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="button button-secondary sign-out" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Current key={`${page}/${route.params.join('/')}`} params={route.params} query={route.query} />
      </main>
    </div>
  );
}

export function App() {
  const [apiKey, setApiKey] = useState(storedKey);
  const session = useMemo<Session | null>(
    () =>
      apiKey
        ? {
            client: clientFor(apiKey),
            apiKey,
            signOut: () => {
              forgetKey();
              setApiKey(null);
            },
          }
        : null,
    [apiKey],
  );
  if (!session) {
    return (
      <SignIn
        onSignedIn={(key) => {
          saveKey(key);
          setApiKey(key);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Layout signOut={session.signOut} />
    </SessionContext.Provider>
  );
}
