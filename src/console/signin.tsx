import { useState } from 'preact/hooks';
import { ApiError, clientFor, ok } from './api';
import { ErrorNote } from './components/error-note';

/**
 * The key is tried once (GET /v1/accounts) before it is kept, so a typo is said here and not on the first page. It is
 * kept in sessionStorage only: closing the browser signs out.
 */
export function SignIn({ onSignedIn }: { onSignedIn(key: string): void }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError(new ApiError(400, 'validation_failed', 'the API key is empty', [], null));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await ok(clientFor(trimmed).GET('/v1/accounts'));
      onSignedIn(trimmed);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <form class="card signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Herald</h1>
        <p>
          Paste your API key. Running Herald with <code>npm start</code>? The key it printed at start-up (after “API key:”)
          works. The key stays in this browser tab and is forgotten when you close the browser.
        </p>
        <div class="field">
          <label for="api-key">API key</label>
          <input id="api-key" name="api-key" type="password" autoComplete="off" spellcheck={false} value={key} onInput={(e) => setKey(e.currentTarget.value)} required />
        </div>
        <ErrorNote error={error} testId="signin-error" />
        <button type="submit" class="button button-primary" disabled={busy} aria-busy={busy ? 'true' : undefined}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
