// What the AI-provider imitation servers (openai-, anthropic-, gemini-server.ts) share: the HTTP server on 127.0.0.1
// (port 0), request recording, the switches tests flip (FakeControl), a strict sliding-window rate limiter, and the
// deterministic post a "model" writes from the prompt. Each provider file supplies only its own shapes: paths, auth,
// success bodies, error bodies and headers.
//
// Order of decisions for every request: failNext / failAlways -> the provider's own checks (path, key, body) ->
// the rate limit -> success. `accepted` counts answered completions (they also count in the rate window); `refused`
// counts everything else (errors, 429s, hangs, drops, malformed answers). `requests` records every request.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FailureKind =
  | 'rate_limit'
  | 'insufficient_quota'
  | 'quota_per_day'
  | 'spend_limit'
  | 'server_error'
  | 'overloaded'
  | 'malformed_json'
  | 'hang'
  | 'drop'
  | 'bad_key';

/** Kinds answered with an HTTP error in the provider's own shape. */
export type HttpFailureKind = Exclude<FailureKind, 'malformed_json' | 'hang' | 'drop'>;

export interface FailOptions {
  /** For 'rate_limit': the Retry-After (seconds) sent; each fake has a realistic default. */
  retryAfterSeconds?: number;
  /** For 'rate_limit' on the OpenAI fake: also send `retry-after-ms`. */
  retryAfterMs?: number;
  /** Send the kind's body with this status instead (e.g. Anthropic's spend limit as 429 instead of the observed 400). */
  status?: number;
}

export interface RateLimitRule {
  /** At most this many accepted requests in any interval of windowMs. */
  requests: number;
  windowMs: number;
  /** At most this many tokens (prompt estimate + requested max tokens) in any interval of windowMs. */
  tokens?: number;
}

export interface FakeControl {
  /** Refuses, with the provider's real 429, any request that would put more than the rule allows in any windowMs. */
  enforceRateLimit(rule: RateLimitRule): void;
  /** Stops refusing (headers go back to the provider's nominal limits). Accepted requests stay in the history. */
  clearRateLimit(): void;
  /** The next `times` requests fail this way (queued after earlier failNext calls). */
  failNext(kind: FailureKind, times?: number, opts?: FailOptions): void;
  /** Every request fails this way until recover(). */
  failAlways(kind: FailureKind, opts?: FailOptions): void;
  /** Clears failNext and failAlways. */
  recover(): void;
  /** Answers (successes and errors) wait this long first. 0 for immediate. */
  delayMs(ms: number): void;
  /**
   * What the model "writes": an object is sent as its JSON text, a string as is (for non-JSON answers).
   * undefined goes back to the default post built from the prompt.
   */
  respondWith(content: unknown): void;
}

export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  body: unknown;
  /** Set when the client closed the connection before the answer was sent (a cancelled or killed caller). */
  abandonedAt?: number;
}

export interface FakeAiServer {
  /** Base URL such as http://127.0.0.1:40123 (what the adapters take as baseUrl). */
  url: string;
  requests: RecordedRequest[];
  readonly accepted: number;
  readonly refused: number;
  control: FakeControl;
  close(): Promise<void>;
}

/** An answer: JSON `body`, or `raw` text sent as is. */
export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  raw?: string;
}

export interface WindowSnapshot {
  limit: number;
  remaining: number;
  /** ms until the window is fully replenished (what the providers' reset headers mean). */
  resetMs: number;
}

/** The limits as they stand, for the providers' rate headers. */
export interface RateSnapshot {
  requests: WindowSnapshot;
  tokens: WindowSnapshot;
  inputTokens: WindowSnapshot;
  outputTokens: WindowSnapshot;
  windowMs: number;
}

export interface RateRefusal {
  kind: 'requests' | 'tokens';
  /** ms until the request would be accepted. */
  retryAfterMs: number;
  limit: number;
  used: number;
  requested: number;
  snapshot: RateSnapshot;
}

/** What a request asks of the model, read by the provider file. */
export interface PromptInfo {
  model: string;
  system: string;
  user: string;
  maxTokens: number;
}

export interface ProviderBehaviour {
  /** The nominal limits reported in headers when no rule is enforced. */
  nominal: Required<RateLimitRule>;
  /** Path, method, key and body checks; an answer here refuses the request. Otherwise what the request asks. */
  check(req: RecordedRequest): FakeReply | PromptInfo;
  success(req: RecordedRequest, prompt: PromptInfo, content: string, usage: FakeUsage, rate: RateSnapshot): FakeReply;
  rateLimited(req: RecordedRequest, prompt: PromptInfo, refusal: RateRefusal): FakeReply;
  failure(kind: HttpFailureKind, req: RecordedRequest, opts: FailOptions, rate: RateSnapshot): FakeReply;
  /** A 200 whose body is cut short. */
  malformed(): string;
}

export interface FakeUsage {
  inputTokens: number;
  outputTokens: number;
  /** The content was cut at the requested max tokens. */
  truncated: boolean;
}

/** Roughly 4 characters a token, as the providers' own rules of thumb say. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

// ---------------------------------------------------------------------------------------------
// The rate window

interface Admitted {
  at: number;
  input: number;
  output: number;
}

/** A strict sliding window: no interval of windowMs (ends included) ever holds more than the rule allows. */
class SlidingWindow {
  private events: Admitted[] = [];

  constructor(private readonly nominal: Required<RateLimitRule>) {}

  /** undefined when the request fits (and it is recorded), else why not. */
  admit(rule: RateLimitRule | undefined, now: number, input: number, output: number): RateRefusal | undefined {
    this.prune(now);
    if (rule) {
      const live = this.inWindow(rule.windowMs, now);
      if (live.length >= rule.requests) {
        // The request fits once the oldest of the last `requests` accepted ones has left every window it shares.
        const oldest = rule.requests > 0 ? live[live.length - rule.requests] : undefined;
        return {
          kind: 'requests',
          retryAfterMs: oldest ? oldest.at + rule.windowMs + 1 - now : rule.windowMs,
          limit: rule.requests,
          used: live.length,
          requested: 1,
          snapshot: this.snapshot(rule, now),
        };
      }
      if (rule.tokens !== undefined) {
        const cost = input + output;
        let used = live.reduce((s, e) => s + e.input + e.output, 0);
        if (used + cost > rule.tokens) {
          const total = used;
          let retryAfterMs = rule.windowMs + 1;
          for (const e of live) {
            used -= e.input + e.output;
            if (used + cost <= rule.tokens) {
              retryAfterMs = e.at + rule.windowMs + 1 - now;
              break;
            }
          }
          return { kind: 'tokens', retryAfterMs, limit: rule.tokens, used: total, requested: cost, snapshot: this.snapshot(rule, now) };
        }
      }
    }
    this.events.push({ at: now, input, output });
    return undefined;
  }

  snapshot(rule: RateLimitRule | undefined, now: number): RateSnapshot {
    const r = { ...this.nominal, ...(rule ?? {}) } as Required<RateLimitRule>;
    if (rule && rule.tokens === undefined) r.tokens = this.nominal.tokens;
    const live = this.inWindow(r.windowMs, now);
    const newest = live[live.length - 1];
    const resetMs = newest ? Math.max(0, newest.at + r.windowMs + 1 - now) : 0;
    const sum = (f: (e: Admitted) => number) => live.reduce((s, e) => s + f(e), 0);
    const win = (limit: number, used: number): WindowSnapshot => ({ limit, remaining: Math.max(0, limit - used), resetMs });
    return {
      requests: win(r.requests, live.length),
      tokens: win(r.tokens, sum((e) => e.input + e.output)),
      inputTokens: win(r.tokens, sum((e) => e.input)),
      outputTokens: win(r.tokens, sum((e) => e.output)),
      windowMs: r.windowMs,
    };
  }

  private inWindow(windowMs: number, now: number): Admitted[] {
    return this.events.filter((e) => now - e.at <= windowMs);
  }

  private prune(now: number): void {
    const keep = Math.max(this.nominal.windowMs, 10 * 60_000);
    this.events = this.events.filter((e) => now - e.at <= keep);
  }
}

// ---------------------------------------------------------------------------------------------
// The server

interface QueuedFailure {
  kind: FailureKind;
  opts: FailOptions;
  remaining: number;
}

export async function startFakeAiServer(behaviour: ProviderBehaviour): Promise<FakeAiServer> {
  const requests: RecordedRequest[] = [];
  let accepted = 0;
  let refused = 0;
  const queue: QueuedFailure[] = [];
  let always: { kind: FailureKind; opts: FailOptions } | undefined;
  let rule: RateLimitRule | undefined;
  let delay = 0;
  let content: unknown;
  const window = new SlidingWindow(behaviour.nominal);
  const timers = new Set<NodeJS.Timeout>();

  const send = (res: ServerResponse, reply: FakeReply): void => {
    const write = (): void => {
      if (res.destroyed) return;
      const text = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...(reply.headers ?? {}) });
      res.end(text);
    };
    if (delay <= 0) return write();
    const t = setTimeout(() => {
      timers.delete(t);
      write();
    }, delay);
    timers.add(t);
  };

  const nextFailure = (): { kind: FailureKind; opts: FailOptions } | undefined => {
    const head = queue[0];
    if (head) {
      head.remaining -= 1;
      if (head.remaining <= 0) queue.shift();
      return head;
    }
    return always;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      const now = Date.now();
      const record: RecordedRequest = { at: now, method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body };
      requests.push(record);
      res.once('close', () => {
        if (!res.writableFinished) record.abandonedAt = Date.now();
      });

      const failure = nextFailure();
      if (failure) {
        refused++;
        if (failure.kind === 'hang') return; // no answer; close() ends the socket
        if (failure.kind === 'drop') {
          req.socket.destroy();
          return;
        }
        if (failure.kind === 'malformed_json') return send(res, { status: 200, raw: behaviour.malformed() });
        return send(res, behaviour.failure(failure.kind, record, failure.opts, window.snapshot(rule, now)));
      }

      const checked = behaviour.check(record);
      if ('status' in checked) {
        refused++;
        return send(res, checked);
      }
      const prompt = checked;
      const text = typeof content === 'string' ? content : JSON.stringify(content ?? defaultPost(prompt));
      const inputTokens = estimateTokens(prompt.system) + estimateTokens(prompt.user);
      const refusal = window.admit(rule, now, inputTokens, prompt.maxTokens);
      if (refusal) {
        refused++;
        return send(res, behaviour.rateLimited(record, prompt, refusal));
      }
      accepted++;
      // A model stops at the requested max tokens: the text is cut there.
      const limitChars = prompt.maxTokens * 4;
      const truncated = text.length > limitChars;
      const written = truncated ? text.slice(0, limitChars) : text;
      const usage: FakeUsage = { inputTokens, outputTokens: truncated ? prompt.maxTokens : estimateTokens(written), truncated };
      send(res, behaviour.success(record, prompt, written, usage, window.snapshot(rule, now)));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const control: FakeControl = {
    enforceRateLimit(r) {
      if (!(r.requests >= 0) || !(r.windowMs > 0)) throw new Error('enforceRateLimit needs requests >= 0 and windowMs > 0');
      rule = { ...r };
    },
    clearRateLimit() {
      rule = undefined;
    },
    failNext(kind, times = 1, opts = {}) {
      queue.push({ kind, opts, remaining: Math.max(1, times) });
    },
    failAlways(kind, opts = {}) {
      always = { kind, opts };
    },
    recover() {
      queue.length = 0;
      always = undefined;
    },
    delayMs(ms) {
      delay = Math.max(0, ms);
    },
    respondWith(c) {
      content = c;
    },
  };

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get accepted() {
      return accepted;
    },
    get refused() {
      return refused;
    },
    control,
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

// ---------------------------------------------------------------------------------------------
// What the "model" writes

/** The topic from a Herald prompt ("Topic: ..."), else the start of the user message. */
export function topicOf(user: string): string {
  const m = /^Topic:\s*(.+)$/m.exec(user);
  return (m ? m[1] : user.split('\n')[0] ?? '').trim().slice(0, 120) || 'Untitled';
}

function formatOf(user: string): 'post' | 'thread' | 'article' {
  const m = /^Format:\s*(post|thread|article)\b/m.exec(user);
  return (m?.[1] as 'post' | 'thread' | 'article' | undefined) ?? 'post';
}

/** A deterministic post built from the prompt: the same prompt always gives the same JSON. */
export function defaultPost(prompt: PromptInfo): { title: string; body: string; hashtags: string[] } {
  const topic = topicOf(prompt.user);
  const format = formatOf(prompt.user);
  const title = topic.replace(/^\p{Ll}/u, (c) => c.toUpperCase());
  const sentences = [
    `Here is a short look at ${topic}.`,
    `The basics of ${topic} are simpler than they seem, and a few ideas go a long way.`,
    `Start small, measure what changes, and keep what works.`,
    `Teams that share what they learn about ${topic} move faster together.`,
    `The trade-offs matter as much as the benefits, so weigh both before committing.`,
    `What is your experience with ${topic}? Share it below.`,
  ];
  let body: string;
  if (format === 'thread') body = sentences.join('\n\n');
  else if (format === 'article') {
    body = [
      `${sentences[0]} ${sentences[1]}`,
      `${sentences[2]} Small experiments are cheap, and they show quickly whether an idea holds up in practice.`,
      `${sentences[3]} Writing things down helps everyone build on the same ground.`,
      `${sentences[4]} No approach fits every situation.`,
      `In short: stay curious and practical. ${sentences[5]}`,
    ].join('\n\n');
  } else body = `${sentences[0]} ${sentences[1]}\n\n${sentences[5]}`;
  const words = (topic.match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length >= 4);
  const camel = words
    .slice(0, 3)
    .map((w) => w[0].toUpperCase() + w.slice(1).toLowerCase())
    .join('');
  const seen = new Set<string>();
  const hashtags = [camel, ...words.map((w) => w.toLowerCase())]
    .filter((t) => t && !seen.has(t.toLowerCase()) && seen.add(t.toLowerCase()))
    .slice(0, 4);
  return { title, body, hashtags: hashtags.length ? hashtags : ['ideas'] };
}

/** A short request id in the provider's style, counting up (deterministic within a server). */
export function idMaker(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}${(++n).toString(36).padStart(8, '0')}fake`;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A header value as one string. */
export function header(req: RecordedRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
