// Sliding-window logs in Redis, shared by every worker process. One Lua script checks every window of a provider and
// records the grant atomically, on the Redis clock (TIME), so processes on different hosts agree on time.
//
// Keys (the {provider} hash tag keeps one provider's keys in one cluster slot):
//   <prefix>rl:{<provider>}:req    ZSET  one member per request unit: "<id>" or "<id>#<n>", score = grant time (ms)
//   <prefix>rl:{<provider>}:tok    ZSET  one member per grant: "<id>|<tokens>", score = grant time (ms)
//   <prefix>rl:{<provider>}:block  STRING "<until ms>|<reason>", PX until then (429 Retry-After, 0 remaining)
//   <prefix>rl:{<provider>}:seen   STRING JSON RateInfo: what the provider last reported about its limits
//   <prefix>rl:{<provider>}:t:<ticket>  STRING "<reservation> <seq> <lease end ms>": the slot a ticket holds (its entries
//                                  are in req/tok at the slot's time), its place in line and when its lease runs out
//   <prefix>rl:{<provider>}:q      ZSET  the line: one member per reserved slot not yet claimed, "<id>", score = seq
//   <prefix>rl:{<provider>}:qexp   ZSET  the same members, score = lease end (ms): expired ones are freed
//   <prefix>rl:{<provider>}:seq    STRING counter handing out places in line
import type Redis from 'ioredis';
import { LuaScript, readLua } from './redis-client';
import type { LogEntry, TicketEntry } from './rate-limiter-memory';
import {
  exhaustedReason,
  exhaustedUntil,
  iso,
  maxSpan,
  normaliseCost,
  parseReservation,
  randomSuffix,
  refusalReason,
  reportedWindows,
  reservedReason,
  ticketLeaseMs,
  ticketOf, slotGap } from './rate-limiter-common';
import { formatWindow, type AcquireCost, type AcquireResult, type LimitKind, type LimiterSnapshot, type LimitWindow, type ProviderLimits, type RateLimiter, type WindowSnapshot, type RateInfo } from './types';

// The scripts live in lua/ (each file says its KEYS, ARGV and answer); the shared pieces (the clock, the line's
// bookkeeping) come first.
const ACQUIRE = new LuaScript(readLua('clock', 'cost-of', 'extend', 'line', 'limiter-acquire'));
const SETTLE = new LuaScript(readLua('clock', 'extend', 'limiter-settle'));
const BLOCK = new LuaScript(readLua('clock', 'limiter-block'));
const SNAPSHOT = new LuaScript(readLua('clock', 'cost-of', 'line', 'limiter-snapshot'));
const IMPORT = new LuaScript(readLua('clock', 'extend', 'limiter-import'));
const IMPORT_TICKETS = new LuaScript(readLua('clock', 'limiter-import-tickets'));

export interface RedisRateLimiterOptions {
  redis: Redis;
  keyPrefix: string;
  limitsFor: (provider: string) => ProviderLimits;
  marginMs: number;
  /** Space reserved slots at the limit's pace (see slotGap). */
  spacing?: boolean;
  /** Told the Redis clock after every script, so in-process state can use the same clock. */
  onRedisTime?: (redisNowMs: number) => void;
  /** Tests only: a fake clock (ms) instead of the Redis server's TIME. */
  now?: () => number;
}

/** How long the provider's report is kept for snapshots. */
const SEEN_TTL_MS = 3_600_000;

function windowArgs(windows: LimitWindow[]): number[] {
  return [windows.length, ...windows.flatMap((w) => [w.count, w.windowMs])];
}

export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly opts: RedisRateLimiterOptions) {}

  keys(provider: string): { req: string; tok: string; block: string; seen: string; q: string; qexp: string; seq: string } {
    const base = `${this.opts.keyPrefix}rl:{${provider}}:`;
    return { req: `${base}req`, tok: `${base}tok`, block: `${base}block`, seen: `${base}seen`, q: `${base}q`, qexp: `${base}qexp`, seq: `${base}seq` };
  }

  /** ARGV[1] of every script: '' for the Redis clock. */
  private clock(): string | number {
    return this.opts.now ? Math.floor(this.opts.now()) : '';
  }

  ticketKey(provider: string, ticket: string): string {
    return `${this.opts.keyPrefix}rl:{${provider}}:t:${ticket}`;
  }

  async acquire(provider: string, cost: AcquireCost): Promise<AcquireResult> {
    return (await this.acquireDetailed(provider, cost)).result;
  }

  /** acquire(), plus the slot reserved for the cost's ticket when the answer is "come back then" (for the fallback copy). */
  async acquireDetailed(provider: string, cost: AcquireCost): Promise<{ result: AcquireResult; reserved: string | null }> {
    const limits = this.opts.limitsFor(provider);
    const { requests, tokens } = normaliseCost(cost);
    const t = ticketOf(cost);
    const k = this.keys(provider);
    const keys = [k.req, k.tok, k.block, k.q, k.qexp, k.seq];
    if (t) keys.push(this.ticketKey(provider, t.ticket));
    const r = (await ACQUIRE.run(this.opts.redis, keys, [
      this.clock(),
      requests,
      tokens,
      this.opts.marginMs,
      randomSuffix(),
      maxSpan(limits, this.opts.marginMs),
      t ? Math.min(t.maxWaitMs, Number.MAX_SAFE_INTEGER) : '',
      ticketLeaseMs(limits),
      slotGap(limits, this.opts.spacing ?? false),
      ...windowArgs(limits.requests),
      ...windowArgs(limits.tokens),
    ])) as [number, number | string, string, string, number, number, number, number];
    const now = Number(r[7]);
    this.opts.onRedisTime?.(now);
    if (Number(r[0]) === 1) return { result: { ok: true, reservation: String(r[1]) }, reserved: null };
    const wait = Number(r[1]);
    if (Number(r[0]) === 2) return { result: { ok: false, retryAfterMs: wait, reason: reservedReason(provider, Date.now() + wait) }, reserved: String(r[2]) };
    return { result: this.refusal(provider, limits, r, wait), reserved: null };
  }

  private refusal(provider: string, limits: ProviderLimits, r: [number, number | string, string, string, number, number, number, number], wait: number): AcquireResult {
    if (!r[3]) return { ok: false, retryAfterMs: wait, reason: r[2] || `${provider}: blocked` };
    const kind = r[3] as LimitKind;
    const window = limits[kind][Number(r[4]) - 1];
    return { ok: false, retryAfterMs: wait, reason: refusalReason(provider, kind, window, Number(r[5]), Number(r[6])) };
  }

  async settle(provider: string, reservation: string, actualTokens: number): Promise<void> {
    const r = parseReservation(reservation);
    const limits = this.opts.limitsFor(provider);
    if (!r || !Number.isFinite(actualTokens) || limits.tokens.length === 0) return;
    const now = await SETTLE.run(this.opts.redis, [this.keys(provider).tok], [this.clock(), r.id, r.at, Math.max(0, Math.ceil(actualTokens)), maxSpan(limits, this.opts.marginMs)]);
    this.opts.onRedisTime?.(Number(now));
  }

  async learn(provider: string, info: RateInfo): Promise<void> {
    const sentAt = Date.now();
    const ex = exhaustedUntil(info, sentAt, this.opts.limitsFor(provider));
    const k = this.keys(provider);
    const seen = JSON.stringify({ windows: info.windows ?? [] });
    const args = ex ? [ex.until, sentAt, exhaustedReason(provider, ex.kind, ex.until)] : ['', sentAt, ''];
    const now = await BLOCK.run(this.opts.redis, [k.block, k.seen], [this.clock(), ...args, seen, SEEN_TTL_MS]);
    this.opts.onRedisTime?.(Number(now));
  }

  async blockUntil(provider: string, epochMs: number, reason: string): Promise<void> {
    const k = this.keys(provider);
    const now = await BLOCK.run(this.opts.redis, [k.block, k.seen], [this.clock(), Math.ceil(epochMs), Date.now(), reason, '', 0]);
    this.opts.onRedisTime?.(Number(now));
  }

  async snapshot(provider: string): Promise<LimiterSnapshot> {
    const limits = this.opts.limitsFor(provider);
    const k = this.keys(provider);
    const r = (await SNAPSHOT.run(this.opts.redis, [k.req, k.tok, k.block, k.q, k.qexp, k.seen], [this.clock(), this.opts.marginMs, ...windowArgs(limits.requests), ...windowArgs(limits.tokens)])) as (
      | number
      | string
    )[];
    const now = Number(r[0]);
    this.opts.onRedisTime?.(now);
    const toLocal = (redisMs: number) => redisMs - now + Date.now();
    const windows: WindowSnapshot[] = [];
    let i = 3;
    for (const kind of ['requests', 'tokens'] as const) {
      for (const w of limits[kind]) {
        const used = Number(r[i]);
        const resetAt = Number(r[i + 1]);
        i += 2;
        windows.push({
          kind,
          limit: w.count,
          used,
          remaining: Math.max(0, w.count - used),
          resetAt: used > 0 ? iso(toLocal(resetAt)) : null,
          window: formatWindow(w.windowMs),
          source: 'configured',
        });
      }
    }
    let reported: RateInfo | null;
    try {
      reported = r[2] ? (JSON.parse(String(r[2])) as RateInfo) : null;
    } catch {
      reported = null;
    }
    windows.push(...reportedWindows(reported));
    const block = String(r[1]);
    const sep = block.indexOf('|');
    const until = sep > 0 ? Number(block.slice(0, sep)) : NaN;
    const blocked = Number.isFinite(until) && until > now;
    return { windows, blockedUntil: blocked ? iso(toLocal(until)) : null, blockedReason: blocked ? block.slice(sep + 1) : null };
  }

  /** Copies this process's in-memory log and block into Redis (after an outage). Entry times are on the Redis clock. */
  async importState(provider: string, state: { entries: LogEntry[]; block: { until: number; reason: string } | null; tickets?: TicketEntry[] }): Promise<void> {
    const limits = this.opts.limitsFor(provider);
    const k = this.keys(provider);
    const keep = maxSpan(limits, this.opts.marginMs);
    const head = [this.clock(), keep, limits.requests.length ? '1' : '0', limits.tokens.length ? '1' : '0', state.block ? Math.ceil(state.block.until) : '', state.block?.reason ?? ''];
    const entries = state.entries.flatMap((e) => [e.id, e.at, e.requests, e.tokens]);
    // Chunks keep each script call short.
    for (let i = 0; i < Math.max(entries.length, 1); i += 4000) {
      await IMPORT.run(this.opts.redis, [k.req, k.tok, k.block], [...head, ...entries.slice(i, i + 4000)]);
    }
    const tickets = [...(state.tickets ?? [])].sort((a, b) => a.seq - b.seq);
    for (let i = 0; i < tickets.length; i += 1000) {
      const chunk = tickets.slice(i, i + 1000);
      await IMPORT_TICKETS.run(
        this.opts.redis,
        [k.q, k.qexp, k.seq, ...chunk.map((x) => this.ticketKey(provider, x.ticket))],
        [this.clock(), ...chunk.flatMap((x) => [x.reservation, Math.ceil(x.expiresAt)])],
      );
    }
  }
}
