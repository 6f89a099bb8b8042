// What the social-platform imitation servers (x-, linkedin-, mastodon-, bluesky-server.ts) share: an HTTP server on
// 127.0.0.1 (port 0) that records every request, the switches tests flip, a token book (issue, expire, rotate, revoke),
// a strict sliding rate window for posts, and an image host for the public image URLs publishers fetch.
//
// Order of decisions for every request: slow(ms) -> respondNext / serverErrorNext -> rateLimitNext -> the platform's
// own handling (auth, route, body checks, then for a post: the enforced rate window -> duplicate detection -> store ->
// acceptThenDrop) -> slowAnswer(ms) -> the answer. `posts` holds what was REALLY posted: the count that proves
// exactly-once; each request records what it stored and how it ended (answered, dropped, or the client gone first).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SocialPost {
  id: string;
  text: string;
  /** The post this one replies to (its id), or null. */
  replyTo: string | null;
  /** Media ids (X, Mastodon), image URNs (LinkedIn) or blob CIDs (Bluesky). */
  media: string[];
  at: number;
}

export interface SocialRequest {
  at: number;
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, a form as an object, multipart as FormData, else the raw text. */
  body: unknown;
  raw: Buffer;
  /** The client's port on 127.0.0.1 (which process sent it can be told from it while the connection is open). */
  remotePort?: number;
  /** Ids of the posts stored while handling it. */
  stored: string[];
  /**
   * How it ended: answered with a status, dropped on purpose (acceptThenDrop), or the client went away before the
   * answer was written (a killed worker, a client timeout). Unset while in flight.
   */
  outcome?: { kind: 'answered'; status: number; at: number } | { kind: 'dropped'; at: number } | { kind: 'client-gone'; at: number };
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  /** JSON body; a string is sent as text. Omitted for an empty body. */
  body?: unknown;
}

/** What a platform handler may answer besides a reply: destroy the socket without answering. */
export const DROP = Symbol('drop');
export type HandlerAnswer = FakeReply | typeof DROP;

export interface SocialFakeSwitches {
  /** The next `times` requests get the platform's real 429 (body and headers) saying come back in retryAfterSeconds. */
  rateLimitNext(times?: number, retryAfterSeconds?: number): void;
  /** At most `count` posts in any windowMs; beyond that the platform's real 429. */
  enforceRateLimit(count: number, windowMs: number): void;
  clearRateLimit(): void;
  /** Every access token issued so far is expired (X, LinkedIn, Mastodon: 401; Bluesky: 400 ExpiredToken). */
  expireTokens(): void;
  /** Every token issued so far (access and refresh) is revoked; app passwords too. */
  revoke(): void;
  /** The next `times` posts ARE stored, then the socket is destroyed without an answer (the unknown outcome). */
  acceptThenDrop(times?: number): void;
  /** The next `times` requests get the platform's 5xx. */
  serverErrorNext(times?: number): void;
  /** The next request gets exactly this answer. */
  respondNext(reply: FakeReply): void;
  /** Every answer waits this long first (0: immediately). */
  slow(ms: number): void;
  /** Every answer waits this long AFTER the platform handled it (a post is stored, its answer not yet sent). */
  slowAnswer(ms: number): void;
  /**
   * The platform's own duplicate refusal (default on): X's 403 and LinkedIn's 422 on identical text, Mastodon's
   * Idempotency-Key. Off, every post is stored: what then prevents a double is the client's own reconciliation.
   */
  detectDuplicates(on: boolean): void;
  /**
   * The next request `match` accepts is held before the platform handles it (nothing stored yet) until `release()`:
   * a request on its way, as long as a test needs. `reached` resolves when it arrives.
   */
  holdNext(match: (req: SocialRequest) => boolean): RequestHold;
}

export interface RequestHold {
  reached: Promise<SocialRequest>;
  release(): void;
}

export interface SocialFakeBase extends SocialFakeSwitches {
  url: string;
  posts: SocialPost[];
  requests: SocialRequest[];
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Tokens

export type AccessCheck = { ok: true; subject: string } | { ok: false; reason: 'missing' | 'unknown' | 'expired' | 'revoked' };
export type RefreshCheck = { ok: true; subject: string } | { ok: false; reason: 'unknown' | 'used' | 'expired' | 'revoked' };

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

/** Access and refresh tokens of one fake. A rotating book accepts each refresh token once. */
export class TokenBook {
  private readonly access = new Map<string, { subject: string; state: 'ok' | 'expired' | 'revoked' }>();
  private readonly refreshTokens = new Map<string, { subject: string; state: 'ok' | 'used' | 'expired' | 'revoked' }>();

  constructor(
    private readonly opts: {
      rotate: boolean;
      make?: (kind: 'access' | 'refresh', subject: string) => string;
    },
  ) {}

  issue(subject: string): TokenPair {
    const make = this.opts.make ?? ((kind: 'access' | 'refresh') => `${kind === 'access' ? 'AT' : 'RT'}-${randomBytes(18).toString('base64url')}`);
    const accessToken = make('access', subject);
    const refreshToken = make('refresh', subject);
    this.access.set(accessToken, { subject, state: 'ok' });
    this.refreshTokens.set(refreshToken, { subject, state: 'ok' });
    return { accessToken, refreshToken };
  }

  checkAccess(token: string | undefined): AccessCheck {
    if (!token) return { ok: false, reason: 'missing' };
    const t = this.access.get(token);
    if (!t) return { ok: false, reason: 'unknown' };
    if (t.state !== 'ok') return { ok: false, reason: t.state };
    return { ok: true, subject: t.subject };
  }

  /** Trades a refresh token for a new pair (rotating) or a new access token with the same refresh token. */
  refresh(token: string | undefined): ({ ok: true } & TokenPair & { subject: string }) | { ok: false; reason: 'unknown' | 'used' | 'expired' | 'revoked' } {
    const t = token ? this.refreshTokens.get(token) : undefined;
    if (!token || !t) return { ok: false, reason: 'unknown' };
    if (t.state !== 'ok') return { ok: false, reason: t.state };
    if (this.opts.rotate) {
      t.state = 'used';
      return { ok: true, subject: t.subject, ...this.issue(t.subject) };
    }
    const make = this.opts.make ?? (() => `AT-${randomBytes(18).toString('base64url')}`);
    const accessToken = make('access', t.subject);
    this.access.set(accessToken, { subject: t.subject, state: 'ok' });
    return { ok: true, subject: t.subject, accessToken, refreshToken: token };
  }

  expireAccess(): void {
    for (const t of this.access.values()) if (t.state === 'ok') t.state = 'expired';
  }

  expireRefresh(): void {
    for (const t of this.refreshTokens.values()) if (t.state === 'ok') t.state = 'expired';
  }

  revokeAll(): void {
    for (const t of this.access.values()) t.state = 'revoked';
    for (const t of this.refreshTokens.values()) t.state = 'revoked';
  }
}

export function bearerOf(req: SocialRequest): string | undefined {
  const h = req.headers.authorization;
  const m = /^Bearer\s+(.+)$/i.exec(Array.isArray(h) ? h[0] : (h ?? ''));
  return m?.[1];
}

export function headerOf(req: SocialRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// The server

export interface PlatformBehaviour {
  /** The platform's 429 saying come back after retryAfterSeconds (and its rate headers). */
  rateLimited(retryAfterSeconds: number, now: number): FakeReply;
  /** The platform's 5xx. */
  serverError(): FakeReply;
  handle(req: SocialRequest, tools: HandlerTools): HandlerAnswer | Promise<HandlerAnswer>;
  /** What expireTokens() and revoke() do to this platform's tokens. */
  expireTokens(): void;
  revoke(): void;
}

export interface HandlerTools {
  posts: SocialPost[];
  /** For a post about to be stored: undefined when the enforced window allows it, else seconds until it would. */
  admitPost(now: number): number | undefined;
  /** Whether to answer this stored post by dropping the connection. */
  takeDrop(): boolean;
  readonly detectDuplicates: boolean;
  /** The enforced window's limit and what remains (for rate headers), or undefined. */
  window(now: number): { limit: number; remaining: number; resetAt: number } | undefined;
}

/** Starts the HTTP server shared by the four fakes; the platform supplies its own shapes. */
export async function startSocialFake(behaviour: PlatformBehaviour): Promise<SocialFakeBase> {
  const posts: SocialPost[] = [];
  const requests: SocialRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let delay = 0;
  let answerDelay = 0;
  let rateLimit: { times: number; retryAfterSeconds: number } | undefined;
  let serverErrors = 0;
  let drops = 0;
  const respondQueue: FakeReply[] = [];
  let rule: { count: number; windowMs: number } | undefined;
  let postTimes: number[] = [];
  let duplicates = true;
  const holds: { match: (req: SocialRequest) => boolean; arrived: (req: SocialRequest) => void; released: Promise<void> }[] = [];

  const tools: HandlerTools = {
    posts,
    admitPost(now) {
      if (!rule) return undefined;
      postTimes = postTimes.filter((t) => now - t < rule!.windowMs);
      if (postTimes.length >= rule.count) {
        const oldest = postTimes[postTimes.length - rule.count];
        return Math.max(1, Math.ceil((oldest + rule.windowMs - now) / 1000));
      }
      postTimes.push(now);
      return undefined;
    },
    takeDrop() {
      if (drops > 0) {
        drops -= 1;
        return true;
      }
      return false;
    },
    get detectDuplicates() {
      return duplicates;
    },
    window(now) {
      if (!rule) return undefined;
      const live = postTimes.filter((t) => now - t < rule!.windowMs);
      return { limit: rule.count, remaining: Math.max(0, rule.count - live.length), resetAt: (live[0] ?? now) + rule.windowMs };
    },
  };

  const write = (res: ServerResponse, reply: FakeReply, record?: SocialRequest): void => {
    if (res.destroyed) {
      if (record && !record.outcome) record.outcome = { kind: 'client-gone', at: Date.now() };
      return;
    }
    if (record) record.outcome = { kind: 'answered', status: reply.status, at: Date.now() };
    const isText = typeof reply.body === 'string';
    const text = reply.body === undefined ? '' : isText ? (reply.body as string) : JSON.stringify(reply.body);
    const headers: Record<string, string> = { ...(reply.headers ?? {}) };
    if (reply.body !== undefined) headers['content-type'] ??= isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
    res.writeHead(reply.status, headers);
    res.end(text);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks);
        const full = new URL(req.url ?? '/', 'http://fake');
        const record: SocialRequest = {
          at: Date.now(),
          method: req.method ?? 'GET',
          path: full.pathname,
          query: full.searchParams,
          headers: req.headers,
          body: await parseBody(raw, req.headers['content-type']),
          raw,
          remotePort: req.socket.remotePort,
          stored: [],
        };
        requests.push(record);
        res.once('close', () => {
          if (!record.outcome && !res.writableFinished) record.outcome = { kind: 'client-gone', at: Date.now() };
        });
        const pause = (ms: number) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              timers.delete(t);
              resolve();
            }, ms);
            timers.add(t);
          });
        if (delay > 0) await pause(delay);
        const hold = holds.findIndex((x) => x.match(record));
        if (hold >= 0) {
          const [h] = holds.splice(hold, 1);
          h.arrived(record);
          await h.released;
        }
        if (res.destroyed) {
          record.outcome ??= { kind: 'client-gone', at: Date.now() };
          return;
        }
        const queued = respondQueue.shift();
        if (queued) return write(res, queued, record);
        if (serverErrors > 0) {
          serverErrors -= 1;
          return write(res, behaviour.serverError(), record);
        }
        if (rateLimit && rateLimit.times > 0) {
          rateLimit.times -= 1;
          const reply = behaviour.rateLimited(rateLimit.retryAfterSeconds, Date.now());
          if (rateLimit.times <= 0) rateLimit = undefined;
          return write(res, reply, record);
        }
        let answer: HandlerAnswer;
        const before = posts.length;
        try {
          answer = await behaviour.handle(record, tools);
        } catch (e) {
          answer = { status: 500, body: { error: 'fake handler crashed', message: String(e) } };
        }
        record.stored = posts.slice(before).map((p) => p.id);
        if (answer === DROP) {
          record.outcome = { kind: 'dropped', at: Date.now() };
          req.socket.destroy();
          return;
        }
        if (answerDelay > 0) await pause(answerDelay);
        write(res, answer, record);
      })();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    requests,
    rateLimitNext(times = 1, retryAfterSeconds = 60) {
      rateLimit = { times: Math.max(1, times), retryAfterSeconds };
    },
    enforceRateLimit(count, windowMs) {
      rule = { count, windowMs };
    },
    clearRateLimit() {
      rule = undefined;
    },
    expireTokens() {
      behaviour.expireTokens();
    },
    revoke() {
      behaviour.revoke();
    },
    acceptThenDrop(times = 1) {
      drops += Math.max(1, times);
    },
    serverErrorNext(times = 1) {
      serverErrors += Math.max(1, times);
    },
    respondNext(reply) {
      respondQueue.push(reply);
    },
    slow(ms) {
      delay = Math.max(0, ms);
    },
    slowAnswer(ms) {
      answerDelay = Math.max(0, ms);
    },
    detectDuplicates(on) {
      duplicates = on;
    },
    holdNext(match) {
      let arrived!: (req: SocialRequest) => void;
      let release!: () => void;
      const reached = new Promise<SocialRequest>((r) => (arrived = r));
      const released = new Promise<void>((r) => (release = r));
      holds.push({ match, arrived, released });
      return { reached, release };
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

async function parseBody(raw: Buffer, contentType: string | undefined): Promise<unknown> {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.startsWith('multipart/form-data')) {
    try {
      return await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType as string } }).formData();
    } catch {
      return raw.toString('utf8');
    }
  }
  const text = raw.toString('utf8');
  if (ct.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  if (ct.startsWith('image/') || ct.startsWith('application/octet-stream')) return raw;
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A numeric id that counts up, as a string (X and Mastodon ids are 64-bit numbers sent as strings). */
export function snowflakes(start: bigint): () => string {
  let n = start;
  return () => {
    n += 1n;
    return n.toString();
  };
}

// ---------------------------------------------------------------------------------------------
// Public images

/** A 1x1 PNG. */
export const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

export interface ImageHost {
  url: string;
  /** The public URL of an image named `name` (its bytes differ per name). */
  imageUrl(name: string): string;
  /** Paths fetched, in order. */
  fetched: string[];
  /** The next `times` fetches answer this status. */
  failNext(status: number, times?: number): void;
  close(): Promise<void>;
}

/** Serves PNG bytes at /images/{name}: what a Herald public media URL looks like to a platform's uploader. */
export async function startImageHost(): Promise<ImageHost> {
  const fetched: string[] = [];
  const failures: number[] = [];
  const server = createServer((req, res) => {
    fetched.push(req.url ?? '/');
    const fail = failures.shift();
    if (fail !== undefined) {
      res.writeHead(fail, { 'content-type': 'text/plain' });
      res.end('failed');
      return;
    }
    const m = /^\/images\/([^/?]+)/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const bytes = Buffer.concat([TINY_PNG, Buffer.from(decodeURIComponent(m[1]))]);
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(bytes.length) });
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    imageUrl: (name) => `${url}/images/${encodeURIComponent(name)}`,
    fetched,
    failNext(status, times = 1) {
      for (let i = 0; i < times; i++) failures.push(status);
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
