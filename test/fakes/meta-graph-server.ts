// An imitation of Meta's Graph APIs on 127.0.0.1 (port 0), serving Facebook Pages, Instagram and Threads at once.
// Paths may carry a version prefix (/v21.0/...). What it does, as the real ones do:
//   POST /{page}/photos (url, published=false)        fetches the url; answers {id}
//   POST /{page}/feed (message, link, attached_media) answers {id:"{page}_{n}"}; 506 for the page's latest message again
//   GET  /{page}/posts                                newest first {data:[{id, message, created_time}]}
//   POST /{ig}/media (image_url, caption | is_carousel_item | media_type=CAROUSEL, children)  a container; fetches the image
//   GET  /{container}?fields=status_code | status     IN_PROGRESS (containerDelay), FINISHED, ERROR, EXPIRED, PUBLISHED;
//                                                     `status` of an ERROR is Meta's reason ("Error: ... (2207052)")
//   POST /{ig}/media_publish (creation_id)            answers {id}; code 9 / 2207042 past 50 posts in 24 h
//   GET  /{ig}/media, /{ig}/content_publishing_limit, /{media}?fields=permalink
//   POST /{user}/threads (media_type TEXT | IMAGE | CAROUSEL, text, image_url, reply_to_id), POST /{user}/threads_publish
//   GET  /{user}/threads, /{user}/replies
//   GET  /refresh_access_token (ig_refresh_token | th_refresh_token), GET /oauth/access_token (fb_exchange_token)
// Tokens come as "Authorization: Bearer" or access_token; every answer carries X-App-Usage. `posts` is what was really
// published; `containers` every container made; `requests` every request.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type FakeContainerStatus,
  type FakeMetaContainer,
  type FakeMetaPost,
  type FakeMetaRequest,
  type MetaFakeSwitches,
  type MetaThrottleCode,
  META_FETCH_FAILED_STATUS,
  META_UNSUPPORTED_MEDIA_STATUS,
  graphErrorBody,
  graphTime,
  throttleAnswer,
} from './meta-fake-control';

export interface MetaGraphFakeOptions {
  /** For /oauth/access_token. */
  appId?: string;
  appSecret?: string;
  /** Clock (epoch ms). */
  now?: () => number;
}

export interface MetaGraphFake extends MetaFakeSwitches {
  /** http://127.0.0.1:PORT (add /v21.0 for a Graph base URL). */
  url: string;
  /** A valid token, issued at start. */
  token: string;
  appId: string;
  appSecret: string;
  posts: FakeMetaPost[];
  containers: FakeMetaContainer[];
  requests: FakeMetaRequest[];
  /** Unpublished Facebook photos by id. */
  photos: Map<string, { url: string; attachedTo: string | null }>;
  /** A new valid token (prefix EAA for Facebook, IGAA for Instagram, THAA for Threads). */
  issueToken(platform?: 'facebook' | 'instagram' | 'threads'): string;
  tokenState(token: string): 'valid' | 'expired' | 'revoked' | 'unknown';
  close(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60_000;
const IG_DAILY_POSTS = 50;
const PUBLISH_PATHS = /\/(feed|media_publish|threads_publish)$/;

type Params = Record<string, unknown>;

export async function startMetaGraphFake(options: MetaGraphFakeOptions = {}): Promise<MetaGraphFake> {
  const now = options.now ?? Date.now;
  const appId = options.appId ?? '100200300';
  const appSecret = options.appSecret ?? 'fake-app-secret-0123456789';
  const posts: FakeMetaPost[] = [];
  const containers: FakeMetaContainer[] = [];
  const requests: FakeMetaRequest[] = [];
  const photos = new Map<string, { url: string; attachedTo: string | null }>();
  const tokens = new Map<string, 'valid' | 'expired' | 'revoked'>();
  let seq = 1;
  const nextId = (prefix: string): string => `${prefix}${String(seq++).padStart(6, '0')}`;

  // Switches.
  let delayPolls = 0;
  let fetchFailures: 'container' | 'request' = 'container';
  const forcedErrors: Record<'IMAGE' | 'CAROUSEL', string[]> = { IMAGE: [], CAROUSEL: [] };
  let expireAfter: number | null = null;
  const throttles: { code: MetaThrottleCode; regainMinutes: number }[] = [];
  let dedupe = true;
  let drops = 0;
  let serverErrors = 0;
  let dailyLimit = false;
  let staleListings = 0;
  let usageOverride: { call_count: number; total_time: number; total_cputime: number } | null = null;

  const issueToken = (platform: 'facebook' | 'instagram' | 'threads' = 'facebook'): string => {
    const prefix = platform === 'instagram' ? 'IGAA' : platform === 'threads' ? 'THAA' : 'EAAG';
    const t = `${prefix}${randomBytes(24).toString('hex')}`;
    tokens.set(t, 'valid');
    return t;
  };
  const token = issueToken('facebook');

  const appUsageHeader = (): string => {
    if (usageOverride) return JSON.stringify(usageOverride);
    // Roughly: 200 calls an hour is the whole budget.
    const pct = Math.min(100, Math.round((requests.length / 200) * 100));
    return JSON.stringify({ call_count: pct, total_cputime: Math.round(pct / 2), total_time: Math.round(pct / 2) });
  };

  const send = (res: ServerResponse, record: FakeMetaRequest, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    record.status = status;
    res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'X-App-Usage': appUsageHeader(), 'x-fb-trace-id': 'Fake', ...headers });
    res.end(JSON.stringify(body));
  };

  /** Fetches an image URL like Meta fetching a public URL: 200 with an image content-type, else the problem. */
  const fetchImage = async (url: unknown): Promise<string | null> => {
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) return 'the media URI is not a valid public URL';
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      const type = r.headers.get('content-type') ?? '';
      await r.arrayBuffer();
      if (r.status !== 200) return `downloading the media answered HTTP ${r.status}`;
      if (!/^image\//i.test(type)) return `the media is not an image (${type || 'no content-type'})`;
      return null;
    } catch {
      return 'the media could not be downloaded';
    }
  };

  const statusOf = (c: FakeMetaContainer, poll: boolean): FakeContainerStatus => {
    if (c.publishedAs) return 'PUBLISHED';
    if (expireAfter !== null && now() - c.createdAt > expireAfter) return 'EXPIRED';
    if (c.imageProblem || c.errorStatus) return 'ERROR';
    if (c.children.some((id) => {
      const child = containers.find((x) => x.id === id);
      return !child || statusOf(child, false) !== 'FINISHED';
    })) {
      return 'IN_PROGRESS';
    }
    if (c.pollsLeft > 0) {
      if (poll) c.pollsLeft -= 1;
      return 'IN_PROGRESS';
    }
    return 'FINISHED';
  };

  const listing = (platform: FakeMetaPost['platform'], owner: string, filter: (p: FakeMetaPost) => boolean, limit: number): FakeMetaPost[] => {
    let list = posts.filter((p) => p.platform === platform && p.owner === owner && filter(p)).sort((a, b) => b.at - a.at || (b.id > a.id ? 1 : -1));
    if (staleListings > 0) {
      staleListings -= 1;
      list = list.slice(1);
    }
    return list.slice(0, limit);
  };

  const permalink = (p: FakeMetaPost): string =>
    p.platform === 'instagram'
      ? `https://www.instagram.com/p/${p.id.slice(-6)}/`
      : p.platform === 'threads'
        ? `https://www.threads.net/@herald/post/${p.id}`
        : `https://www.facebook.com/${p.id.replace('_', '/posts/')}`;

  const checkToken = (t: string | undefined): { status: number; body: unknown } | null => {
    if (!t) return { status: 400, body: graphErrorBody(2500, 'An active access token must be used to query information about the current user.') };
    const state = tokens.get(t);
    if (state === 'valid') return null;
    if (state === 'expired') {
      return {
        status: 400,
        body: graphErrorBody(190, `Error validating access token: Session has expired on ${new Date(now() - 60_000).toUTCString()}. The current time is ${new Date(now()).toUTCString()}.`, { subcode: 463 }),
      };
    }
    if (state === 'revoked') {
      return {
        status: 400,
        body: graphErrorBody(190, 'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.', { subcode: 460 }),
      };
    }
    // Meta echoes a token it cannot parse: adapters must scrub it.
    return { status: 400, body: graphErrorBody(190, `Malformed access token ${t}`) };
  };

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://fake');
    const params: Params = Object.fromEntries(u.searchParams.entries());
    const ctype = req.headers['content-type'] ?? '';
    if (raw) {
      if (/json/i.test(ctype)) {
        try {
          Object.assign(params, JSON.parse(raw) as Params);
        } catch {
          /* not JSON: left out */
        }
      } else if (/x-www-form-urlencoded/i.test(ctype)) {
        Object.assign(params, Object.fromEntries(new URLSearchParams(raw).entries()));
      }
    }
    const auth = req.headers.authorization;
    const bearer = typeof auth === 'string' && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : undefined;
    const tokenParam = typeof params.access_token === 'string' ? params.access_token : undefined;
    delete params.access_token;
    const path = u.pathname.replace(/^\/v\d+(\.\d+)?(?=\/)/, '').replace(/\/+$/, '') || '/';
    const record: FakeMetaRequest = { method: req.method ?? 'GET', path, params: { ...params }, authenticated: Boolean(bearer ?? tokenParam), status: 0 };
    if ('client_secret' in record.params) record.params.client_secret = '[redacted]';
    if ('fb_exchange_token' in record.params) record.params.fb_exchange_token = '[redacted]';
    requests.push(record);
    const answer = (status: number, body: unknown, headers?: Record<string, string>): void => send(res, record, status, body, headers);
    const segs = path.split('/').filter(Boolean);

    if (serverErrors > 0) {
      serverErrors -= 1;
      return answer(500, graphErrorBody(2, 'An unexpected error has occurred. Please retry your request later.', { isTransient: true }));
    }
    const throttle = throttles.shift();
    if (throttle) {
      const t = throttleAnswer(throttle.code, segs[0] ?? appId, throttle.regainMinutes);
      return answer(t.status, t.body, t.headers);
    }

    // Token endpoints.
    if (req.method === 'GET' && path === '/refresh_access_token') {
      const grant = params.grant_type;
      if (grant !== 'ig_refresh_token' && grant !== 'th_refresh_token') return answer(400, graphErrorBody(100, 'Unsupported grant_type'));
      const bad = checkToken(tokenParam ?? bearer);
      if (bad) return answer(bad.status, bad.body);
      return answer(200, { access_token: issueToken(grant === 'ig_refresh_token' ? 'instagram' : 'threads'), token_type: 'bearer', expires_in: 5_184_000 });
    }
    if (req.method === 'GET' && path === '/oauth/access_token') {
      if (params.grant_type !== 'fb_exchange_token') return answer(400, graphErrorBody(100, 'Unsupported grant_type'));
      if (params.client_id !== appId) return answer(400, graphErrorBody(101, 'Error validating application. Invalid application ID.'));
      if (u.searchParams.get('client_secret') !== appSecret) return answer(400, graphErrorBody(1, 'Error validating client secret.'));
      const bad = checkToken(u.searchParams.get('fb_exchange_token') ?? undefined);
      if (bad) return answer(bad.status, bad.body);
      return answer(200, { access_token: issueToken('facebook'), token_type: 'bearer', expires_in: 5_183_944 });
    }

    const bad = checkToken(bearer ?? tokenParam);
    if (bad) return answer(bad.status, bad.body);

    const [id, edge] = segs;
    const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
    const limitOf = (d: number): number => Math.max(1, Math.min(100, Number(params.limit ?? d) || d));
    const dropAfter = (): boolean => {
      if (drops > 0 && PUBLISH_PATHS.test(path)) {
        drops -= 1;
        record.status = 0;
        res.socket?.destroy();
        return true;
      }
      return false;
    };

    // --- Facebook Pages ---
    if (req.method === 'POST' && edge === 'photos') {
      const problem = await fetchImage(params.url);
      if (problem) return answer(400, graphErrorBody(324, `(#324) Missing or invalid image file: ${problem}`));
      const photoId = nextId('5550');
      const published = !(params.published === false || params.published === 'false');
      photos.set(photoId, { url: str(params.url), attachedTo: published ? photoId : null });
      if (published) posts.push({ id: `${id}_${photoId}`, platform: 'facebook', owner: id, text: str(params.caption ?? params.message), media: [str(params.url)], replyTo: null, at: now() });
      return answer(200, published ? { id: photoId, post_id: `${id}_${photoId}` } : { id: photoId });
    }
    if (req.method === 'POST' && edge === 'feed') {
      const message = str(params.message);
      let attached: unknown = params.attached_media;
      if (typeof attached === 'string') {
        try {
          attached = JSON.parse(attached);
        } catch {
          attached = undefined;
        }
      }
      const mediaIds = Array.isArray(attached) ? attached.map((a) => str((a as { media_fbid?: unknown })?.media_fbid)) : [];
      if (!message && mediaIds.length === 0 && !params.link) return answer(400, graphErrorBody(100, '(#100) Missing message or attachment'));
      for (const m of mediaIds) {
        const photo = photos.get(m);
        if (!photo || photo.attachedTo !== null) return answer(400, graphErrorBody(100, `(#100) param attached_media[0] has an invalid media_fbid ${m}`));
      }
      const latest = posts.filter((p) => p.platform === 'facebook' && p.owner === id).sort((a, b) => b.at - a.at)[0];
      if (dedupe && latest && message !== '' && latest.text === message) {
        return answer(400, graphErrorBody(506, '(#506) Duplicate status message', { subcode: 1455006, userTitle: 'Duplicate Status Message' }));
      }
      const postId = `${id}_${nextId('7770')}`;
      for (const m of mediaIds) photos.get(m)!.attachedTo = postId;
      posts.push({ id: postId, platform: 'facebook', owner: id, text: message, media: mediaIds.map((m) => photos.get(m)!.url), replyTo: null, at: now() });
      if (dropAfter()) return;
      return answer(200, { id: postId });
    }
    if (req.method === 'GET' && edge === 'posts') {
      const data = listing('facebook', id, () => true, limitOf(25)).map((p) => ({ id: p.id, message: p.text, created_time: graphTime(p.at) }));
      return answer(200, { data, paging: {} });
    }

    // --- Instagram and Threads containers ---
    if (req.method === 'POST' && (edge === 'media' || edge === 'threads')) {
      const platform = edge === 'media' ? 'instagram' : 'threads';
      const text = str(platform === 'instagram' ? params.caption : params.text);
      const isItem = params.is_carousel_item === true || params.is_carousel_item === 'true';
      const mediaType = str(params.media_type).toUpperCase() || (platform === 'instagram' ? 'IMAGE' : 'TEXT');
      const children = Array.isArray(params.children) ? params.children.map(str) : str(params.children).split(',').filter(Boolean);
      if (platform === 'instagram' && [...text].length > 2200) return answer(400, graphErrorBody(100, 'The caption is too long (2200 characters at most)', { subcode: 2207010 }));
      if (platform === 'threads' && [...text].length > 500) return answer(400, graphErrorBody(100, 'The text is too long (500 characters at most)'));
      const replyTo = params.reply_to_id !== undefined ? str(params.reply_to_id) : null;
      if (replyTo && !posts.some((p) => p.platform === 'threads' && p.id === replyTo)) return answer(400, graphErrorBody(100, `Invalid reply_to_id ${replyTo}`));
      if (mediaType === 'CAROUSEL') {
        if (children.length < 2) return answer(400, graphErrorBody(100, 'A carousel needs at least 2 children'));
        for (const c of children) {
          const child = containers.find((x) => x.id === c);
          if (!child || !child.isCarouselItem) return answer(400, graphErrorBody(100, `Invalid child ${c}`));
        }
      } else if (mediaType === 'IMAGE') {
        if (typeof params.image_url !== 'string') return answer(400, graphErrorBody(100, '(#100) The parameter image_url is required'));
      } else if (mediaType !== 'TEXT' || platform === 'instagram') {
        return answer(400, graphErrorBody(100, `(#100) Unsupported media_type ${mediaType}`));
      }
      const imageProblem = mediaType === 'IMAGE' ? await fetchImage(params.image_url) : null;
      if (imageProblem && platform === 'instagram' && fetchFailures === 'request' && !/not an image/.test(imageProblem)) {
        return answer(
          400,
          graphErrorBody(9004, 'Only photo or video can be accepted as media type.', {
            subcode: 2207052,
            userTitle: "Media download has failed. The media URI doesn't meet our requirements.",
          }),
        );
      }
      // Meta's reason: a download that failed may pass, a download that is not an image never will.
      let errorStatus: string | null = null;
      if (imageProblem) errorStatus = /not an image/.test(imageProblem) ? `${META_UNSUPPORTED_MEDIA_STATUS}: ${imageProblem}` : `${META_FETCH_FAILED_STATUS}: ${imageProblem}`;
      if (platform === 'instagram' && (mediaType === 'IMAGE' || mediaType === 'CAROUSEL') && forcedErrors[mediaType].length > 0) {
        errorStatus = forcedErrors[mediaType].shift() ?? null;
      }
      const c: FakeMetaContainer = {
        id: nextId(platform === 'instagram' ? '1789' : '1801'),
        platform,
        owner: id,
        mediaType: mediaType as FakeMetaContainer['mediaType'],
        text,
        imageUrl: typeof params.image_url === 'string' ? params.image_url : null,
        children,
        isCarouselItem: isItem,
        replyTo,
        createdAt: now(),
        pollsLeft: delayPolls,
        imageProblem,
        errorStatus,
        publishedAs: null,
      };
      containers.push(c);
      return answer(200, { id: c.id });
    }
    if (req.method === 'POST' && (edge === 'media_publish' || edge === 'threads_publish')) {
      const platform = edge === 'media_publish' ? 'instagram' : 'threads';
      const c = containers.find((x) => x.id === str(params.creation_id) && x.platform === platform && x.owner === id);
      if (!c) return answer(400, graphErrorBody(100, `Unsupported post request. Object with ID '${str(params.creation_id)}' does not exist`, { subcode: 33 }));
      if (platform === 'instagram') {
        const recent = posts.filter((p) => p.platform === 'instagram' && p.owner === id && p.at > now() - DAY_MS).length;
        if (dailyLimit || recent >= IG_DAILY_POSTS) {
          return answer(400, graphErrorBody(9, 'Application request limit reached', { subcode: 2207042, userTitle: 'You have reached the maximum number of posts allowed in 24 hours' }));
        }
      }
      const status = statusOf(c, false);
      if (status === 'PUBLISHED') return answer(400, graphErrorBody(100, 'The media has already been published', { subcode: 2207011 }));
      if (status === 'EXPIRED') return answer(400, graphErrorBody(100, 'The media you are trying to publish has expired. Please try to create a new media container', { subcode: 2207020 }));
      if (status === 'ERROR') return answer(400, graphErrorBody(9007, 'Media upload has failed', { subcode: 2207032 }));
      if (status === 'IN_PROGRESS') return answer(400, graphErrorBody(9007, 'The media is not ready for publishing, please wait for a moment', { subcode: 2207027 }));
      const media = c.mediaType === 'CAROUSEL' ? c.children.map((k) => containers.find((x) => x.id === k)?.imageUrl ?? '') : c.imageUrl ? [c.imageUrl] : [];
      const post: FakeMetaPost = { id: nextId(platform === 'instagram' ? '1790' : '1802'), platform, owner: id, text: c.text, media, replyTo: c.replyTo, at: now() };
      c.publishedAs = post.id;
      posts.push(post);
      if (dropAfter()) return;
      return answer(200, { id: post.id });
    }
    if (req.method === 'GET' && edge === 'media') {
      const data = listing('instagram', id, () => true, limitOf(25)).map((p) => ({ id: p.id, caption: p.text, timestamp: graphTime(p.at) }));
      return answer(200, { data, paging: {} });
    }
    if (req.method === 'GET' && (edge === 'threads' || edge === 'replies')) {
      const data = listing('threads', id, (p) => (edge === 'replies' ? p.replyTo !== null : p.replyTo === null), limitOf(25)).map((p) => ({
        id: p.id,
        text: p.text,
        timestamp: graphTime(p.at),
        ...(p.replyTo ? { replied_to: { id: p.replyTo } } : {}),
      }));
      return answer(200, { data, paging: {} });
    }
    if (req.method === 'GET' && edge === 'content_publishing_limit') {
      const used = posts.filter((p) => p.platform === 'instagram' && p.owner === id && p.at > now() - DAY_MS).length;
      return answer(200, { data: [{ quota_usage: used, config: { quota_total: IG_DAILY_POSTS, quota_duration: 86_400 } }] });
    }
    if (req.method === 'GET' && id && !edge) {
      const fields = str(params.fields).split(',').filter(Boolean);
      const c = containers.find((x) => x.id === id);
      if (c) {
        const status = statusOf(c, true);
        const out: Record<string, unknown> = { id: c.id };
        if (c.platform === 'instagram') {
          if (fields.includes('status_code')) out.status_code = status;
          if (fields.includes('status')) out.status = status === 'ERROR' ? (c.errorStatus ?? 'Error') : status;
        } else {
          if (fields.includes('status') || fields.includes('status_code')) out.status = status;
          if (fields.includes('error_message') && status === 'ERROR') out.error_message = `FAILED_DOWNLOADING_MEDIA: ${c.imageProblem}`;
        }
        return answer(200, out);
      }
      const p = posts.find((x) => x.id === id);
      if (p) return answer(200, { id: p.id, ...(fields.includes('permalink') ? { permalink: permalink(p) } : {}) });
    }
    return answer(400, graphErrorBody(100, `Unsupported ${req.method?.toLowerCase()} request. Object with ID '${id ?? ''}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, { subcode: 33, type: 'GraphMethodException' }));
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch(() => {
        if (!res.headersSent) {
          res.writeHead(500);
          res.end();
        }
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    appId,
    appSecret,
    posts,
    containers,
    requests,
    photos,
    issueToken,
    tokenState: (t) => tokens.get(t) ?? 'unknown',
    containerDelay(n) {
      delayPolls = Math.max(0, n);
    },
    containerErrorNext(times = 1, status = META_FETCH_FAILED_STATUS, mediaType = 'IMAGE') {
      if (times <= 0) forcedErrors[mediaType].length = 0;
      for (let i = 0; i < times; i++) forcedErrors[mediaType].push(status);
    },
    mediaFetchFailures(mode) {
      fetchFailures = mode;
    },
    expireContainersAfter(ms) {
      expireAfter = ms;
    },
    rateLimitNext(code, times = 1, opts = {}) {
      for (let i = 0; i < Math.max(1, times); i++) throttles.push({ code, regainMinutes: opts.regainMinutes ?? 5 });
    },
    duplicateDetection(on) {
      dedupe = on;
    },
    expireTokens() {
      for (const [t, s] of tokens) if (s === 'valid') tokens.set(t, 'expired');
    },
    revoke() {
      for (const t of tokens.keys()) tokens.set(t, 'revoked');
    },
    acceptThenDrop(times = 1) {
      drops += Math.max(1, times);
    },
    serverErrorNext(times = 1) {
      serverErrors += Math.max(1, times);
    },
    dailyLimitReached(on) {
      dailyLimit = on;
    },
    staleListingsNext(times = 1) {
      staleListings += Math.max(1, times);
    },
    appUsage(usage) {
      usageOverride = usage;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

/** A tiny public image host for the fake to fetch: /img/{name}.png answers a PNG, /not-an-image HTML, anything else 404. */
export async function startImageHost(): Promise<{ url: string; fetched: string[]; close(): Promise<void> }> {
  const fetched: string[] = [];
  // A 1x1 transparent PNG.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
  const server = createServer((req, res) => {
    fetched.push(req.url ?? '/');
    if (req.method === 'GET' && /^\/img\/[\w-]+\.png$/.test(req.url ?? '')) {
      res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': String(png.length) });
      res.end(png);
      return;
    }
    if (req.url === '/not-an-image') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html>login required</html>');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    fetched,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
