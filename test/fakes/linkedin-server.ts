// An imitation of LinkedIn's versioned REST API for one member: POST /rest/posts (201, empty body, id in
// x-restli-id; 422 "Content is a duplicate of urn:li:share:N" unless detectDuplicates(false)), the Posts finder
// GET /rest/posts?q=author, the Images API (initializeUpload, then PUT of the bytes to the upload URL), GET /v2/userinfo,
// and OAuth refresh at /oauth/v2/accessToken (400 invalid_grant for a dead refresh token). 429s carry no headers at
// all, as LinkedIn's do. `posts[].text` is the commentary exactly as sent (little-text escaped); littleTextToPlain()
// shows what LinkedIn would display.
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
  type TokenPair,
} from './social-fake-control';

const RESERVED = new Set(['\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~']);

/**
 * What LinkedIn shows for a little-text commentary: backslash escapes resolved, and the text silently cut at the first
 * reserved character that is not escaped.
 */
export function littleTextToPlain(commentary: string): string {
  let out = '';
  for (let i = 0; i < commentary.length; i++) {
    const c = commentary[i];
    if (c === '\\' && i + 1 < commentary.length && RESERVED.has(commentary[i + 1])) {
      out += commentary[i + 1];
      i++;
      continue;
    }
    if (RESERVED.has(c)) break;
    out += c;
  }
  return out;
}

export interface LinkedInFake extends SocialFakeBase {
  clientId: string;
  clientSecret: string;
  member: { id: string; urn: string; name: string };
  /** Registered images by URN: uploaded once their bytes were PUT. */
  images: Map<string, { owner: string; uploaded: boolean; size: number }>;
  /** The full bodies of stored posts, by URN. */
  postBodies: Map<string, Record<string, unknown>>;
  issueTokens(): TokenPair;
  /** Every refresh token issued so far is past its 365-day life. */
  expireRefreshTokens(): void;
}

export async function startLinkedInFake(
  opts: { clientId?: string; clientSecret?: string; rotateRefreshTokens?: boolean; oldestVersion?: string } = {},
): Promise<LinkedInFake> {
  const clientId = opts.clientId ?? 'herald-li-client';
  const clientSecret = opts.clientSecret ?? 'herald-li-secret';
  const member = { id: 'abc123', urn: 'urn:li:person:abc123', name: 'Herald Test' };
  // LinkedIn answers a refresh with the same refresh token (fixed 365-day life); rotation is an option for tests.
  const tokens = new TokenBook({ rotate: opts.rotateRefreshTokens ?? false });
  const images = new Map<string, { owner: string; uploaded: boolean; size: number }>();
  const postBodies = new Map<string, Record<string, unknown>>();
  const uploads = new Map<string, string>(); // upload path -> image urn
  let nextShare = 7_100_000_000_000_000_000n;
  let nextImage = 1;
  const oldest = opts.oldestVersion ?? '202401';

  const serverUrl = { value: '' };

  const handle = (req: SocialRequest, tools: HandlerTools): HandlerAnswer => {
    const now = Date.now();
    if (req.method === 'POST' && req.path === '/oauth/v2/accessToken') {
      const form = isObject(req.body) ? (req.body as Record<string, string>) : {};
      if (form.client_id !== clientId || form.client_secret !== clientSecret) {
        return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
      }
      if (form.grant_type !== 'refresh_token') return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'grant_type is not supported' } };
      const r = tokens.refresh(form.refresh_token);
      if (!r.ok) {
        return { status: 400, body: { error: 'invalid_grant', error_description: 'The provided authorization grant or refresh token is invalid, expired or revoked.' } };
      }
      return {
        status: 200,
        body: { access_token: r.accessToken, expires_in: 5_184_000, refresh_token: r.refreshToken, refresh_token_expires_in: 31_536_000, scope: 'openid,profile,w_member_social' },
      };
    }

    const upload = uploads.get(req.path);
    if (req.method === 'PUT' && upload) {
      const img = images.get(upload);
      if (!tokens.checkAccess(bearerOf(req)).ok || !img) return { status: 401, body: { status: 401, serviceErrorCode: 65600, code: 'INVALID_ACCESS_TOKEN', message: 'Invalid access token' } };
      img.uploaded = true;
      img.size = req.raw.length;
      return { status: 201 };
    }

    const auth = tokens.checkAccess(bearerOf(req));
    if (!auth.ok) {
      if (auth.reason === 'revoked') {
        return { status: 401, body: { status: 401, serviceErrorCode: 65601, code: 'REVOKED_ACCESS_TOKEN', message: 'The token used in the request has been revoked by the user' } };
      }
      return { status: 401, body: { status: 401, serviceErrorCode: 65600, code: 'INVALID_ACCESS_TOKEN', message: 'Invalid access token' } };
    }

    if (req.method === 'GET' && req.path === '/v2/userinfo') return { status: 200, body: { sub: member.id, name: member.name, email_verified: true } };

    if (req.path.startsWith('/rest/')) {
      const version = headerOf(req, 'linkedin-version');
      if (!version) return { status: 400, body: { status: 400, code: 'VERSION_MISSING', message: 'A version must be present. Please specify a version by adding the LinkedIn-Version header.' } };
      if (version < oldest) return { status: 426, body: { status: 426, code: 'NONEXISTENT_VERSION', message: `Requested version ${version} is not active` } };
      if (headerOf(req, 'x-restli-protocol-version') !== '2.0.0') return { status: 400, body: { status: 400, message: 'X-Restli-Protocol-Version 2.0.0 is required' } };
    }

    if (req.method === 'POST' && req.path === '/rest/images' && req.query.get('action') === 'initializeUpload') {
      const b = isObject(req.body) && isObject(req.body.initializeUploadRequest) ? req.body.initializeUploadRequest : {};
      if (b.owner !== member.urn) return { status: 403, body: { status: 403, code: 'ACCESS_DENIED', message: 'Not enough permissions to access: owner' } };
      const n = nextImage++;
      const urn = `urn:li:image:D4E10AQFake${String(n).padStart(6, '0')}`;
      const path = `/dms-uploads/sp/fake-${n}/uploaded-image/0`;
      images.set(urn, { owner: member.urn, uploaded: false, size: 0 });
      uploads.set(path, urn);
      return { status: 200, body: { value: { uploadUrlExpiresAt: now + 3_600_000, uploadUrl: `${serverUrl.value}${path}`, image: urn } } };
    }

    if (req.method === 'POST' && req.path === '/rest/posts') {
      const b = isObject(req.body) ? req.body : {};
      if (b.author !== member.urn) return { status: 403, body: { status: 403, code: 'ACCESS_DENIED', message: `Unpermitted fields present in REQUEST_BODY: Data Processing Exception while processing fields [/author]` } };
      if (typeof b.commentary !== 'string') return { status: 422, body: { status: 422, message: 'ERROR :: /commentary :: field is required but not found and has no default value' } };
      const media: string[] = [];
      const content = isObject(b.content) ? b.content : undefined;
      if (content && isObject(content.media) && typeof content.media.id === 'string') media.push(content.media.id);
      if (content && isObject(content.multiImage) && Array.isArray(content.multiImage.images)) {
        for (const im of content.multiImage.images) if (isObject(im) && typeof im.id === 'string') media.push(im.id);
      }
      for (const urn of media) {
        if (!images.get(urn)?.uploaded) return { status: 400, body: { status: 400, message: `Image ${urn} is not uploaded yet`, code: 'INVALID_CONTENT' } };
      }
      const wait = tools.admitPost(now);
      if (wait !== undefined) return { status: 429, body: { message: 'Resource level throttle APPLICATION DAY limit for calls to this resource is reached.', status: 429 } };
      const text = b.commentary;
      const existing = tools.detectDuplicates ? tools.posts.find((p) => p.text === text) : undefined;
      if (existing) {
        return {
          status: 422,
          body: {
            errorDetailType: 'com.linkedin.common.error.BadRequest',
            message: `Content is a duplicate of ${existing.id}`,
            errorDetails: { inputErrors: [{ description: 'Duplicate post is detected', input: {}, code: 'DUPLICATE_POST' }] },
            status: 422,
          },
        };
      }
      nextShare += 1n;
      const id = `urn:li:share:${nextShare}`;
      tools.posts.push({ id, text, replyTo: null, media, at: now });
      postBodies.set(id, b);
      if (tools.takeDrop()) return DROP;
      return { status: 201, headers: { 'x-restli-id': id, 'x-linkedin-id': id } };
    }

    // The Posts finder "by author": the member's latest posts, newest first (what a reconciling client searches).
    if (req.method === 'GET' && req.path === '/rest/posts' && req.query.get('q') === 'author') {
      if (req.query.get('author') !== member.urn) return { status: 403, body: { status: 403, code: 'ACCESS_DENIED', message: 'Not enough permissions to access: author' } };
      const count = Math.min(100, Math.max(1, Number(req.query.get('count') ?? 10) || 10));
      const start = Math.max(0, Number(req.query.get('start') ?? 0) || 0);
      const latest = [...tools.posts].reverse();
      const elements = latest.slice(start, start + count).map((p) => ({
        ...(postBodies.get(p.id) ?? {}),
        id: p.id,
        commentary: p.text,
        createdAt: p.at,
        lastModifiedAt: p.at,
        publishedAt: p.at,
      }));
      return { status: 200, body: { paging: { start, count, links: [], total: latest.length }, elements } };
    }

    return { status: 404, body: { status: 404, message: `No virtual resource found for ${req.method} ${req.path}` } };
  };

  const fake = await startSocialFake({
    // LinkedIn's 429 carries no Retry-After and no rate headers: retryAfterSeconds cannot be told.
    rateLimited: (): FakeReply => ({ status: 429, body: { message: 'Resource level throttle APPLICATION DAY limit for calls to this resource is reached.', status: 429 } }),
    serverError: () => ({ status: 500, body: { message: 'Internal Server Error', status: 500 } }),
    expireTokens: () => tokens.expireAccess(),
    revoke: () => tokens.revokeAll(),
    handle,
  });
  serverUrl.value = fake.url;

  return {
    ...fake,
    clientId,
    clientSecret,
    member,
    images,
    postBodies,
    issueTokens: () => tokens.issue(member.id),
    expireRefreshTokens: () => tokens.expireRefresh(),
  };
}
