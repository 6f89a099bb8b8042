// Review links: a reviewer without an API key approves or rejects one pipeline through a signed URL. The token is
// stateless (nothing is stored): it names the pipeline, its tenant, the content version the reviewer was shown and an
// expiry, under an HMAC whose key is derived from TOKEN_ENCRYPTION_KEY for this purpose only. It is signed, not
// encrypted: whoever holds it can read the pipeline id; it carries no API key and no secret.
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonical } from './pipeline-state';
import type { PipelineState } from './types';

/** The HKDF purpose label: a key for review links is useless for anything else derived from the same master key. */
const PURPOSE = 'herald/review-link/v1';
const FORMAT = 'v1';

export interface ReviewClaims {
  pipelineId: string;
  tenantId: string;
  /** contentVersion() of the state the link was made for. */
  contentVersion: string;
  /** Epoch milliseconds after which the link is refused. */
  expiresAt: number;
  /** Random per link: tells two links of the same pipeline apart in logs. */
  linkId: string;
}

export type ReviewTokenCheck =
  | { ok: true; claims: ReviewClaims }
  /** malformed: not a token at all; forged: well-formed but the signature does not match (tampered, other key). */
  | { ok: false; reason: 'malformed' | 'forged' }
  | { ok: false; reason: 'expired'; claims: ReviewClaims };

export function reviewLinkKey(encryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), PURPOSE, 32));
}

/**
 * A short fingerprint of what the reviewer sees and approves: title, body, hashtags, images and every variant's parts.
 * Any change to any of them gives another version, so a link made before the change no longer approves.
 */
export function contentVersion(state: Pick<PipelineState, 'content' | 'variants' | 'images'>): string {
  const seen = {
    title: state.content?.title ?? null,
    body: state.content?.body ?? null,
    hashtags: state.content?.hashtags ?? [],
    images: state.images.map((i) => i.id),
    variants: state.variants.map((v) => ({ platform: v.platform, parts: v.parts })),
  };
  return createHash('sha256').update(canonical(seen)).digest('base64url').slice(0, 22);
}

export function newLinkId(): string {
  return randomBytes(6).toString('base64url');
}

const sign = (key: Buffer, payload: string) => createHmac('sha256', key).update(`${FORMAT}.${payload}`).digest();

export function signReviewToken(key: Buffer, claims: ReviewClaims): string {
  const body = { p: claims.pipelineId, t: claims.tenantId, c: claims.contentVersion, e: claims.expiresAt, n: claims.linkId };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${payload}.${sign(key, payload).toString('base64url')}`;
}

const TOKEN = /^([A-Za-z0-9_-]{1,900})\.([A-Za-z0-9_-]{43})$/;

/** Checks the signature first, then reads the claims; an expired link still says whose it was (for a clear answer). */
export function verifyReviewToken(key: Buffer, token: string, nowMs: number): ReviewTokenCheck {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(m[2], 'base64url');
  const expected = sign(key, m[1]);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'forged' };
  const claims = readClaims(m[1]);
  if (!claims) return { ok: false, reason: 'malformed' };
  if (nowMs >= claims.expiresAt) return { ok: false, reason: 'expired', claims };
  return { ok: true, claims };
}

function readClaims(payload: string): ReviewClaims | null {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const b = body as Record<string, unknown>;
  const text = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 200;
  if (!b || typeof b !== 'object' || !text(b.p) || !text(b.t) || !text(b.c) || !text(b.n) || typeof b.e !== 'number' || !Number.isFinite(b.e)) {
    return null;
  }
  return { pipelineId: b.p as string, tenantId: b.t as string, contentVersion: b.c as string, expiresAt: b.e, linkId: b.n as string };
}
