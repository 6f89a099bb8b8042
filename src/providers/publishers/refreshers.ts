// Token refreshers for X, LinkedIn and Bluesky. Each answers the complete new credentials (the old ones with the new
// tokens written over them) so the caller can store them in one write before anything uses them: X and Bluesky
// refresh tokens ROTATE and are single-use. Mastodon tokens do not expire: it has no refresher.
import { PermanentError, RateLimitedError, ReauthRequiredError, TransientError, type ProviderError } from '../errors';
import { type HttpAnswer, httpRequest, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import { epochSeconds, untilMs } from '../rate-info';
import { BLUESKY_DEFAULT_SERVICE_URL, blueskyCreateSessionRequest, blueskyRateInfo, jwtClaims } from './bluesky';
import { bearer, FORM_HEADERS, formBody, jsonWire, optionalCredential, str } from './common';
import { DEFAULT_RETRY_AFTER_MS, DEFAULT_SOCIAL_TIMEOUT_MS, secretsOf, withDetail } from './social-errors';
import type { TokenRefresher } from './types';
import { X_DEFAULT_API_BASE_URL, xRateInfo, xRetryAfterMs } from './x';

type Refreshed = Awaited<ReturnType<TokenRefresher['refresh']>>;

export const LINKEDIN_DEFAULT_OAUTH_BASE_URL = 'https://www.linkedin.com';

function expiresAtFrom(expiresIn: unknown, now: Date): string | null {
  const seconds = typeof expiresIn === 'number' ? expiresIn : typeof expiresIn === 'string' ? Number(expiresIn) : NaN;
  return Number.isFinite(seconds) && seconds > 0 ? new Date(now.getTime() + seconds * 1000).toISOString() : null;
}

function oauthError(reply: HttpAnswer): string {
  return str(reply.json, 'error') ?? '';
}

function genericError(provider: 'x' | 'linkedin' | 'bluesky', reply: HttpAnswer, what: string, secrets: readonly string[], retryAfterMs: number): ProviderError {
  if (reply.status === 429) return new RateLimitedError(provider, withDetail(`${what}: rate limited (429)`, reply, secrets), retryAfterMs, 429);
  if (reply.status === 408 || reply.status >= 500) return new TransientError(provider, withDetail(`${what}: HTTP ${reply.status}`, reply, secrets), reply.status);
  return new PermanentError(provider, withDetail(`${what}: HTTP ${reply.status}`, reply, secrets), reply.status);
}

// ---------------------------------------------------------------------------------------------
// X

export interface XTokenRefresherConfig {
  apiBaseUrl?: string;
  clientId: string;
  /** Confidential clients authenticate with Basic auth; public clients send only client_id. */
  clientSecret?: string;
  timeoutMs?: number;
  now?: () => Date;
}

/**
 * POST {base}/2/oauth2/token grant_type=refresh_token. The answer holds a NEW refresh token and the old one is dead:
 * store the result before using it. A reused or revoked refresh token answers 400 invalid_request.
 */
export function createXTokenRefresher(config: XTokenRefresherConfig): TokenRefresher {
  const base = trimTrailingSlash(config.apiBaseUrl ?? X_DEFAULT_API_BASE_URL);
  const timeoutMs = config.timeoutMs ?? DEFAULT_SOCIAL_TIMEOUT_MS;
  const now = config.now ?? (() => new Date());
  return {
    platform: 'x',
    async refresh(credentials, ctx = {}): Promise<Refreshed> {
      const refreshToken = optionalCredential(credentials, 'refreshToken', 'refresh_token');
      if (!refreshToken) throw new ReauthRequiredError('x', 'no refresh token stored; reconnect the account');
      const secrets = [...secretsOf(credentials), config.clientSecret ?? ''].filter((s) => s.length >= 6);
      const headers: Record<string, string> = { ...FORM_HEADERS };
      if (config.clientSecret) headers.Authorization = `Basic ${Buffer.from(`${config.clientId}:${config.clientSecret}`).toString('base64')}`;
      const what = 'refreshing the token';
      const reply = await httpRequest(
        `${base}/2/oauth2/token`,
        { method: 'POST', headers, body: formBody({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: config.clientId }) },
        { provider: 'x', what, timeoutMs, signal: ctx.signal, rateInfo: xRateInfo },
      );
      if (reply.status === 200) {
        const accessToken = str(reply.json, 'access_token');
        const newRefresh = str(reply.json, 'refresh_token');
        if (!accessToken) throw new TransientError('x', `${what}: answer without access_token`, 200);
        const expiresAt = expiresAtFrom((reply.json as Record<string, unknown>).expires_in, now());
        const out: Record<string, unknown> = { ...credentials, accessToken, refreshToken: newRefresh ?? refreshToken };
        if (expiresAt) out.expiresAt = expiresAt;
        return { credentials: out, expiresAt };
      }
      const code = oauthError(reply);
      if (reply.status === 400 && (code === 'invalid_request' || code === 'invalid_grant')) {
        throw new ReauthRequiredError('x', 'refresh token already used or revoked; reconnect the account', 400);
      }
      if (reply.status === 401 || code === 'invalid_client' || code === 'unauthorized_client') {
        // Our app's client id or secret, not the account: reconnecting would not help.
        throw new PermanentError('x', withDetail(`${what}: the client credentials were refused (${reply.status}); check X_CLIENT_ID / X_CLIENT_SECRET`, reply, secrets), reply.status);
      }
      throw genericError('x', reply, what, secrets, xRetryAfterMs(reply.headers));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// LinkedIn

export interface LinkedInTokenRefresherConfig {
  oauthBaseUrl?: string;
  clientId: string;
  clientSecret: string;
  timeoutMs?: number;
  now?: () => Date;
}

/**
 * POST {oauth-base}/oauth/v2/accessToken grant_type=refresh_token (approved apps only). LinkedIn refresh tokens have
 * a fixed 365-day life; a dead one answers 400 invalid_grant.
 */
export function createLinkedInTokenRefresher(config: LinkedInTokenRefresherConfig): TokenRefresher {
  const base = trimTrailingSlash(config.oauthBaseUrl ?? LINKEDIN_DEFAULT_OAUTH_BASE_URL);
  const timeoutMs = config.timeoutMs ?? DEFAULT_SOCIAL_TIMEOUT_MS;
  const now = config.now ?? (() => new Date());
  return {
    platform: 'linkedin',
    async refresh(credentials, ctx = {}): Promise<Refreshed> {
      const refreshToken = optionalCredential(credentials, 'refreshToken', 'refresh_token');
      if (!refreshToken) throw new ReauthRequiredError('linkedin', 'no refresh token stored (LinkedIn issues them to approved apps only); reconnect the account');
      const secrets = [...secretsOf(credentials), config.clientSecret].filter((s) => s.length >= 6);
      const what = 'refreshing the token';
      const reply = await httpRequest(
        `${base}/oauth/v2/accessToken`,
        {
          method: 'POST',
          headers: { ...FORM_HEADERS },
          body: formBody({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: config.clientId, client_secret: config.clientSecret }),
        },
        { provider: 'linkedin', what, timeoutMs, signal: ctx.signal },
      );
      if (reply.status === 200) {
        const json = reply.json as Record<string, unknown>;
        const accessToken = str(json, 'access_token');
        if (!accessToken) throw new TransientError('linkedin', `${what}: answer without access_token`, 200);
        const at = now();
        const expiresAt = expiresAtFrom(json.expires_in, at);
        const out: Record<string, unknown> = { ...credentials, accessToken, refreshToken: str(json, 'refresh_token') ?? refreshToken };
        if (expiresAt) out.expiresAt = expiresAt;
        const refreshExpiresAt = expiresAtFrom(json.refresh_token_expires_in, at);
        if (refreshExpiresAt) out.refreshTokenExpiresAt = refreshExpiresAt;
        return { credentials: out, expiresAt };
      }
      const code = oauthError(reply);
      if (code === 'invalid_grant') throw new ReauthRequiredError('linkedin', 'refresh token expired or revoked (invalid_grant); reconnect the account', reply.status);
      if (reply.status === 401 || code === 'invalid_client' || code === 'unauthorized_client') {
        throw new PermanentError('linkedin', withDetail(`${what}: the client credentials were refused (${reply.status}); check LINKEDIN_CLIENT_ID / LINKEDIN_CLIENT_SECRET`, reply, secrets), reply.status);
      }
      throw genericError('linkedin', reply, what, secrets, retryAfterHeaderMs(reply.headers) ?? DEFAULT_RETRY_AFTER_MS);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Bluesky

export interface BlueskyTokenRefresherConfig {
  serviceUrl?: string;
  timeoutMs?: number;
}

/**
 * refreshSession with `Authorization: Bearer <refreshJwt>` (the pair rotates). When the refresh token is expired or
 * revoked, logs in again with the app password (createSession). Credentials read: refreshJwt, identifier (or handle),
 * appPassword (or password). Written: accessJwt, refreshJwt, did, handle.
 */
export function createBlueskyTokenRefresher(config: BlueskyTokenRefresherConfig = {}): TokenRefresher {
  const service = trimTrailingSlash(config.serviceUrl ?? BLUESKY_DEFAULT_SERVICE_URL);
  const timeoutMs = config.timeoutMs ?? DEFAULT_SOCIAL_TIMEOUT_MS;
  const retryAfter = (reply: HttpAnswer): number => {
    const reset = reply.headers.get('ratelimit-reset');
    return untilMs(reset ? epochSeconds(reset.trim()) : undefined) ?? retryAfterHeaderMs(reply.headers) ?? DEFAULT_RETRY_AFTER_MS;
  };
  const result = (credentials: Record<string, unknown>, reply: HttpAnswer, what: string): Refreshed => {
    const accessJwt = str(reply.json, 'accessJwt');
    const refreshJwt = str(reply.json, 'refreshJwt');
    if (!accessJwt || !refreshJwt) throw new TransientError('bluesky', `${what}: answer without accessJwt and refreshJwt`, reply.status);
    const out: Record<string, unknown> = { ...credentials, accessJwt, refreshJwt };
    const did = str(reply.json, 'did');
    const handle = str(reply.json, 'handle');
    if (did) out.did = did;
    if (handle) out.handle = handle;
    const exp = jwtClaims(accessJwt)?.exp;
    const expiresAt = typeof exp === 'number' && Number.isFinite(exp) ? new Date(exp * 1000).toISOString() : null;
    if (expiresAt) out.expiresAt = expiresAt;
    return { credentials: out, expiresAt };
  };

  return {
    platform: 'bluesky',
    async refresh(credentials, ctx = {}): Promise<Refreshed> {
      const secrets = secretsOf(credentials);
      const opts = (what: string) => ({ provider: 'bluesky' as const, what, timeoutMs, signal: ctx.signal, rateInfo: blueskyRateInfo });
      const refreshJwt = optionalCredential(credentials, 'refreshJwt', 'refreshToken');
      if (refreshJwt) {
        const what = 'refreshing the session';
        const reply = await httpRequest(`${service}/xrpc/com.atproto.server.refreshSession`, { method: 'POST', headers: { Authorization: bearer(refreshJwt) } }, opts(what));
        if (reply.status === 200) return result(credentials, reply, what);
        const code = str(reply.json, 'error') ?? '';
        const dead = reply.status === 401 || code === 'ExpiredToken' || code === 'InvalidToken' || code === 'AuthenticationRequired';
        if (!dead) {
          if (code === 'AccountTakedown' || code === 'AccountDeactivated') {
            throw new ReauthRequiredError('bluesky', withDetail(`${what}: the account is not usable`, reply, secrets), reply.status);
          }
          throw genericError('bluesky', reply, what, secrets, retryAfter(reply));
        }
        // The refresh token is expired or was used: log in again with the app password, below.
      }
      const identifier = optionalCredential(credentials, 'identifier', 'handle');
      const password = optionalCredential(credentials, 'appPassword', 'password');
      if (!identifier || !password) {
        throw new ReauthRequiredError('bluesky', 'the session cannot be refreshed and no app password is stored; reconnect the account');
      }
      const what = 'logging in again';
      const req = blueskyCreateSessionRequest(service, identifier, password);
      const reply = await httpRequest(req.url, jsonWire(req), opts(what));
      if (reply.status === 200) return result(credentials, reply, what);
      if (reply.status === 401) throw new ReauthRequiredError('bluesky', withDetail(`${what}: the identifier or app password was refused (401)`, reply, secrets), 401);
      throw genericError('bluesky', reply, what, secrets, retryAfter(reply));
    },
  };
}

/** Mastodon tokens do not expire: nothing to refresh. */
export const mastodonTokenRefresher: TokenRefresher | null = null;
