// What the social platforms' error answers say, told without a secret: a short description of an error body, scrubbed
// of every token and password. Each platform's own classifier (xError, linkedInError, mastodonError, blueskyError,
// the refreshers) decides what a status and a body mean; the HTTP itself is ../http.ts.
import { clip, type HttpAnswer, isRecord } from '../http';
import { REDACTED } from './common';

export const DEFAULT_SOCIAL_TIMEOUT_MS = 30_000;
/** Used when a 429 says nothing about when to come back. */
export const DEFAULT_RETRY_AFTER_MS = 60_000;

/** Every string value of the credentials (tokens, passwords), to scrub from any text that might echo one. */
export function secretsOf(credentials: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  for (const v of Object.values(credentials ?? {})) if (typeof v === 'string' && v.length >= 6) out.push(v);
  return out;
}

/** Removes secrets and anything shaped like a bearer token or a JWT. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join(REDACTED);
  out = out.replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, `Bearer ${REDACTED}`);
  out = out.replace(/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, REDACTED);
  return out;
}

/** A short, scrubbed description of an error body (at most 200 characters). */
export function describe(reply: HttpAnswer, secrets: readonly string[]): string {
  let detail = '';
  const j = reply.json;
  if (isRecord(j)) {
    const parts: string[] = [];
    const take = (v: unknown) => {
      if (typeof v === 'string' && v.trim() && !parts.includes(v.trim())) parts.push(v.trim());
    };
    take(j.error);
    take(j.detail);
    take(j.message);
    take(j.error_description);
    if (parts.length === 0) take(j.title);
    if (Array.isArray(j.errors)) for (const e of j.errors.slice(0, 2)) take(isRecord(e) ? (e.message ?? e.detail) : e);
    if (isRecord(j.error)) take(j.error.message);
    detail = parts.join('; ');
  } else if (!/^\s*</.test(reply.text)) {
    detail = reply.text.trim();
  }
  return clip(scrub(detail.replace(/\s+/g, ' '), secrets), 200);
}

export function withDetail(message: string, reply: HttpAnswer, secrets: readonly string[]): string {
  const detail = describe(reply, secrets);
  return detail ? `${message}: ${detail}` : message;
}
