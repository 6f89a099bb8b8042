// Token refreshers for the Meta platforms. Instagram and Threads long-lived tokens (about 60 days) are refreshed with
// themselves once at least 24 h old; a Facebook user token is exchanged with fb_exchange_token (page tokens made from
// a long-lived user token do not expire). A token Meta refuses (code 190) means a person must reconnect.
import type { Platform } from '../../domain/types';
import { AuthExpiredError, PermanentError, type ProviderError, ReauthRequiredError } from '../errors';
import { trimTrailingSlash } from '../http';
import { graphErrorOf, graphSend } from './meta-errors';
import { META_DEFAULT_GRAPH_BASE_URL, THREADS_DEFAULT_API_BASE_URL, bareMessage } from './meta';
import type { TokenRefresher } from './types';

export const INSTAGRAM_DEFAULT_REFRESH_BASE_URL = 'https://graph.instagram.com';
/** Instagram and Threads refuse to refresh a token younger than this. */
export const MIN_TOKEN_AGE_FOR_REFRESH_MS = 24 * 60 * 60_000;

/**
 * Credential fields: `accessToken` (the token), `issuedAt` (ISO time it was issued or last refreshed), `expiresAt`.
 * Facebook: `userAccessToken` when stored (it is what gets exchanged), else `accessToken`.
 */
export interface MetaRefresherSettings {
  timeoutMs?: number;
  now?: () => number;
}

export interface InstagramRefresherConfig extends MetaRefresherSettings {
  /** https://graph.instagram.com by default (Instagram-login tokens). */
  graphBaseUrl?: string;
}
export interface ThreadsRefresherConfig extends MetaRefresherSettings {
  /** https://graph.threads.net/v1.0 by default. */
  apiBaseUrl?: string;
}
export interface FacebookRefresherConfig extends MetaRefresherSettings {
  /** Graph API base including the version. */
  graphBaseUrl?: string;
  /** META_APP_ID */
  appId?: string;
  /** META_APP_SECRET */
  appSecret?: string;
}

type RefreshResult = Awaited<ReturnType<TokenRefresher['refresh']>>;

export function createInstagramTokenRefresher(config: InstagramRefresherConfig = {}): TokenRefresher {
  const base = trimTrailingSlash(config.graphBaseUrl ?? INSTAGRAM_DEFAULT_REFRESH_BASE_URL);
  return selfRefresher('instagram', base, 'ig_refresh_token', config);
}

export function createThreadsTokenRefresher(config: ThreadsRefresherConfig = {}): TokenRefresher {
  const base = trimTrailingSlash(config.apiBaseUrl ?? THREADS_DEFAULT_API_BASE_URL);
  return selfRefresher('threads', base, 'th_refresh_token', config);
}

export function createFacebookTokenRefresher(config: FacebookRefresherConfig = {}): TokenRefresher {
  const base = trimTrailingSlash(config.graphBaseUrl ?? META_DEFAULT_GRAPH_BASE_URL);
  const now = config.now ?? Date.now;
  return {
    platform: 'facebook',
    async refresh(credentials, ctx = {}) {
      if (!config.appId || !config.appSecret) {
        throw new PermanentError('facebook', 'META_APP_ID and META_APP_SECRET are needed to exchange Facebook tokens');
      }
      const field = str(credentials.userAccessToken) ? 'userAccessToken' : 'accessToken';
      const token = str(credentials[field]);
      if (!token) throw new ReauthRequiredError('facebook', 'no access token in the credentials; reconnect the account');
      const q = new URLSearchParams({ grant_type: 'fb_exchange_token', client_id: config.appId, client_secret: config.appSecret, fb_exchange_token: token });
      const json = await tokenCall('facebook', `${base}/oauth/access_token?${q}`, [token, config.appSecret], config, ctx.signal, true);
      return result('facebook', credentials, field, json, now());
    },
  };
}

function selfRefresher(platform: Platform, base: string, grantType: string, config: MetaRefresherSettings): TokenRefresher {
  const now = config.now ?? Date.now;
  return {
    platform,
    async refresh(credentials, ctx = {}) {
      const token = str(credentials.accessToken);
      if (!token) throw new ReauthRequiredError(platform, 'no access token in the credentials; reconnect the account');
      const issuedAt = Date.parse(str(credentials.issuedAt) ?? '');
      if (Number.isFinite(issuedAt) && now() - issuedAt < MIN_TOKEN_AGE_FOR_REFRESH_MS) {
        // Too young to refresh: keep it (it has about 60 days left anyway).
        const expiresAt = str(credentials.expiresAt) ?? null;
        return { credentials: { ...credentials }, expiresAt };
      }
      const q = new URLSearchParams({ grant_type: grantType, access_token: token });
      const json = await tokenCall(platform, `${base}/refresh_access_token?${q}`, [token], config, ctx.signal, false);
      return result(platform, credentials, 'accessToken', json, now());
    },
  };
}

async function tokenCall(
  platform: Platform,
  url: string,
  secrets: string[],
  config: MetaRefresherSettings,
  signal: AbortSignal | undefined,
  appCredentials: boolean,
): Promise<Record<string, unknown>> {
  try {
    // The token rides in the query string here (as Meta requires); no Authorization header.
    const { json } = await graphSend({ method: 'GET', url, headers: {}, body: null }, { provider: platform, secrets, timeoutMs: config.timeoutMs, signal, now: config.now });
    return json;
  } catch (e) {
    throw refine(platform, e, appCredentials);
  }
}

function refine(platform: Platform, e: unknown, appCredentials: boolean): unknown {
  const info = graphErrorOf(e);
  if (!info) return e;
  const err = e as ProviderError;
  // A refused token cannot be refreshed with itself: only a person can reconnect the account.
  if (info.code === 190 || e instanceof AuthExpiredError) return new ReauthRequiredError(platform, `the token cannot be refreshed: ${bareMessage(err, platform)}`, err.status);
  // "Error validating client secret" comes as code 1 (which otherwise means "try again"): it is configuration.
  if (appCredentials && (info.code === 101 || /client secret|application/i.test(info.message)) && info.type === 'OAuthException') {
    return new PermanentError(platform, `Meta refused the app id or secret: ${bareMessage(err, platform)}`, err.status);
  }
  return e;
}

function result(platform: Platform, credentials: Record<string, unknown>, field: string, json: Record<string, unknown>, now: number): RefreshResult {
  const token = str(json.access_token);
  if (!token) throw new PermanentError(platform, 'the token endpoint answered without an access_token');
  const expiresIn = typeof json.expires_in === 'number' ? json.expires_in : Number(json.expires_in);
  const expiresAt = Number.isFinite(expiresIn) && expiresIn > 0 ? new Date(now + expiresIn * 1000).toISOString() : null;
  const next: Record<string, unknown> = { ...credentials, [field]: token, issuedAt: new Date(now).toISOString() };
  if (expiresAt) next.expiresAt = expiresAt;
  else delete next.expiresAt;
  return { credentials: next, expiresAt };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}
