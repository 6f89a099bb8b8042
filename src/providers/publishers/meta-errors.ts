// What Meta's Graph APIs (Facebook Pages, Instagram, Threads) answer: Graph error bodies as typed provider errors by
// their `code`, and the usage headers as rate info; graphSend sends one request through ../http.ts with them. Tokens
// travel in the Authorization header (or, for the token endpoints, the query string) and are scrubbed from every
// message this file produces.
import {
  AuthExpiredError,
  DuplicateError,
  NotReadyError,
  PermanentError,
  type ProviderError,
  RateLimitedError,
  ReauthRequiredError,
  TransientError,
} from '../errors';
import { clip, hostOf, type HttpCall, isRecord, jsonObject, parseJson, httpRequest } from '../http';
import type { RateInfo, RateWindowInfo } from '../rate-info';
import { REDACTED } from './common';
import type { PreparedRequest } from './types';

export const DEFAULT_META_TIMEOUT_MS = 30_000;
/** Throttled without an `estimated_time_to_regain_access`. */
export const META_DEFAULT_RETRY_AFTER_MS = 60_000;
/** Code 368: the account is temporarily blocked from this action. */
export const META_BLOCK_RETRY_AFTER_MS = 60 * 60_000;

/** What a Graph error body said, kept beside the typed error so adapters can refine by code and subcode. */
export interface GraphErrorInfo {
  status: number;
  code?: number;
  subcode?: number;
  type?: string;
  message: string;
  isTransient: boolean;
}

const graphInfo = new WeakMap<object, GraphErrorInfo>();

/** The Graph error behind a provider error this file threw, or undefined. */
export function graphErrorOf(e: unknown): GraphErrorInfo | undefined {
  return typeof e === 'object' && e !== null ? graphInfo.get(e) : undefined;
}

export interface GraphCall {
  /** The platform name the errors carry ("facebook", "instagram", "threads"). */
  provider: string;
  /** The access token, sent as a Bearer header; also scrubbed from messages. */
  token?: string;
  /** Other secrets to scrub from messages (app secret, a token sent in the query string). */
  secrets?: string[];
  timeoutMs?: number;
  signal?: AbortSignal;
  report?(info: RateInfo): void;
  now?: () => number;
}

export interface GraphReply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

/**
 * Sends one request (a PreparedRequest from the same builders the preview uses, with its real URL) and returns the
 * 2xx JSON. Any other answer becomes a typed error (see classifyGraphError); no answer becomes a TransientError; the
 * caller's own abort is rethrown as its reason.
 */
export async function graphSend(req: PreparedRequest, call: GraphCall): Promise<GraphReply> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  for (const [k, v] of Object.entries(req.headers)) {
    headers[k] = k.toLowerCase() === 'authorization' ? (call.token ? `Bearer ${call.token}` : '') : v;
  }
  if (!headers.Authorization) delete headers.Authorization;
  const now = call.now ?? Date.now;
  const http: HttpCall = {
    provider: call.provider,
    what: hostOf(req.url, 'the Graph API'),
    timeoutMs: call.timeoutMs ?? DEFAULT_META_TIMEOUT_MS,
    signal: call.signal,
    report: call.report,
    rateInfo: (h) => parseMetaUsage(h, now()),
  };
  const body = req.body === null || req.body === undefined || req.method === 'GET' ? undefined : JSON.stringify(req.body);
  const answer = await httpRequest(req.url, { method: req.method, headers, body }, http);
  if (answer.ok) return { status: answer.status, headers: answer.headers, json: jsonObject(answer, http) };
  throw classifyGraphError(call.provider, answer.status, answer.json ?? answer.text, answer.headers, secretsOf(call));
}

/**
 * A Graph error answer as a typed error, by `code` first (HTTP status only when the body is not a Graph error):
 * 190 token (subcodes 458/460 -> ReauthRequired, else AuthExpired); 1, 2, is_transient -> Transient;
 * 4, 9, 17, 32, 613, 800xx -> RateLimited (estimated_time_to_regain_access, else 60 s); 368 -> RateLimited 1 h;
 * 10, 200-299 -> Permanent (permission); 506 -> Duplicate; Instagram subcodes 2207001/2207003 -> Transient,
 * 2207027 -> NotReady, 2207042 -> RateLimited (daily publishing limit).
 */
export function classifyGraphError(
  provider: string,
  status: number,
  body: unknown,
  headers: Headers,
  secrets: string[] = [],
): ProviderError {
  const err = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  const code = numberOf(err?.code);
  const subcode = numberOf(err?.error_subcode);
  // A body that is not a Graph error (a proxy's HTML page) says nothing useful.
  const rawMessage = typeof err?.message === 'string' ? err.message : typeof body === 'string' && !/^\s*</.test(body) ? body : '';
  const isTransient = err?.is_transient === true;
  const trace = typeof err?.fbtrace_id === 'string' ? err.fbtrace_id : undefined;
  const message = scrubSecrets(clip(rawMessage || `HTTP ${status}`), secrets);
  const tags = [code !== undefined ? `code ${code}` : `HTTP ${status}`, subcode !== undefined ? `subcode ${subcode}` : undefined, trace ? `fbtrace_id ${scrubSecrets(trace, secrets)}` : undefined]
    .filter((t): t is string => t !== undefined)
    .join(', ');
  const detail = `${message} (${tags})`;
  const e = ((): ProviderError => {
    if (code === undefined) {
      if (status === 429) return new RateLimitedError(provider, `rate limited: ${detail}`, retryAfterFromUsage(headers) ?? META_DEFAULT_RETRY_AFTER_MS, status);
      if (status === 401) return new AuthExpiredError(provider, `access token refused: ${detail}`, status);
      if (status === 408 || status >= 500) return new TransientError(provider, `server error: ${detail}`, status);
      return new PermanentError(provider, `request refused: ${detail}`, status);
    }
    if (subcode === 2207001 || subcode === 2207003) return new TransientError(provider, `temporary failure: ${detail}`, status);
    if (subcode === 2207027) return new NotReadyError(provider, `the media is not ready to publish yet: ${detail}`, 5_000);
    if (subcode === 2207042) return new RateLimitedError(provider, `daily publishing limit reached: ${detail}`, META_BLOCK_RETRY_AFTER_MS, status);
    if (subcode === 2207020) return new TransientError(provider, `the media container expired: ${detail}`, status);
    if (code === 190 || code === 102) {
      if (subcode === 458 || subcode === 460) return new ReauthRequiredError(provider, `the access token was revoked: ${detail}`, status);
      return new AuthExpiredError(provider, `the access token is invalid or expired: ${detail}`, status);
    }
    if (code === 4 || code === 9 || code === 17 || code === 32 || code === 613 || (code >= 80000 && code < 80100)) {
      return new RateLimitedError(provider, `throttled: ${detail}`, retryAfterFromUsage(headers) ?? META_DEFAULT_RETRY_AFTER_MS, status);
    }
    if (code === 368) return new RateLimitedError(provider, `temporarily blocked: ${detail}`, META_BLOCK_RETRY_AFTER_MS, status);
    if (code === 506) return new DuplicateError(provider, `duplicate post: ${detail}`, undefined, status);
    if (code === 1 || code === 2 || isTransient) return new TransientError(provider, `temporary failure: ${detail}`, status);
    if (code === 10 || (code >= 200 && code <= 299)) return new PermanentError(provider, `permission missing: ${detail}`, status);
    if (status >= 500) return new TransientError(provider, `server error: ${detail}`, status);
    return new PermanentError(provider, `request refused: ${detail}`, status);
  })();
  graphInfo.set(e, { status, code, subcode, type: typeof err?.type === 'string' ? err.type : undefined, message, isTransient });
  return e;
}

/**
 * X-App-Usage / X-Page-Usage (`{call_count, total_time, total_cputime}` percentages) and X-Business-Use-Case-Usage
 * (`{id: [{type, call_count, total_time, total_cputime, estimated_time_to_regain_access}]}`) as RateInfo: one window per
 * usage, limit 100 (percent), remaining 100 minus the highest percentage, resetAt when Meta estimates one.
 */
export function parseMetaUsage(headers: Headers, now: number = Date.now()): RateInfo | undefined {
  const windows: RateWindowInfo[] = [];
  const add = (usage: unknown): void => {
    if (!isRecord(usage)) return;
    const pct = ['call_count', 'total_time', 'total_cputime'].map((k) => numberOf(usage[k])).filter((n): n is number => n !== undefined);
    if (pct.length === 0) return;
    const w: RateWindowInfo = { kind: 'requests', limit: 100, remaining: Math.max(0, 100 - Math.max(...pct)) };
    const eta = numberOf(usage.estimated_time_to_regain_access);
    if (eta !== undefined && eta > 0) w.resetAt = now + eta * 60_000;
    windows.push(w);
  };
  add(parseJson(headers.get('x-app-usage') ?? ''));
  add(parseJson(headers.get('x-page-usage') ?? ''));
  const buc = parseJson(headers.get('x-business-use-case-usage') ?? '');
  if (isRecord(buc)) {
    for (const entries of Object.values(buc)) {
      if (Array.isArray(entries)) entries.forEach(add);
    }
  }
  return windows.length > 0 ? { windows } : undefined;
}

/** The longest `estimated_time_to_regain_access` (minutes) any usage header names, in ms; undefined when none does. */
export function retryAfterFromUsage(headers: Headers): number | undefined {
  let minutes: number | undefined;
  const consider = (usage: unknown): void => {
    if (!isRecord(usage)) return;
    const eta = numberOf(usage.estimated_time_to_regain_access);
    if (eta !== undefined && eta > 0) minutes = Math.max(minutes ?? 0, eta);
  };
  consider(parseJson(headers.get('x-app-usage') ?? ''));
  consider(parseJson(headers.get('x-page-usage') ?? ''));
  const buc = parseJson(headers.get('x-business-use-case-usage') ?? '');
  if (isRecord(buc)) {
    for (const entries of Object.values(buc)) if (Array.isArray(entries)) entries.forEach(consider);
  }
  return minutes === undefined ? undefined : minutes * 60_000;
}

/** Known secrets, `access_token=` values and anything shaped like a Meta token, replaced with "[redacted]". */
export function scrubSecrets(text: string, secrets: string[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 6) out = out.split(s).join(REDACTED);
  out = out.replace(/((?:access_token|fb_exchange_token|client_secret)=)[^&\s"]+/gi, `$1${REDACTED}`);
  out = out.replace(/\b(?:EAA|IGQ|IGAA|THQ|THAA)[A-Za-z0-9_-]{16,}/g, REDACTED);
  return out;
}

/** Graph timestamps ("2026-03-01T09:30:00+0000") as epoch ms, or undefined. */
export function parseGraphTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const fixed = v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const t = Date.parse(fixed);
  return Number.isFinite(t) ? t : undefined;
}

/** Text compared the way a platform may normalise it (line endings, surrounding space). */
export function sameText(a: unknown, b: string): boolean {
  return typeof a === 'string' && a.replace(/\r\n/g, '\n').trim() === b.replace(/\r\n/g, '\n').trim();
}

export function idOf(json: Record<string, unknown>): string | undefined {
  const id = json.id;
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return undefined;
}


function secretsOf(call: GraphCall): string[] {
  return [call.token ?? '', ...(call.secrets ?? [])].filter((s) => s !== '');
}

function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}
