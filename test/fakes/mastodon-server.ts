// An imitation of a Mastodon instance for one account: POST /api/v2/media (multipart; 202 while processing, then
// GET /api/v1/media/{id} answers 206 until ready), POST /api/v1/statuses honouring Idempotency-Key (a repeated key
// returns the original status, nothing new is stored; detectDuplicates(false) turns that off), GET
// /api/v1/accounts/{id}/statuses (newest first, HTML content), the 500-character limit (422), 401 for a revoked token,
// and X-RateLimit-* headers with ISO 8601 resets. Mastodon has no duplicate detection by content.
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
  type HandlerTools,
  type SocialFakeBase,
  type SocialRequest,
} from './social-fake-control';

export const MASTODON_CHARACTER_LIMIT = 500;

export interface MastodonFake extends SocialFakeBase {
  account: { id: string; username: string; acct: string; url: string };
  media: Map<string, { size: number; description: string | null; pollsLeft: number }>;
  /** Statuses answered for an Idempotency-Key, by key. */
  idempotency: Map<string, string>;
  /** Mastodon tokens have no refresh token. */
  issueTokens(): { accessToken: string };
  /** The next uploads answer 202 and need `polls` GETs before their url is set. */
  processMediaSlowly(polls: number): void;
}

/** Mastodon's HTML for plain text: escaped, paragraphs on blank lines, <br /> for single line breaks. */
function renderContent(text: string): string {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  return escaped
    .split(/\n{2,}/)
    .map((p) => `<p>${p.replace(/\n/g, '<br />')}</p>`)
    .join('');
}

function graphemes(s: string): number {
  return [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)].length;
}

export async function startMastodonFake(): Promise<MastodonFake> {
  const tokens = new TokenBook({ rotate: false });
  const media = new Map<string, { size: number; description: string | null; pollsLeft: number }>();
  const statuses = new Map<string, Record<string, unknown>>();
  const idempotency = new Map<string, string>();
  const nextStatusId = snowflakes(113_000_000_000_000_000n);
  const nextMediaId = snowflakes(113_500_000_000_000_000n);
  let slowPolls = 0;
  const base = { url: '' };
  const account = { id: '109000000000000001', username: 'herald', acct: 'herald', url: '' };

  const rateHeaders = (now: number, window?: { limit: number; remaining: number; resetAt: number }): Record<string, string> => ({
    'X-RateLimit-Limit': String(window?.limit ?? 300),
    'X-RateLimit-Remaining': String(window?.remaining ?? 299),
    'X-RateLimit-Reset': new Date(window?.resetAt ?? now + 5 * 60_000).toISOString(),
  });
  const tooMany = (retryAfterSeconds: number, now: number): FakeReply => ({
    status: 429,
    headers: { 'X-RateLimit-Limit': '300', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': new Date(now + retryAfterSeconds * 1000).toISOString() },
    body: { error: 'Too many requests' },
  });
  const mediaJson = (id: string) => {
    const m = media.get(id)!;
    const ready = m.pollsLeft <= 0;
    return {
      id,
      type: 'image',
      url: ready ? `${base.url}/system/media_attachments/files/${id}/original/image.png` : null,
      preview_url: `${base.url}/system/media_attachments/files/${id}/small/image.png`,
      description: m.description,
      blurhash: 'UFakeBlurhash',
    };
  };

  const handle = (req: SocialRequest, tools: HandlerTools): HandlerAnswer => {
    const now = Date.now();
    const auth = tokens.checkAccess(bearerOf(req));
    if (!auth.ok) return { status: 401, body: { error: auth.reason === 'revoked' ? 'The access token was revoked' : 'The access token is invalid' } };

    if (req.method === 'GET' && req.path === '/api/v1/accounts/verify_credentials') return { status: 200, headers: rateHeaders(now), body: account };

    if (req.method === 'POST' && req.path === '/api/v2/media') {
      const file = req.body instanceof FormData ? req.body.get('file') : null;
      if (!(file instanceof Blob) || file.size === 0) return { status: 422, body: { error: "Validation failed: File can't be blank" } };
      const description = req.body instanceof FormData ? req.body.get('description') : null;
      const id = nextMediaId();
      media.set(id, { size: file.size, description: typeof description === 'string' ? description : null, pollsLeft: slowPolls });
      return { status: slowPolls > 0 ? 202 : 200, headers: rateHeaders(now), body: mediaJson(id) };
    }

    const mediaGet = /^\/api\/v1\/media\/([^/]+)$/.exec(req.path);
    if (req.method === 'GET' && mediaGet) {
      const m = media.get(mediaGet[1]);
      if (!m) return { status: 404, body: { error: 'Record not found' } };
      if (m.pollsLeft > 0) {
        m.pollsLeft -= 1;
        return { status: 206, body: { ...mediaJson(mediaGet[1]), url: null } };
      }
      return { status: 200, body: mediaJson(mediaGet[1]) };
    }

    if (req.method === 'POST' && req.path === '/api/v1/statuses') {
      const b = isObject(req.body) ? req.body : {};
      const key = headerOf(req, 'idempotency-key');
      const scopedKey = key ? `${auth.subject}:${key}` : undefined;
      // detectDuplicates(false) turns this off: a repeated key then stores a second status, as a server that lost
      // its idempotency record (kept about an hour) would.
      const original = scopedKey && tools.detectDuplicates ? idempotency.get(scopedKey) : undefined;
      if (original) return { status: 200, headers: rateHeaders(now, tools.window(now)), body: statuses.get(original) };

      const text = typeof b.status === 'string' ? b.status : '';
      const mediaIds = Array.isArray(b.media_ids) ? b.media_ids.map(String) : [];
      const replyTo = typeof b.in_reply_to_id === 'string' ? b.in_reply_to_id : null;
      if (!text && mediaIds.length === 0) return { status: 422, body: { error: "Validation failed: Text can't be blank" } };
      if (graphemes(text) > MASTODON_CHARACTER_LIMIT) return { status: 422, body: { error: `Validation failed: Text character limit of ${MASTODON_CHARACTER_LIMIT} exceeded` } };
      if (mediaIds.length > 4) return { status: 422, body: { error: 'Validation failed: Media attachments Cannot attach more than 4 files' } };
      for (const id of mediaIds) {
        const m = media.get(id);
        if (!m) return { status: 422, body: { error: 'Validation failed: Media attachments are invalid' } };
        if (m.pollsLeft > 0) return { status: 422, body: { error: 'Cannot attach files that have not finished processing. Try again in a moment!' } };
      }
      if (replyTo !== null && !statuses.has(replyTo)) return { status: 404, body: { error: 'Record not found' } };
      const wait = tools.admitPost(now);
      if (wait !== undefined) return tooMany(wait, now);

      const id = nextStatusId();
      const visibility = typeof b.visibility === 'string' ? b.visibility : 'public';
      const status = {
        id,
        created_at: new Date(now).toISOString(),
        in_reply_to_id: replyTo,
        in_reply_to_account_id: replyTo ? account.id : null,
        visibility,
        uri: `${base.url}/users/${account.username}/statuses/${id}`,
        url: `${base.url}/@${account.username}/${id}`,
        content: renderContent(text),
        media_attachments: mediaIds.map((m) => mediaJson(m)),
        account,
      };
      statuses.set(id, status);
      if (scopedKey) idempotency.set(scopedKey, id);
      tools.posts.push({ id, text, replyTo, media: mediaIds, at: now });
      if (tools.takeDrop()) return DROP;
      return { status: 200, headers: rateHeaders(now, tools.window(now)), body: status };
    }

    // The account's statuses, newest first (what a reconciling client searches); no `text` field, as on Mastodon.
    const listing = /^\/api\/v1\/accounts\/([^/]+)\/statuses$/.exec(req.path);
    if (req.method === 'GET' && listing) {
      if (listing[1] !== account.id) return { status: 404, body: { error: 'Record not found' } };
      const limit = Math.min(40, Math.max(1, Number(req.query.get('limit') ?? 20) || 20));
      // Older pages: `max_id` gives the statuses older than that id (what the Link header's next page says on Mastodon).
      const maxId = req.query.get('max_id');
      const older = maxId && /^\d+$/.test(maxId) ? (p: { id: string }) => BigInt(p.id) < BigInt(maxId) : () => true;
      const latest = [...tools.posts].reverse().filter(older).slice(0, limit).map((p) => statuses.get(p.id)).filter((st) => st !== undefined);
      return { status: 200, headers: rateHeaders(now), body: latest };
    }

    return { status: 404, body: { error: 'Record not found' } };
  };

  const fake = await startSocialFake({
    rateLimited: tooMany,
    serverError: () => ({ status: 503, body: { error: 'Service Unavailable' } }),
    expireTokens: () => tokens.expireAccess(),
    revoke: () => tokens.revokeAll(),
    handle,
  });
  base.url = fake.url;
  account.url = `${fake.url}/@${account.username}`;

  return {
    ...fake,
    account,
    media,
    idempotency,
    issueTokens: () => ({ accessToken: tokens.issue(account.id).accessToken }),
    processMediaSlowly(polls) {
      slowPolls = Math.max(0, polls);
    },
  };
}
