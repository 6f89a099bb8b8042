// An imitation of the X API v2 for one account: OAuth 2.0 refresh with ROTATING single-use refresh tokens,
// POST /2/media/upload (multipart) and /2/media/metadata, POST /2/tweets (403 on duplicate content), GET /2/users/me
// and GET /2/users/{id}/tweets. Errors in X's problem JSON; x-rate-limit-* headers with epoch-second resets.
import {
  DROP,
  TokenBook,
  bearerOf,
  headerOf,
  isObject,
  snowflakes,
  startSocialFake,
  type FakeReply,
  type HandlerAnswer,
  type SocialFakeBase,
  type SocialRequest,
  type TokenPair,
} from './social-fake-control';

export const X_DUPLICATE_BODY = {
  detail: 'You are not allowed to create a Tweet with duplicate content.',
  type: 'about:blank',
  title: 'Forbidden',
  status: 403,
};

export const X_USAGE_CAPPED_BODY = {
  title: 'UsageCapExceeded',
  detail: 'Usage cap exceeded: Monthly product cap',
  type: 'https://api.twitter.com/2/problems/usage-capped',
  period: 'Monthly',
  scope: 'Product',
  status: 429,
};

const UNAUTHORIZED = { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' };

function invalid(message: string): FakeReply {
  return {
    status: 400,
    body: {
      errors: [{ message }],
      title: 'Invalid Request',
      detail: 'One or more parameters to your request was invalid.',
      type: 'https://api.twitter.com/2/problems/invalid-request',
    },
  };
}

export interface XFake extends SocialFakeBase {
  clientId: string;
  user: { id: string; username: string; name: string };
  /** Uploaded media by id, with its alt text once set. */
  media: Map<string, { size: number; type: string; category: string; alt?: string }>;
  /** A fresh access + refresh token pair for the account. */
  issueTokens(): TokenPair;
  /** The next `times` requests get X's usage-capped 429 (terminal, not a rate limit). */
  usageCappedNext(times?: number): void;
}

export async function startXFake(opts: { clientId?: string; clientSecret?: string; user?: { id: string; username: string; name?: string } } = {}): Promise<XFake> {
  const clientId = opts.clientId ?? 'herald-x-client';
  const user = { id: opts.user?.id ?? '1500000000000000001', username: opts.user?.username ?? 'herald_test', name: opts.user?.name ?? 'Herald Test' };
  const tokens = new TokenBook({ rotate: true });
  const media = new Map<string, { size: number; type: string; category: string; alt?: string }>();
  const nextTweetId = snowflakes(1_800_000_000_000_000_000n);
  const nextMediaId = snowflakes(1_900_000_000_000_000_000n);

  const rateHeaders = (now: number, window?: { limit: number; remaining: number; resetAt: number }, postsToday = 0): Record<string, string> => ({
    'x-rate-limit-limit': String(window?.limit ?? 200),
    'x-rate-limit-remaining': String(window?.remaining ?? 199),
    'x-rate-limit-reset': String(Math.ceil((window?.resetAt ?? now + 15 * 60_000) / 1000)),
    'x-user-limit-24hour-limit': '100',
    'x-user-limit-24hour-remaining': String(Math.max(0, 100 - postsToday)),
    'x-user-limit-24hour-reset': String(Math.ceil((now + 24 * 3600_000) / 1000)),
  });

  const tooMany = (retryAfterSeconds: number, now: number): FakeReply => ({
    status: 429,
    headers: {
      'x-rate-limit-limit': '200',
      'x-rate-limit-remaining': '0',
      'x-rate-limit-reset': String(Math.ceil((now + retryAfterSeconds * 1000) / 1000)),
    },
    body: { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 },
  });

  const token = (req: SocialRequest): HandlerAnswer => {
    const form = isObject(req.body) ? (req.body as Record<string, string>) : {};
    if (opts.clientSecret) {
      const expected = `Basic ${Buffer.from(`${clientId}:${opts.clientSecret}`).toString('base64')}`;
      if (headerOf(req, 'authorization') !== expected) {
        return { status: 401, body: { error: 'unauthorized_client', error_description: 'Missing valid authorization header' } };
      }
    }
    if (form.client_id !== clientId) return { status: 401, body: { error: 'unauthorized_client', error_description: 'Missing valid authorization header' } };
    if (form.grant_type !== 'refresh_token') return { status: 400, body: { error: 'invalid_request', error_description: 'Value passed for the grant type was invalid.' } };
    const r = tokens.refresh(form.refresh_token);
    if (!r.ok) return { status: 400, body: { error: 'invalid_request', error_description: 'Value passed for the token was invalid.' } };
    return {
      status: 200,
      body: {
        token_type: 'bearer',
        expires_in: 7200,
        access_token: r.accessToken,
        scope: 'tweet.write users.read tweet.read offline.access media.write',
        refresh_token: r.refreshToken,
      },
    };
  };

  const fake = await startSocialFake({
    rateLimited: tooMany,
    serverError: () => ({ status: 503, body: { title: 'Service Unavailable', detail: 'Service Unavailable', type: 'about:blank', status: 503 } }),
    expireTokens: () => tokens.expireAccess(),
    revoke: () => tokens.revokeAll(),
    handle(req, tools): HandlerAnswer {
      const now = Date.now();
      if (req.method === 'POST' && req.path === '/2/oauth2/token') return token(req);
      if (!tokens.checkAccess(bearerOf(req)).ok) return { status: 401, body: UNAUTHORIZED };

      if (req.method === 'GET' && req.path === '/2/users/me') return { status: 200, headers: rateHeaders(now), body: { data: user } };

      if (req.method === 'POST' && req.path === '/2/media/upload') {
        if (!(req.body instanceof FormData)) return invalid('media upload must be multipart/form-data');
        const file = req.body.get('media');
        if (!(file instanceof Blob) || file.size === 0) return invalid('The `media` field is required.');
        const id = nextMediaId();
        const type = String(req.body.get('media_type') ?? file.type);
        media.set(id, { size: file.size, type, category: String(req.body.get('media_category') ?? '') });
        return {
          status: 200,
          body: { data: { id, media_key: `3_${id}`, size: file.size, expires_after_secs: 86400, image: { image_type: type, w: 1, h: 1 } } },
        };
      }

      if (req.method === 'POST' && req.path === '/2/media/metadata') {
        const b = isObject(req.body) ? req.body : {};
        const m = typeof b.id === 'string' ? media.get(b.id) : undefined;
        if (!m) return invalid('media id not found');
        const alt = isObject(b.metadata) && isObject(b.metadata.alt_text) ? b.metadata.alt_text.text : undefined;
        if (typeof alt === 'string') m.alt = alt;
        return { status: 200, body: { data: { id: b.id, associated_metadata: { alt_text: { text: alt } } } } };
      }

      if (req.method === 'POST' && req.path === '/2/tweets') {
        const b = isObject(req.body) ? req.body : {};
        const text = typeof b.text === 'string' ? b.text : '';
        const mediaIds = isObject(b.media) && Array.isArray(b.media.media_ids) ? b.media.media_ids.map(String) : [];
        const replyTo = isObject(b.reply) && typeof b.reply.in_reply_to_tweet_id === 'string' ? b.reply.in_reply_to_tweet_id : null;
        if (!text && mediaIds.length === 0) return invalid('Tweet text or media is required.');
        if (mediaIds.length > 4 || mediaIds.some((id) => !media.has(id))) return invalid('Your media IDs are invalid.');
        if (replyTo !== null && !tools.posts.some((p) => p.id === replyTo)) return invalid('The Tweet you are replying to does not exist.');
        const wait = tools.admitPost(now);
        if (wait !== undefined) return tooMany(wait, now);
        if (tools.detectDuplicates && text && tools.posts.some((p) => p.text === text)) return { status: 403, body: X_DUPLICATE_BODY };
        const id = nextTweetId();
        tools.posts.push({ id, text, replyTo, media: mediaIds, at: now });
        if (tools.takeDrop()) return DROP;
        return {
          status: 201,
          headers: rateHeaders(now, tools.window(now), tools.posts.length),
          body: { data: { id, text, edit_history_tweet_ids: [id] } },
        };
      }

      const timeline = /^\/2\/users\/([^/]+)\/tweets$/.exec(req.path);
      if (req.method === 'GET' && timeline) {
        if (timeline[1] !== user.id) return { status: 200, body: { meta: { result_count: 0 } } };
        const max = Math.min(100, Math.max(5, Number(req.query.get('max_results') ?? 10)));
        const fields = (req.query.get('tweet.fields') ?? '').split(',');
        const latest = [...tools.posts].reverse().slice(0, max);
        const data = latest.map((p) => {
          const t: Record<string, unknown> = { id: p.id, text: p.text, edit_history_tweet_ids: [p.id] };
          if (fields.includes('created_at')) t.created_at = new Date(p.at).toISOString();
          if (fields.includes('referenced_tweets') && p.replyTo) t.referenced_tweets = [{ type: 'replied_to', id: p.replyTo }];
          return t;
        });
        return {
          status: 200,
          headers: rateHeaders(now),
          body: data.length ? { data, meta: { result_count: data.length, newest_id: data[0].id, oldest_id: data[data.length - 1].id } } : { meta: { result_count: 0 } },
        };
      }

      return { status: 404, body: { title: 'Not Found Error', detail: `no route ${req.method} ${req.path}`, type: 'https://api.twitter.com/2/problems/resource-not-found', status: 404 } };
    },
  });

  return {
    ...fake,
    clientId,
    user,
    media,
    issueTokens: () => tokens.issue(user.id),
    usageCappedNext(times = 1) {
      for (let i = 0; i < times; i++) fake.respondNext({ status: 429, headers: { 'x-rate-limit-limit': '200', 'x-rate-limit-remaining': '150' }, body: X_USAGE_CAPPED_BODY });
    },
  };
}
