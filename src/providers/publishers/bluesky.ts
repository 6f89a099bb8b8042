// Bluesky (AT Protocol): createSession with an app password, then com.atproto.repo.createRecord per part. Links and
// hashtags are not detected by the server: they need facets whose offsets are UTF-8 byte positions.
// Bluesky has no idempotency key. Each part is created under a record key derived from the publication's
// idempotency key (a valid TID), so a repeat can never make a second record; with ctx.reconcile the part is looked
// up (by that key, then among the account's latest posts by text) before it is posted again.
import { createHash } from 'node:crypto';
import { AuthExpiredError, PermanentError, RateLimitedError, ReauthRequiredError, TransientError, type ProviderError } from '../errors';
import { type HttpAnswer, httpRequest, isRecord, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import { epochSeconds, type RateInfo, untilMs, windowFrom } from '../rate-info';
import { bearer, BEARER_REDACTED, bytesOf, findLinks, JSON_HEADERS, jsonWire, optionalCredential, partLabel, placeholder, REDACTED, setting, str } from './common';
import { fetchImage } from './image-bytes';
import { type PartProgress, ProgressTracker } from './progress';
import { DEFAULT_RETRY_AFTER_MS, DEFAULT_SOCIAL_TIMEOUT_MS, secretsOf, withDetail } from './social-errors';
import type { PreparedRequest, Publisher, PublishContext, PublishInput, PublishResult } from './types';

export const BLUESKY_DEFAULT_SERVICE_URL = 'https://bsky.social';
export const BLUESKY_MAX_IMAGES = 4;
export const BLUESKY_POST_COLLECTION = 'app.bsky.feed.post';
/** How many of the account's latest posts are searched when reconciling. */
export const BLUESKY_RECENT_LOOKUP = 20;

export interface BlueskyPublisherConfig {
  serviceUrl?: string;
  /** Clock for `createdAt`; tests pass a fixed one. */
  now?: () => Date;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  /** Create each part under a record key derived from the idempotency key (default true). */
  deterministicRecordKeys?: boolean;
  /** Reconciling by text only matches posts created this recently; default 24 h. */
  reconcileWindowMs?: number;
}

export interface BlueskyFacet {
  index: { byteStart: number; byteEnd: number };
  features: ({ $type: 'app.bsky.richtext.facet#link'; uri: string } | { $type: 'app.bsky.richtext.facet#tag'; tag: string })[];
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Link and hashtag facets for a post text, with UTF-8 byte offsets as the AT Protocol requires. */
export function blueskyFacets(text: string): BlueskyFacet[] {
  const facets: BlueskyFacet[] = [];
  const taken: [number, number][] = [];
  for (const link of findLinks(text)) {
    taken.push([link.start, link.end]);
    facets.push({
      index: { byteStart: utf8Length(text.slice(0, link.start)), byteEnd: utf8Length(text.slice(0, link.end)) },
      features: [{ $type: 'app.bsky.richtext.facet#link', uri: link.url }],
    });
  }
  // A hashtag starts the text or follows whitespace; digits alone are not a tag.
  const tagRe = /(^|\s)([#＃])([^\s#＃]+)/gu;
  let m: RegExpExecArray | null;
  while ((m = tagRe.exec(text)) !== null) {
    const tag = m[3].replace(/[.,;:!?'")\]}>]+$/u, '');
    if (!tag || /^\d+$/.test(tag) || [...tag].length > 64) continue;
    const start = m.index + m[1].length;
    const end = start + m[2].length + tag.length;
    if (taken.some(([a, b]) => start < b && end > a)) continue;
    facets.push({
      index: { byteStart: utf8Length(text.slice(0, start)), byteEnd: utf8Length(text.slice(0, end)) },
      features: [{ $type: 'app.bsky.richtext.facet#tag', tag }],
    });
  }
  return facets.sort((a, b) => a.index.byteStart - b.index.byteStart);
}

// ---------------------------------------------------------------------------------------------
// Record keys

const S32 = '234567abcdefghijklmnopqrstuvwxyz';
/** Derived keys carry a timestamp within 2023 (record keys are opaque; this keeps them plausible and in the past). */
const TID_BASE_US = BigInt(Date.UTC(2023, 0, 1)) * 1000n;
const TID_RANGE_US = 365n * 24n * 3600n * 1_000_000n;

/** A valid TID derived from the publication's idempotency key and the part: the same on every attempt. */
export function blueskyRecordKey(idempotencyKey: string, index: number): string {
  const hash = createHash('sha256').update(`${idempotencyKey}:${index + 1}`).digest();
  const micros = TID_BASE_US + (hash.readBigUInt64BE(0) % TID_RANGE_US);
  const clockId = BigInt(hash.readUInt16BE(8) & 0x3ff);
  let n = (micros << 10n) | clockId; // 53 + 10 bits: the top bit stays 0
  let out = '';
  for (let k = 0; k < 13; k++) {
    out = S32[Number(n & 31n)] + out;
    n >>= 5n;
  }
  return out;
}

/** The record key of an at:// URI. */
export function rkeyOf(uri: string): string {
  return uri.split('/').pop() ?? uri;
}

// ---------------------------------------------------------------------------------------------
// Requests, shared by preview() and publish() so the two never drift

export interface StrongRef {
  uri: string;
  cid: string;
}

export function blueskyCreateSessionRequest(service: string, identifier: string, password: string): PreparedRequest {
  return {
    method: 'POST',
    url: `${service}/xrpc/com.atproto.server.createSession`,
    headers: { ...JSON_HEADERS },
    body: { identifier, password },
    note: 'log in with the app password; answers {accessJwt, refreshJwt, did}',
  };
}

export function blueskyUploadBlobRequest(service: string, contentType: string, auth: string, bytes: unknown, n: number, total: number): PreparedRequest {
  return {
    method: 'POST',
    url: `${service}/xrpc/com.atproto.repo.uploadBlob`,
    headers: { Authorization: auth, 'Content-Type': contentType },
    body: bytes,
    note: `upload image ${n} of ${total}; answers {blob}`,
  };
}

export function blueskyPostRecord(
  text: string,
  createdAt: string,
  opts: { images?: { alt: string; image: unknown }[]; reply?: { root: unknown; parent: unknown } } = {},
): Record<string, unknown> {
  const record: Record<string, unknown> = { $type: BLUESKY_POST_COLLECTION, text, createdAt };
  const facets = blueskyFacets(text);
  if (facets.length > 0) record.facets = facets;
  if (opts.images && opts.images.length > 0) record.embed = { $type: 'app.bsky.embed.images', images: opts.images };
  if (opts.reply) record.reply = opts.reply;
  return record;
}

export function blueskyCreateRecordRequest(
  service: string,
  repo: string,
  record: Record<string, unknown>,
  auth: string,
  opts: { index: number; total: number; rkey?: string },
): PreparedRequest {
  const { index: i, total } = opts;
  const body: Record<string, unknown> = { repo, collection: BLUESKY_POST_COLLECTION };
  if (opts.rkey) body.rkey = opts.rkey;
  body.record = record;
  return {
    method: 'POST',
    url: `${service}/xrpc/com.atproto.repo.createRecord`,
    headers: { Authorization: auth, ...JSON_HEADERS },
    body,
    note: `${partLabel(i, total)}${i > 0 ? `, replies to post ${i} in the thread of post 1` : ''}; answers {uri, cid}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Answers

/** ratelimit-limit / -remaining / -reset (epoch seconds). */
export function blueskyRateInfo(headers: Headers): RateInfo | undefined {
  const w = windowFrom(headers, { limit: 'ratelimit-limit', remaining: 'ratelimit-remaining', reset: 'ratelimit-reset' }, epochSeconds);
  return w ? { windows: [w] } : undefined;
}

function xrpcError(reply: HttpAnswer): string {
  return str(reply.json, 'error') ?? '';
}

/** A Bluesky error answer as a typed error. */
export function blueskyError(reply: HttpAnswer, what: string, secrets: readonly string[]): ProviderError {
  const { status } = reply;
  const code = xrpcError(reply);
  if (status === 429) {
    const reset = reply.headers.get('ratelimit-reset');
    const retryAfterMs = untilMs(reset ? epochSeconds(reset.trim()) : undefined) ?? retryAfterHeaderMs(reply.headers) ?? DEFAULT_RETRY_AFTER_MS;
    return new RateLimitedError('bluesky', withDetail(`${what}: rate limited (429)`, reply, secrets), retryAfterMs, status);
  }
  // An expired access token answers 400 ExpiredToken, not 401.
  if (status === 401 || code === 'ExpiredToken' || code === 'InvalidToken') {
    return new AuthExpiredError('bluesky', withDetail(`${what}: the session token was refused (${status}); refresh it and retry`, reply, secrets), status);
  }
  if (code === 'AccountTakedown' || code === 'AccountDeactivated') {
    return new ReauthRequiredError('bluesky', withDetail(`${what}: the account is not usable (${status})`, reply, secrets), status);
  }
  if (status === 408 || status >= 500) return new TransientError('bluesky', withDetail(`${what}: HTTP ${status}`, reply, secrets), status);
  return new PermanentError('bluesky', withDetail(`${what}: HTTP ${status}`, reply, secrets), status);
}

/** The `sub` (the account's DID) of a session JWT, without verifying it. */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const json: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return isRecord(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

export function createBlueskyPublisher(config: BlueskyPublisherConfig = {}): Publisher {
  const service = trimTrailingSlash(config.serviceUrl ?? BLUESKY_DEFAULT_SERVICE_URL);
  const now = config.now ?? (() => new Date());
  const timeoutMs = config.timeoutMs ?? DEFAULT_SOCIAL_TIMEOUT_MS;
  const deterministicKeys = config.deterministicRecordKeys ?? true;
  const reconcileWindowMs = config.reconcileWindowMs ?? 24 * 3600_000;

  return {
    platform: 'bluesky',
    preview(input: PublishInput): PreparedRequest[] {
      const identifier = setting(input, 'identifier', 'handle') ?? input.account?.handle ?? placeholder('account.handle');
      const repo = setting(input, 'did') ?? placeholder('session.did');
      const requests: PreparedRequest[] = [blueskyCreateSessionRequest(service, identifier, REDACTED)];
      const images = input.images.slice(0, BLUESKY_MAX_IMAGES);
      images.forEach((img, i) => {
        requests.push(blueskyUploadBlobRequest(service, img.contentType, BEARER_REDACTED, bytesOf(img.url), i + 1, images.length));
      });
      const createdAt = now().toISOString();
      const total = input.parts.length;
      input.parts.forEach((text, i) => {
        const record = blueskyPostRecord(text, createdAt, {
          images: i === 0 ? images.map((img, k) => ({ alt: img.alt, image: placeholder(`blob_${k + 1}`) })) : undefined,
          reply:
            i > 0
              ? {
                  root: { uri: placeholder('post_1.uri'), cid: placeholder('post_1.cid') },
                  parent: { uri: placeholder(`post_${i}.uri`), cid: placeholder(`post_${i}.cid`) },
                }
              : undefined,
        });
        const req = blueskyCreateRecordRequest(service, repo, record, BEARER_REDACTED, { index: i, total });
        // The preview leaves the record key out of the body (the server picks one when absent) and names it here.
        if (deterministicKeys) req.note = `${req.note}; sent with rkey ${blueskyRecordKey(input.idempotencyKey, i)}`;
        requests.push(req);
      });
      return requests;
    },

    async publish(input: PublishInput, ctx: PublishContext = {}): Promise<PublishResult> {
      const secrets = secretsOf(input.credentials);
      const total = input.parts.length;
      if (total === 0) throw new PermanentError('bluesky', 'nothing to publish: no parts');
      const progress = new ProgressTracker(ctx);
      const opts = (what: string) => ({ provider: 'bluesky' as const, what, timeoutMs, signal: ctx.signal, report: ctx.report, rateInfo: blueskyRateInfo });

      // The session: the stored access token, else a login with the app password.
      const session = await (async (): Promise<{ auth: string; did: string; handle?: string }> => {
        const accessJwt = optionalCredential(input.credentials, 'accessJwt', 'accessToken');
        if (accessJwt) {
          const did = optionalCredential(input.credentials, 'did') ?? setting(input, 'did') ?? str(jwtClaims(accessJwt), 'sub');
          if (!did) throw new PermanentError('bluesky', 'the account needs its "did" (credentials or settings) to publish');
          return { auth: bearer(accessJwt), did };
        }
        const identifier = optionalCredential(input.credentials, 'identifier', 'handle') ?? setting(input, 'identifier', 'handle') ?? input.account?.handle;
        const password = optionalCredential(input.credentials, 'appPassword', 'password');
        if (!identifier || !password) throw new PermanentError('bluesky', 'the account\'s credentials need "accessJwt", or "identifier" and "appPassword"');
        const what = 'logging in';
        const req = blueskyCreateSessionRequest(service, identifier, password);
        const reply = await httpRequest(req.url, jsonWire(req), opts(what));
        if (reply.status === 401) throw new ReauthRequiredError('bluesky', withDetail(`${what}: the identifier or app password was refused (401)`, reply, secrets), 401);
        if (reply.status !== 200) throw blueskyError(reply, what, secrets);
        const jwt = str(reply.json, 'accessJwt');
        const did = str(reply.json, 'did');
        if (!jwt || !did) throw new TransientError('bluesky', `${what}: answer without accessJwt and did`, reply.status);
        secrets.push(jwt);
        const refresh = str(reply.json, 'refreshJwt');
        if (refresh) secrets.push(refresh);
        return { auth: bearer(jwt), did, handle: str(reply.json, 'handle') };
      })();
      const handle = (setting(input, 'handle') ?? input.account?.handle ?? session.handle ?? session.did).replace(/^@/, '');
      const postUrl = (uri: string): string => `https://bsky.app/profile/${handle}/post/${rkeyOf(uri)}`;
      const query = (params: Record<string, string>) => new URLSearchParams({ repo: session.did, collection: BLUESKY_POST_COLLECTION, ...params }).toString();

      const getRecord = async (rkey: string): Promise<{ uri: string; cid: string; value: Record<string, unknown> } | undefined> => {
        const what = 'looking up a post';
        const reply = await httpRequest(`${service}/xrpc/com.atproto.repo.getRecord?${query({ rkey })}`, { method: 'GET', headers: { Authorization: session.auth } }, opts(what));
        if (reply.status === 400 && /RecordNotFound/i.test(xrpcError(reply) || reply.text)) return undefined;
        if (reply.status === 404) return undefined;
        if (reply.status !== 200) throw blueskyError(reply, what, secrets);
        const uri = str(reply.json, 'uri');
        const cid = str(reply.json, 'cid');
        const value = isRecord(reply.json) && isRecord(reply.json.value) ? reply.json.value : undefined;
        return uri && cid && value ? { uri, cid, value } : undefined;
      };

      /** Our earlier post of this part: by its record key, else the newest recent post with this text and parent. */
      const findExisting = async (text: string, rkey: string | undefined, parentUri: string | undefined): Promise<StrongRef | undefined> => {
        if (rkey) {
          const found = await getRecord(rkey);
          if (found && found.value.text === text) return { uri: found.uri, cid: found.cid };
        }
        const what = 'listing recent posts';
        const reply = await httpRequest(
          `${service}/xrpc/com.atproto.repo.listRecords?${query({ limit: String(BLUESKY_RECENT_LOOKUP) })}`,
          { method: 'GET', headers: { Authorization: session.auth } },
          opts(what),
        );
        if (reply.status !== 200) throw blueskyError(reply, what, secrets);
        const records = isRecord(reply.json) && Array.isArray(reply.json.records) ? reply.json.records : [];
        const since = now().getTime() - reconcileWindowMs;
        for (const r of records) {
          const value = isRecord(r) && isRecord(r.value) ? r.value : undefined;
          if (!value || value.text !== text) continue;
          const createdAt = typeof value.createdAt === 'string' ? Date.parse(value.createdAt) : NaN;
          if (!(createdAt >= since)) continue;
          const parent = isRecord(value.reply) && isRecord(value.reply.parent) ? value.reply.parent.uri : undefined;
          if (parent !== parentUri) continue;
          const uri = str(r, 'uri');
          const cid = str(r, 'cid');
          if (uri && cid) return { uri, cid };
        }
        return undefined;
      };

      /** The strong ref of an accepted part (from its progress, else looked up). */
      const refOf = async (part: PartProgress): Promise<StrongRef> => {
        if (part.extra?.uri && part.extra?.cid) return { uri: part.extra.uri, cid: part.extra.cid };
        const found = await getRecord(rkeyOf(part.id));
        if (!found) throw new PermanentError('bluesky', `post ${part.index + 1} of the thread is gone; cannot reply to it`);
        return { uri: found.uri, cid: found.cid };
      };

      // Images go only on the first post.
      const images = input.images.slice(0, BLUESKY_MAX_IMAGES);
      const embedded: { alt: string; image: unknown }[] = [];
      if (!progress.part(0)) {
        for (const [k, img] of images.entries()) {
          const n = k + 1;
          let blob = progress.mediaOf(img.id);
          if (!blob) {
            const { bytes, contentType } = await fetchImage('bluesky', img, { timeoutMs, signal: ctx.signal });
            const req = blueskyUploadBlobRequest(service, contentType, session.auth, bytes, n, images.length);
            const what = `uploading image ${n} of ${images.length}`;
            const reply = await httpRequest(req.url, { method: 'POST', headers: req.headers, body: bytes }, opts(what));
            if (reply.status !== 200) throw blueskyError(reply, what, secrets);
            const ref = isRecord(reply.json) && isRecord(reply.json.blob) ? reply.json.blob : undefined;
            if (!ref) throw new TransientError('bluesky', `${what}: answer without a blob`, reply.status);
            blob = JSON.stringify(ref);
            progress.addMedia(img.id, blob);
          }
          embedded.push({ alt: img.alt, image: JSON.parse(blob) as unknown });
        }
      }

      let root: StrongRef | undefined;
      let last: { index: number; ref: StrongRef } | undefined;
      for (let i = 0; i < total; i++) {
        if (progress.part(i)) continue;
        const text = input.parts[i];
        const what = partLabel(i, total);
        const rkey = deterministicKeys ? blueskyRecordKey(input.idempotencyKey, i) : undefined;
        let reply: { root: StrongRef; parent: StrongRef } | undefined;
        if (i > 0) {
          root ??= await refOf(progress.part(0) as PartProgress);
          const parent = last && last.index === i - 1 ? last.ref : await refOf(progress.part(i - 1) as PartProgress);
          reply = { root, parent };
        }

        let ref: StrongRef | undefined;
        if (ctx.reconcile) ref = await findExisting(text, rkey, reply?.parent.uri);
        if (!ref) {
          const record = blueskyPostRecord(text, now().toISOString(), { images: i === 0 ? embedded : undefined, reply });
          const req = blueskyCreateRecordRequest(service, session.did, record, session.auth, { index: i, total, rkey });
          const answer = await httpRequest(req.url, jsonWire(req), opts(what));
          if (answer.status === 200) {
            const uri = str(answer.json, 'uri');
            const cid = str(answer.json, 'cid');
            if (!uri || !cid) throw new TransientError('bluesky', `${what}: answer without uri and cid`, answer.status);
            ref = { uri, cid };
          } else if (rkey && (answer.status >= 500 || /exist/i.test(`${xrpcError(answer)} ${str(answer.json, 'message') ?? ''}`))) {
            // The key is taken (observed as a 500, newer servers say so): our earlier attempt got through.
            const found = await getRecord(rkey);
            if (found && found.value.text === text) ref = { uri: found.uri, cid: found.cid };
            else throw blueskyError(answer, what, secrets);
          } else {
            throw blueskyError(answer, what, secrets);
          }
        }
        progress.addPart({ index: i, id: ref.uri, url: postUrl(ref.uri), extra: { uri: ref.uri, cid: ref.cid } });
        if (i === 0) root = ref;
        last = { index: i, ref };
      }
      const first = progress.part(0) as PartProgress;
      return { externalId: first.id, url: first.url ?? postUrl(first.id) };
    },
  };
}
