// Sliding-window logs in Redis, shared by every worker process. One Lua script checks every window of a provider and
// records the grant atomically, on the Redis clock (TIME), so processes on different hosts agree on time.
//
// Keys (the {provider} hash tag keeps one provider's keys in one cluster slot):
//   <prefix>rl:{<provider>}:req    ZSET  one member per request unit: "<id>" or "<id>#<n>", score = grant time (ms)
//   <prefix>rl:{<provider>}:tok    ZSET  one member per grant: "<id>|<tokens>", score = grant time (ms)
//   <prefix>rl:{<provider>}:block  STRING "<until ms>|<reason>", PX until then (429 Retry-After, 0 remaining)
//   <prefix>rl:{<provider>}:seen   STRING JSON RateInfo: what the provider last reported about its limits
//   <prefix>rl:{<provider>}:t:<ticket>  STRING the reservation held for a ticket (its entries are in req/tok at a future
//                                  time), PX until that time + the longest window + 60 s
import type Redis from 'ioredis';
import type { RateInfo } from '../providers/rate-info';
import { LUA_NOW, LuaScript } from './redis-client';
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
  TICKET_GRACE_MS,
  ticketOf, slotGap } from './rate-limiter-common';
import { formatWindow, type AcquireCost, type AcquireResult, type LimitKind, type LimiterSnapshot, type LimitWindow, type ProviderLimits, type RateLimiter, type WindowSnapshot } from './types';

const COST_OF = `local function costOf(member) return tonumber(string.match(member, '|(%d+)$')) or 0 end`;

// Lengthens a key's TTL to at least ms, never shortens it: reserved slots keep a log alive beyond the longest window.
const EXTEND = `local function extend(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, string.format('%d', ms)) end
end`;

// KEYS: req, tok, block[, ticket]. ARGV: reqCost, tokCost, marginMs, random, keepMs, maxWaitMs ('' without a ticket),
// nReq, (count, windowMs)*, nTok, (count, windowMs)*
// Returns {1, reservation, '', '', 0, 0, 0, now} (granted), {2, waitMs, reservation, '', 0, 0, 0, now} (refused, the
// ticket holds the slot at now + waitMs) or {0, waitMs, blockReason, kind, windowIndex, used, need, now} (refused).
const ACQUIRE = new LuaScript(`${LUA_NOW}
${COST_OF}
${EXTEND}
local margin = tonumber(ARGV[3])
local keep = tonumber(ARGV[5])
local ticketKey = KEYS[4]
local held = false
local heldAt = nil
if ticketKey then
  held = redis.call('GET', ticketKey)
  if held then heldAt = tonumber(string.match(held, '^(%d+)%-')) end
  if not heldAt then held = false end
end
local block = redis.call('GET', KEYS[3])
-- Blocked (a 429 or a report of 0 remaining): a slot already held is kept and told whichever comes later; a new ticket
-- reserves its own slot after the block, so a crowd of waiters does not stampede when it lifts.
local floor = 0
local blockReason = ''
if block then
  local sep = string.find(block, '|', 1, true)
  local untilMs = tonumber(string.sub(block, 1, sep - 1))
  if untilMs and untilMs > now then
    blockReason = string.sub(block, sep + 1)
    if held or not ticketKey then
      local wait = untilMs - now
      if held and heldAt - now > wait then wait = heldAt - now end
      return {0, wait, blockReason, '', 0, 0, 0, now}
    end
    floor = untilMs
  end
end
local cutoff = string.format('%d', now - keep)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', cutoff)
if held then
  if heldAt > now then return {2, heldAt - now, held, '', 0, 0, 0, now} end
  redis.call('DEL', ticketKey)
  -- Its entries are already in the logs at its own time. Later than the margin, the slot is stale: give it up, ask afresh.
  if now - heldAt <= margin then return {1, held, '', '', 0, 0, 0, now} end
  local id = string.match(held, '^([^|]+)')
  local at = string.format('%d', heldAt)
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], at, at)) do
    if m == id or string.sub(m, 1, #id + 1) == id .. '#' then redis.call('ZREM', KEYS[1], m) end
  end
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], at, at)) do
    if string.sub(m, 1, #id + 1) == id .. '|' then redis.call('ZREM', KEYS[2], m) end
  end
end
local reqCost = tonumber(ARGV[1])
local tokCost = tonumber(ARGV[2])
local worst = {0, '', 0, 0, 0}
local function consider(wait, kind, w, used, need)
  if wait < 1 then wait = 1 end
  if wait > worst[1] then worst = {wait, kind, w, used, need} end
end
local i = 8
local nReq = tonumber(ARGV[7])
for w = 1, nReq do
  local count = tonumber(ARGV[i])
  local span = tonumber(ARGV[i + 1]) + margin
  i = i + 2
  if reqCost > 0 then
    local lo = '(' .. string.format('%d', now - span)
    local used = redis.call('ZCOUNT', KEYS[1], lo, '+inf')
    local need = math.min(reqCost, count)
    if used + need > count then
      local e = redis.call('ZRANGEBYSCORE', KEYS[1], lo, '+inf', 'WITHSCORES', 'LIMIT', used + need - count - 1, 1)
      consider(tonumber(e[2]) + span - now, 'requests', w, used, need)
    end
  end
end
local nTok = tonumber(ARGV[i])
i = i + 1
for w = 1, nTok do
  local count = tonumber(ARGV[i])
  local span = tonumber(ARGV[i + 1]) + margin
  i = i + 2
  local lo = '(' .. string.format('%d', now - span)
  local e = redis.call('ZRANGEBYSCORE', KEYS[2], lo, '+inf', 'WITHSCORES')
  local used = 0
  for j = 1, #e, 2 do used = used + costOf(e[j]) end
  local need = math.min(math.max(tokCost, 1), count)
  if used + need > count then
    local excess = used + need - count
    local freed = 0
    for j = 1, #e, 2 do
      freed = freed + costOf(e[j])
      if freed >= excess then
        consider(tonumber(e[j + 1]) + span - now, 'tokens', w, used, need)
        break
      end
    end
  end
end
local function record(atMs, ttl)
  local at = string.format('%d', atMs)
  local id = at .. '-' .. ARGV[4]
  if nReq > 0 and reqCost > 0 then
    for k = 0, reqCost - 1 do
      local m = id
      if k > 0 then m = id .. '#' .. k end
      redis.call('ZADD', KEYS[1], at, m)
    end
    extend(KEYS[1], ttl)
  end
  if nTok > 0 and tokCost > 0 then
    redis.call('ZADD', KEYS[2], at, id .. '|' .. ARGV[2])
    extend(KEYS[2], ttl)
  end
  return id .. '|' .. ARGV[2]
end
-- The last argument: the pace (0: none; see slotGap). Paced, a call goes at most one gap after the latest one, so a
-- sliding window fills evenly instead of in a burst followed by a window of silence.
local gap = tonumber(ARGV[#ARGV])
if gap > 0 and reqCost > 0 and nReq > 0 then
  local latest = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if latest[2] and tonumber(latest[2]) + gap > now then consider(tonumber(latest[2]) + gap - now, 'requests', 1, 0, 0) end
end
if worst[1] == 0 and floor == 0 then return {1, record(now, keep + 1000), '', '', 0, 0, 0, now} end
if not ticketKey then return {0, worst[1], '', worst[2], worst[3], worst[4], worst[5], now} end
-- The earliest slot at or after every entry (reservations stay in order, so no later window can break) where the call
-- fits every window: for each, the entry at which the newest entries' sum would exceed what the call leaves room for
-- must have left it.
local slot = now + 1
if floor > slot then slot = floor end
for n, key in ipairs({KEYS[1], KEYS[2]}) do
  local last = redis.call('ZREVRANGE', key, 0, 0, 'WITHSCORES')
  if last[2] then
    local after = tonumber(last[2])
    if n == 1 and after + gap > now then after = after + gap end
    if after > slot then slot = after end
  end
end
i = 8
for w = 1, nReq do
  local count = tonumber(ARGV[i])
  local span = tonumber(ARGV[i + 1]) + margin
  i = i + 2
  if reqCost > 0 then
    local k = count - math.min(reqCost, count)
    local e = redis.call('ZREVRANGE', KEYS[1], k, k, 'WITHSCORES')
    if e[2] and tonumber(e[2]) + span > slot then slot = tonumber(e[2]) + span end
  end
end
i = i + 1
for w = 1, nTok do
  local count = tonumber(ARGV[i])
  local span = tonumber(ARGV[i + 1]) + margin
  i = i + 2
  local budget = count - math.min(math.max(tokCost, 1), count)
  local e = redis.call('ZREVRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  local sum = 0
  for j = 1, #e, 2 do
    sum = sum + costOf(e[j])
    if sum > budget then
      if tonumber(e[j + 1]) + span > slot then slot = tonumber(e[j + 1]) + span end
      break
    end
  end
end
local wait = slot - now
-- Too far ahead: refuse without reserving; waitMs (> maxWaitMs) says when the slot would have been.
if wait > tonumber(ARGV[6]) then return {0, wait, blockReason, worst[2], worst[3], worst[4], worst[5], now} end
local reservation = record(slot, wait + keep + 1000)
redis.call('SET', ticketKey, reservation, 'PX', string.format('%d', wait + keep + ${TICKET_GRACE_MS}))
return {2, wait, reservation, '', 0, 0, 0, now}`);

// KEYS: tok. ARGV: id, grantAt, actualTokens, keepMs. Rewrites the grant's token entry in place (same score).
const SETTLE = new LuaScript(`${LUA_NOW}
${EXTEND}
local prefix = ARGV[1] .. '|'
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[2])) do
  if string.sub(m, 1, #prefix) == prefix then redis.call('ZREM', KEYS[1], m) end
end
if tonumber(ARGV[3]) > 0 and tonumber(ARGV[2]) > now - tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], prefix .. ARGV[3])
  extend(KEYS[1], tonumber(ARGV[4]) + 1000)
end
return now`);

// KEYS: block, seen. ARGV: untilMs ('' for none) on the sender's clock, sender's now, reason, seenJson ('' for none), seenTtlMs.
// The block only ever moves later.
const BLOCK = new LuaScript(`${LUA_NOW}
if ARGV[4] ~= '' then redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5]) end
if ARGV[1] ~= '' then
  local untilMs = tonumber(ARGV[1]) - tonumber(ARGV[2]) + now
  if untilMs > now then
    local cur = redis.call('GET', KEYS[1])
    local curUntil = 0
    if cur then curUntil = tonumber(string.sub(cur, 1, string.find(cur, '|', 1, true) - 1)) or 0 end
    if untilMs > curUntil then
      redis.call('SET', KEYS[1], string.format('%d', untilMs) .. '|' .. ARGV[3], 'PX', string.format('%d', untilMs - now))
    end
  end
end
return now`);

// KEYS: req, tok, block, seen. ARGV: marginMs, nReq, (count, windowMs)*, nTok, (count, windowMs)*
// Returns {now, block, seen, (used, oldestInWindow or -1)* for request windows then token windows}.
const SNAPSHOT = new LuaScript(`${LUA_NOW}
${COST_OF}
local margin = tonumber(ARGV[1])
local out = {now, redis.call('GET', KEYS[3]) or '', redis.call('GET', KEYS[4]) or ''}
local i = 2
for pass = 1, 2 do
  local n = tonumber(ARGV[i])
  i = i + 1
  for w = 1, n do
    local span = tonumber(ARGV[i + 1]) + margin
    i = i + 2
    local lo = '(' .. string.format('%d', now - span)
    local used = 0
    local oldest = -1
    if pass == 1 then
      used = redis.call('ZCOUNT', KEYS[1], lo, '+inf')
      local e = redis.call('ZRANGEBYSCORE', KEYS[1], lo, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      if e[2] then oldest = tonumber(e[2]) end
    else
      local e = redis.call('ZRANGEBYSCORE', KEYS[2], lo, '+inf', 'WITHSCORES')
      for j = 1, #e, 2 do used = used + costOf(e[j]) end
      if e[2] then oldest = tonumber(e[2]) end
    end
    table.insert(out, used)
    table.insert(out, oldest + span)
  end
end
return out`);

// KEYS: req, tok, block. ARGV: keepMs, hasReqWindows, hasTokWindows, blockUntil ('' for none, Redis clock), blockReason,
// then (id, at, requests, tokens)*. Copies entries this process made while Redis was away; safe to repeat.
const IMPORT = new LuaScript(`${LUA_NOW}
${EXTEND}
local keep = tonumber(ARGV[1])
local i = 6
while i + 3 <= #ARGV do
  local id = ARGV[i]
  local at = ARGV[i + 1]
  local requests = tonumber(ARGV[i + 2])
  local tokens = tonumber(ARGV[i + 3])
  i = i + 4
  if tonumber(at) > now - keep then
    if ARGV[2] == '1' and requests > 0 then
      for k = 0, requests - 1 do
        local m = id
        if k > 0 then m = id .. '#' .. k end
        redis.call('ZADD', KEYS[1], 'NX', at, m)
      end
      extend(KEYS[1], tonumber(at) - now + keep + 1000)
    end
    if ARGV[3] == '1' and tokens > 0 then
      local prefix = id .. '|'
      local found = false
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], at, at)) do
        if string.sub(m, 1, #prefix) == prefix then found = true end
      end
      if not found then redis.call('ZADD', KEYS[2], at, prefix .. tokens) end
      extend(KEYS[2], tonumber(at) - now + keep + 1000)
    end
  end
end
if ARGV[4] ~= '' and tonumber(ARGV[4]) > now then
  local cur = redis.call('GET', KEYS[3])
  local curUntil = 0
  if cur then curUntil = tonumber(string.sub(cur, 1, string.find(cur, '|', 1, true) - 1)) or 0 end
  if tonumber(ARGV[4]) > curUntil then
    redis.call('SET', KEYS[3], ARGV[4] .. '|' .. ARGV[5], 'PX', string.format('%d', tonumber(ARGV[4]) - now))
  end
end
return now`);

// KEYS: ticket*. ARGV: (reservation, expiresAt on the Redis clock)*. Tickets this process holds (reserved while Redis
// was away, or copies of Redis's). Only slots still ahead: one already past was used (maybe by another process) or is stale.
const IMPORT_TICKETS = new LuaScript(`${LUA_NOW}
for k = 1, #KEYS do
  local at = tonumber(string.match(ARGV[2 * k - 1], '^(%d+)%-')) or 0
  local ttl = tonumber(ARGV[2 * k]) - now
  if at > now and ttl > 0 then redis.call('SET', KEYS[k], ARGV[2 * k - 1], 'NX', 'PX', string.format('%d', ttl)) end
end
return now`);

export interface RedisRateLimiterOptions {
  redis: Redis;
  keyPrefix: string;
  limitsFor: (provider: string) => ProviderLimits;
  marginMs: number;
  /** Space reserved slots at the limit's pace (see slotGap). */
  spacing?: boolean;
  /** Told the Redis clock after every script, so in-process state can use the same clock. */
  onRedisTime?: (redisNowMs: number) => void;
}

/** How long the provider's report is kept for snapshots. */
const SEEN_TTL_MS = 3_600_000;

function windowArgs(windows: LimitWindow[]): number[] {
  return [windows.length, ...windows.flatMap((w) => [w.count, w.windowMs])];
}

export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly opts: RedisRateLimiterOptions) {}

  keys(provider: string): { req: string; tok: string; block: string; seen: string } {
    const base = `${this.opts.keyPrefix}rl:{${provider}}:`;
    return { req: `${base}req`, tok: `${base}tok`, block: `${base}block`, seen: `${base}seen` };
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
    const r = (await ACQUIRE.run(
      this.opts.redis,
      t ? [k.req, k.tok, k.block, this.ticketKey(provider, t.ticket)] : [k.req, k.tok, k.block],
      [
        requests,
        tokens,
        this.opts.marginMs,
        randomSuffix(),
        maxSpan(limits, this.opts.marginMs),
        t ? Math.min(t.maxWaitMs, Number.MAX_SAFE_INTEGER) : '',
        ...windowArgs(limits.requests),
        ...windowArgs(limits.tokens),
        slotGap(limits, this.opts.spacing ?? false),
      ],
    )) as [number, number | string, string, string, number, number, number, number];
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
    const now = await SETTLE.run(this.opts.redis, [this.keys(provider).tok], [r.id, r.at, Math.max(0, Math.ceil(actualTokens)), maxSpan(limits, this.opts.marginMs)]);
    this.opts.onRedisTime?.(Number(now));
  }

  async learn(provider: string, info: RateInfo): Promise<void> {
    const sentAt = Date.now();
    const ex = exhaustedUntil(info, sentAt, this.opts.limitsFor(provider));
    const k = this.keys(provider);
    const seen = JSON.stringify({ windows: info.windows ?? [] });
    const args = ex ? [ex.until, sentAt, exhaustedReason(provider, ex.kind, ex.until)] : ['', sentAt, ''];
    const now = await BLOCK.run(this.opts.redis, [k.block, k.seen], [...args, seen, SEEN_TTL_MS]);
    this.opts.onRedisTime?.(Number(now));
  }

  async blockUntil(provider: string, epochMs: number, reason: string): Promise<void> {
    const k = this.keys(provider);
    const now = await BLOCK.run(this.opts.redis, [k.block, k.seen], [Math.ceil(epochMs), Date.now(), reason, '', 0]);
    this.opts.onRedisTime?.(Number(now));
  }

  async snapshot(provider: string): Promise<LimiterSnapshot> {
    const limits = this.opts.limitsFor(provider);
    const k = this.keys(provider);
    const r = (await SNAPSHOT.run(this.opts.redis, [k.req, k.tok, k.block, k.seen], [this.opts.marginMs, ...windowArgs(limits.requests), ...windowArgs(limits.tokens)])) as (
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
    const head = [keep, limits.requests.length ? '1' : '0', limits.tokens.length ? '1' : '0', state.block ? Math.ceil(state.block.until) : '', state.block?.reason ?? ''];
    const entries = state.entries.flatMap((e) => [e.id, e.at, e.requests, e.tokens]);
    // Chunks keep each script call short.
    for (let i = 0; i < Math.max(entries.length, 1); i += 4000) {
      await IMPORT.run(this.opts.redis, [k.req, k.tok, k.block], [...head, ...entries.slice(i, i + 4000)]);
    }
    const tickets = state.tickets ?? [];
    for (let i = 0; i < tickets.length; i += 1000) {
      const chunk = tickets.slice(i, i + 1000);
      await IMPORT_TICKETS.run(
        this.opts.redis,
        chunk.map((x) => this.ticketKey(provider, x.ticket)),
        chunk.flatMap((x) => [x.reservation, Math.ceil(x.expiresAt)]),
      );
    }
  }
}
