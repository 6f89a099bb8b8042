// The console's only way to Herald: the typed public client (src/client) with the key the user signed in with. The key
// lives in sessionStorage, so it dies with the browser session and never appears in a URL or in localStorage.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { createHeraldClient, type HeraldClient } from '../client';

const KEY_NAME = 'herald.apiKey';

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_NAME);
  } catch {
    return null; // storage blocked by the browser: the user signs in on every load
  }
}

export function saveKey(key: string): void {
  try {
    sessionStorage.setItem(KEY_NAME, key);
  } catch {
    // blocked storage: the key still works for this page's life
  }
}

export function forgetKey(): void {
  try {
    sessionStorage.removeItem(KEY_NAME);
  } catch {
    // nothing stored
  }
}

export const clientFor = (apiKey: string): HeraldClient => createHeraldClient({ baseUrl: location.origin, apiKey });

export interface Session {
  client: HeraldClient;
  /** The key in use, for the few things a page passes on itself (an EventSource cannot send headers). */
  apiKey: string;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}

/** The typed client, signed in. */
export const useApi = (): HeraldClient => useSession().client;

/** An answer of the API that was not a success, as the API sent it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown[],
    readonly retryAfterSeconds: number | null,
  ) {
    super(message);
  }
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a client call, or an ApiError: `const p = await ok(api.GET('/v1/pipelines/{id}', ...))`. */
export async function ok<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const body = (error ?? {}) as { error?: { code?: string; message?: string; details?: unknown[] } };
  const retry = Number(response.headers.get('retry-after'));
  throw new ApiError(
    response.status,
    body.error?.code ?? `http_${response.status}`,
    body.error?.message ?? response.statusText,
    Array.isArray(body.error?.details) ? body.error.details : [],
    Number.isFinite(retry) && retry > 0 ? retry : null,
  );
}

/** A field the API found at fault: `path` is dotted (targets.0.accountId, publishAt). */
export interface FieldProblem {
  path: string;
  message: string;
  hint?: string;
}

/** The field problems in an error's details (400 validation, 422), for showing next to their fields. */
export function fieldProblems(err: unknown): FieldProblem[] {
  if (!(err instanceof ApiError)) return [];
  return err.details.flatMap((d) => {
    const o = d as { path?: unknown; message?: unknown; hint?: unknown };
    return typeof o?.path === 'string' && typeof o.message === 'string'
      ? [{ path: o.path, message: o.message, ...(typeof o.hint === 'string' ? { hint: o.hint } : {}) }]
      : [];
  });
}

const firstHint = (details: unknown[]) =>
  details.map((d) => (d as { hint?: unknown })?.hint).find((h): h is string => typeof h === 'string' && h !== '');

/** An error in words for people who write posts: what happened, and what to do about it. */
export function describeError(err: unknown): { message: string; hint: string } {
  if (err instanceof ApiError) {
    const hint = firstHint(err.details);
    const later = err.retryAfterSeconds ? `Try again in ${err.retryAfterSeconds} seconds.` : 'Try again in a minute.';
    switch (err.code) {
      case 'unauthorized':
        return { message: 'Herald did not accept your API key.', hint: 'Sign out and sign in again with a valid key.' };
      case 'validation_failed':
        return { message: `Something in the form needs fixing: ${err.message}`, hint: hint ?? 'Check the fields marked below, then send again.' };
      case 'not_found':
        return { message: 'Herald could not find this. It may have been deleted, or belong to another team.', hint: hint ?? 'Go back to the list and pick it again.' };
      case 'conflict':
        return { message: err.message, hint: hint ?? 'Someone or something changed it meanwhile: reload the page to see where it stands.' };
      case 'unprocessable':
        return { message: err.message, hint: hint ?? 'Change what the message names, then send again.' };
      case 'rate_limited':
      case 'backlog_full':
        return { message: 'Herald has too much to do right now and did not take this.', hint: hint ?? later };
      case 'unavailable':
        return { message: 'A part of Herald is away for a moment, so nothing was done.', hint: hint ?? later };
      case 'payload_too_large':
        return { message: 'This is too large to send.', hint: 'Shorten the text or send fewer images.' };
      default:
        return { message: err.status >= 500 ? 'Herald ran into a problem of its own.' : err.message, hint: hint ?? `${later} If it keeps happening, tell whoever runs Herald.` };
    }
  }
  if (err instanceof TypeError) {
    return { message: 'Herald cannot be reached.', hint: 'Check your connection and that Herald is running, then try again.' };
  }
  return { message: err instanceof Error ? err.message : String(err), hint: 'Try again; if it keeps happening, tell whoever runs Herald.' };
}
