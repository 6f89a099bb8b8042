// An imitation of a Bluesky PDS for one account: createSession (app password), refreshSession (the refresh JWT
// rotates and is single-use), uploadBlob, createRecord / getRecord / listRecords for app.bsky.feed.post. An expired
// access token answers 400 ExpiredToken (not 401). Like the real PDS there is no idempotency and no duplicate
// detection; creating a record under a key that is taken answers 500 InternalServerError, as observed.
// Rate headers: ratelimit-limit / -remaining / -reset (epoch seconds) / -policy.
import { createHash, randomBytes } from 'node:crypto';
import {
  DROP,
  TokenBook,
  bearerOf,
  headerOf,
  isObject,
  startSocialFake,
  type FakeReply,
  type HandlerAnswer,
  type HandlerTools,
  type SocialFakeBase,
  type SocialRequest,
} from './social-fake-control';

const COLLECTION = 'app.bsky.feed.post';
const S32 = '234567abcdefghijklmnopqrstuvwxyz';

export interface BlueskyRecord {
  uri: string;
  cid: string;
  value: Record<string, unknown>;
}

export interface BlueskyFake extends SocialFakeBase {
  account: { did: string; handle: string; appPassword: string };
  /** Records by rkey. */
  records: Map<string, BlueskyRecord>;
  blobs: Map<string, { mimeType: string; size: number }>;
  /** A fresh session for the account, as createSession would give. */
  issueTokens(): { accessJwt: string; refreshJwt: string };
  /** Every refresh JWT issued so far has expired (refreshSession answers 400 ExpiredToken). */
  expireRefreshTokens(): void;
}

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

function tidNow(): string {
  let n = (BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000))) << 10n;
  n |= BigInt(Math.floor(Math.random() * 1024));
  let out = '';
  for (let k = 0; k < 13; k++) {
    out = S32[Number(n & 31n)] + out;
    n >>= 5n;
  }
  return out;
}

function cidOf(prefix: string, data: Buffer | string): string {
  const hex = createHash('sha256').update(data).digest();
  let out = prefix;
  for (const byte of hex.subarray(0, 26)) out += S32[byte & 31];
  return out;
}

function graphemes(s: string): number {
  return [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)].length;
}

function invalid(message: string, error = 'InvalidRequest'): FakeReply {
  return { status: 400, body: { error, message } };
}

export async function startBlueskyFake(): Promise<BlueskyFake> {
  const account = { did: 'did:plc:heraldfake7k2q4x5m3n6p', handle: 'herald.test', appPassword: 'abcd-efgh-ijkl-mnop' };
  let passwordRevoked = false;
  const tokens = new TokenBook({
    rotate: true,
    make: (kind, sub) => {
      const iat = Math.floor(Date.now() / 1000);
      const exp = iat + (kind === 'access' ? 2 * 3600 : 90 * 24 * 3600);
      const scope = kind === 'access' ? 'com.atproto.access' : 'com.atproto.refresh';
      return `${b64url({ typ: kind === 'access' ? 'at+jwt' : 'refresh+jwt', alg: 'HS256' })}.${b64url({ scope, sub, iat, exp, jti: randomBytes(8).toString('hex') })}.${randomBytes(24).toString('base64url')}`;
    },
  });
  const records = new Map<string, BlueskyRecord>();
  const blobs = new Map<string, { mimeType: string; size: number }>();

  const rateHeaders = (now: number, window?: { limit: number; remaining: number; resetAt: number }): Record<string, string> => ({
    'ratelimit-limit': String(window?.limit ?? 5000),
    'ratelimit-remaining': String(window?.remaining ?? 4997),
    'ratelimit-reset': String(Math.ceil((window?.resetAt ?? now + 3600_000) / 1000)),
    'ratelimit-policy': `${window?.limit ?? 5000};w=3600`,
  });
  const tooMany = (retryAfterSeconds: number, now: number): FakeReply => ({
    status: 429,
    headers: {
      'ratelimit-limit': '5000',
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(Math.ceil((now + retryAfterSeconds * 1000) / 1000)),
      'ratelimit-policy': '5000;w=3600',
    },
    body: { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' },
  });
  const session = (pair: { accessToken: string; refreshToken: string }) => ({
    did: account.did,
    handle: account.handle,
    accessJwt: pair.accessToken,
    refreshJwt: pair.refreshToken,
    active: true,
  });
  const strongRef = (v: unknown): { uri: string; cid: string } | undefined =>
    isObject(v) && typeof v.uri === 'string' && typeof v.cid === 'string' ? { uri: v.uri, cid: v.cid } : undefined;

  const handle = (req: SocialRequest, tools: HandlerTools): HandlerAnswer => {
    const now = Date.now();
    if (req.method === 'POST' && req.path === '/xrpc/com.atproto.server.createSession') {
      const b = isObject(req.body) ? req.body : {};
      const who = b.identifier === account.handle || b.identifier === account.did;
      if (!who || b.password !== account.appPassword || passwordRevoked) return { status: 401, body: { error: 'AuthenticationRequired', message: 'Invalid identifier or password' } };
      return { status: 200, body: session(tokens.issue(account.did)) };
    }
    if (req.method === 'POST' && req.path === '/xrpc/com.atproto.server.refreshSession') {
      const r = tokens.refresh(bearerOf(req));
      if (!r.ok) {
        if (r.reason === 'unknown') return invalid('Token could not be verified', 'InvalidToken');
        return invalid(r.reason === 'expired' ? 'Token has expired' : 'Token has been revoked', 'ExpiredToken');
      }
      return { status: 200, body: session(r) };
    }

    const auth = tokens.checkAccess(bearerOf(req));
    if (!auth.ok) {
      if (auth.reason === 'missing') return { status: 401, body: { error: 'AuthMissing', message: 'Authentication Required' } };
      if (auth.reason === 'expired') return invalid('Token has expired', 'ExpiredToken');
      if (auth.reason === 'revoked') return { status: 401, body: { error: 'AuthenticationRequired', message: 'Token has been revoked' } };
      return { status: 401, body: { error: 'InvalidToken', message: 'Token could not be verified' } };
    }

    if (req.method === 'POST' && req.path === '/xrpc/com.atproto.repo.uploadBlob') {
      const mimeType = headerOf(req, 'content-type') ?? 'application/octet-stream';
      if (req.raw.length === 0) return invalid('Request body is empty');
      const cid = cidOf('bafkrei', req.raw);
      blobs.set(cid, { mimeType, size: req.raw.length });
      return { status: 200, headers: rateHeaders(now), body: { blob: { $type: 'blob', ref: { $link: cid }, mimeType, size: req.raw.length } } };
    }

    const repoOk = (repo: unknown) => repo === account.did || repo === account.handle;

    if (req.method === 'POST' && req.path === '/xrpc/com.atproto.repo.createRecord') {
      const b = isObject(req.body) ? req.body : {};
      if (!repoOk(b.repo)) return invalid(`Could not find repo: ${String(b.repo)}`);
      if (b.collection !== COLLECTION) return invalid(`this fake only stores ${COLLECTION}`);
      const record = isObject(b.record) ? b.record : undefined;
      if (!record) return invalid('Input must have the property "record"');
      if (record.$type !== COLLECTION) return invalid(`Invalid $type: expected ${COLLECTION}, got ${String(record.$type)}`);
      const text = record.text;
      if (typeof text !== 'string') return invalid(`Invalid ${COLLECTION} record: Record must have the property "text"`);
      if (graphemes(text) > 300 || Buffer.byteLength(text) > 3000) return invalid(`Invalid ${COLLECTION} record: Record/text must not be longer than 300 graphemes`);
      if (typeof record.createdAt !== 'string' || !Number.isFinite(Date.parse(record.createdAt))) {
        return invalid(`Invalid ${COLLECTION} record: Record/createdAt must be an valid atproto datetime (both RFC-3339 and ISO-8601)`);
      }
      let replyTo: string | null = null;
      if (record.reply !== undefined) {
        const r = isObject(record.reply) ? record.reply : undefined;
        const root = strongRef(r?.root);
        const parent = strongRef(r?.parent);
        if (!root || !parent) return invalid(`Invalid ${COLLECTION} record: Record/reply must be an object with root and parent strong refs`);
        replyTo = parent.uri;
      }
      const media: string[] = [];
      if (record.embed !== undefined) {
        const e = isObject(record.embed) ? record.embed : {};
        if (e.$type === 'app.bsky.embed.images') {
          const imgs = Array.isArray(e.images) ? e.images : [];
          if (imgs.length > 4) return invalid(`Invalid ${COLLECTION} record: Record/embed/images must not have more than 4 elements`);
          for (const im of imgs) {
            const link = isObject(im) && isObject(im.image) && isObject(im.image.ref) ? im.image.ref.$link : undefined;
            if (typeof link !== 'string' || !blobs.has(link)) return invalid(`Could not find blob: ${String(link)}`, 'BlobNotFound');
            if (!isObject(im) || typeof im.alt !== 'string') return invalid(`Invalid ${COLLECTION} record: Record/embed/images/0 must have the property "alt"`);
            media.push(link);
          }
        }
      }
      const rkey = typeof b.rkey === 'string' && b.rkey !== '' ? b.rkey : tidNow();
      if (!/^[A-Za-z0-9._:~-]{1,512}$/.test(rkey) || rkey === '.' || rkey === '..') return invalid('Invalid record key');
      // Observed: a taken key makes the PDS answer 500 (a clearer error is only being added upstream).
      if (records.has(rkey)) return { status: 500, body: { error: 'InternalServerError', message: 'Internal Server Error' } };
      const wait = tools.admitPost(now);
      if (wait !== undefined) return tooMany(wait, now);
      const uri = `at://${account.did}/${COLLECTION}/${rkey}`;
      const cid = cidOf('bafyrei', JSON.stringify(record));
      records.set(rkey, { uri, cid, value: record });
      tools.posts.push({ id: uri, text, replyTo, media, at: now });
      if (tools.takeDrop()) return DROP;
      return {
        status: 200,
        headers: rateHeaders(now, tools.window(now)),
        body: { uri, cid, commit: { cid: cidOf('bafyrei', `${uri}:commit`), rev: tidNow() }, validationStatus: 'valid' },
      };
    }

    if (req.method === 'GET' && req.path === '/xrpc/com.atproto.repo.getRecord') {
      const rkey = req.query.get('rkey') ?? '';
      if (!repoOk(req.query.get('repo')) || req.query.get('collection') !== COLLECTION) return invalid('Could not locate record', 'RecordNotFound');
      const r = records.get(rkey);
      if (!r) return invalid(`Could not locate record: at://${account.did}/${COLLECTION}/${rkey}`, 'RecordNotFound');
      return { status: 200, headers: rateHeaders(now), body: r };
    }

    if (req.method === 'GET' && req.path === '/xrpc/com.atproto.repo.listRecords') {
      if (!repoOk(req.query.get('repo'))) return invalid(`Could not find repo: ${req.query.get('repo')}`);
      const limit = Math.min(100, Math.max(1, Number(req.query.get('limit') ?? 50)));
      const reverse = req.query.get('reverse') === 'true';
      const keys = [...records.keys()].sort();
      if (!reverse) keys.reverse();
      const page = keys.slice(0, limit).map((k) => records.get(k)!);
      return { status: 200, headers: rateHeaders(now), body: { records: page, cursor: page.length ? page[page.length - 1].uri.split('/').pop() : undefined } };
    }

    return { status: 501, body: { error: 'MethodNotImplemented', message: `Method Not Implemented: ${req.method} ${req.path}` } };
  };

  const fake = await startSocialFake({
    rateLimited: tooMany,
    serverError: () => ({ status: 502, body: { error: 'UpstreamFailure', message: 'Upstream Failure' } }),
    expireTokens: () => tokens.expireAccess(),
    revoke: () => {
      tokens.revokeAll();
      passwordRevoked = true;
    },
    handle,
  });

  return {
    ...fake,
    account,
    records,
    blobs,
    issueTokens: () => {
      const pair = tokens.issue(account.did);
      return { accessJwt: pair.accessToken, refreshJwt: pair.refreshToken };
    },
    expireRefreshTokens: () => tokens.expireRefresh(),
  };
}
