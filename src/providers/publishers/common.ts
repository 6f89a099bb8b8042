// Helpers shared by the publisher adapters. Pure: no I/O here (../http.ts is the one place that sends).
import type { Platform } from '../../domain/types';
import { PermanentError } from '../errors';
import { isRecord } from '../http';
import type { PreparedRequest, PublishInput } from './types';

/** What every secret looks like in a preview. */
export const REDACTED = '[redacted]';

/** The bearer header as it appears in previews. */
export const BEARER_REDACTED = `Bearer ${REDACTED}`;

export const JSON_HEADERS = { 'Content-Type': 'application/json' } as const;

/** Parts joined into one text, for platforms that take a single post. */
export function joinParts(parts: string[]): string {
  return parts.map((p) => p.trim()).filter((p) => p.length > 0).join('\n\n');
}

/** A non-secret account setting as a string, or undefined. */
export function setting(input: PublishInput, ...names: string[]): string | undefined {
  const settings = input.account?.settings ?? {};
  for (const name of names) {
    const value = settings[name];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return undefined;
}

/** "{{name}}": a value only known once the account is connected or an earlier request has answered. */
export function placeholder(name: string): string {
  return `{{${name}}}`;
}

/** Stands in for the bytes of an image in a preview of a binary upload. */
export function bytesOf(url: string): string {
  return `{{bytes of ${url}}}`;
}

/** "post 2 of 3" or "post" when there is only one. */
export function partLabel(index: number, total: number, noun = 'post'): string {
  return total > 1 ? `${noun} ${index + 1} of ${total}` : noun;
}

/** Links in a text with their code-unit positions, trailing punctuation left out. */
export function findLinks(text: string): { url: string; start: number; end: number }[] {
  const links: { url: string; start: number; end: number }[] = [];
  const re = /https?:\/\/[^\s<>"]+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    let url = m[0];
    // Trailing punctuation is sentence punctuation, not part of the link; a ')' only when unbalanced.
    for (;;) {
      const last = url.slice(-1);
      if (/[.,;:!?'"\]}>]/.test(last)) url = url.slice(0, -1);
      else if (last === ')' && (url.match(/\(/g) ?? []).length < (url.match(/\)/g) ?? []).length) url = url.slice(0, -1);
      else break;
    }
    links.push({ url, start: m.index, end: m.index + url.length });
  }
  return links;
}

/** The wire form of a prepared request's JSON body. */
export function jsonWire(req: PreparedRequest): { method: string; headers: Record<string, string>; body: string } {
  return { method: req.method, headers: req.headers, body: JSON.stringify(req.body) };
}

/** A string field of an object, or undefined. */
export function str(o: unknown, key: string): string | undefined {
  if (!isRecord(o)) return undefined;
  const v = o[key];
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** A credential by any of its accepted names; PermanentError (naming the field, never a value) when missing. */
export function requireCredential(input: PublishInput, provider: Platform, ...names: string[]): string {
  const value = optionalCredential(input.credentials, ...names);
  if (!value) throw new PermanentError(provider, `the account's credentials need "${names[0]}" to publish`);
  return value;
}

export function optionalCredential(credentials: Record<string, unknown> | undefined, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = credentials?.[name];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return undefined;
}

export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export const FORM_HEADERS = { 'Content-Type': 'application/x-www-form-urlencoded' } as const;

/** Headers for a multipart body: fetch sets the Content-Type with its boundary itself. */
export function withoutContentType(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'content-type') out[k] = v;
  return out;
}

/** The Authorization header for a bearer token. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}
