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
import type { RateInfo } from '../providers/rate-info';
import { LuaScript } from './redis-client';
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
import { formatWindow, type AcquireCost, type AcquireResult, type LimitKind, type LimiterSnapshot, type LimitWindow, type ProviderLimits, type RateLimiter, type WindowSnapshot } from './types';

// Every script's ARGV[1] is the clock: '' for the Redis server's (TIME, the one clock all processes share), or a
// number of ms (tests drive a fake clock through RedisRateLimiterOptions.now).
const CLOCK = `local now
if ARGV[1] ~= '' then now = tonumber(ARGV[1]) else
  local __t = redis.call('TIME')
  now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)
end`;

const COST_OF = `local function costOf(member) return tonumber(string.match(member, '|(%d+)$')) or 0 end`;

// Lengthens a key's TTL to at least ms, never shortens it: reserved slots keep a log alive beyond the longest window.
const EXTEND = `local function extend(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, string.format('%d', ms)) end
end`;

// The line's bookkeeping, for scripts whose KEYS start with req, tok, block, q, qexp.
const LINE = `local function fmt(ms) return string.format('%d', ms) end
local function idAt(id) return tonumber(string.match(id, '^(%d+)%-')) end
-- Takes a reserved slot's entries out of the logs.
local function dropEntries(id)
  local at = idAt(id)
  if not at then return end
  local s = fmt(at)
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], s, s)) do
    if m == id or string.sub(m, 1, #id + 1) == id .. '#' then redis.call('ZREM', KEYS[1], m) end
  end
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], s, s)) do
    if string.sub(m, 1, #id + 1) == id .. '|' then redis.call('ZREM', KEYS[2], m) end
  end
end
local function unqueue(id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
end
-- An expired lease frees its slot, so a holder that never comes back does not clog the line.
local function freeExpired()
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', fmt(now))) do
    dropEntries(id)
    unqueue(id)
  end
end`;

// KEYS: req, tok, block, q, qexp, seq[, ticket].
// ARGV: clock, reqCost, tokCost, marginMs, random, keepMs, maxWaitMs ('' without a ticket), leaseMs, gap,
// nReq, (count, windowMs)*, nTok, (count, windowMs)*
// Returns {1, reservation, '', '', 0, 0, 0, now} (granted), {2, waitMs, reservation, '', 0, 0, 0, now} (refused, the
// ticket holds the slot at now + waitMs) or {0, waitMs, blockReason, kind, windowIndex, used, need, now} (refused).
const ACQUIRE = new LuaScript(`${CLOCK}
${COST_OF}
${EXTEND}
local reqCost = tonumber(ARGV[2])
local tokCost = tonumber(ARGV[3])
local margin = tonumber(ARGV[4])
local keep = tonumber(ARGV[6])
local lease = tonumber(ARGV[8])
local gap = tonumber(ARGV[9])
local ticketKey = KEYS[7]
local i = 10
local nReq = tonumber(ARGV[i])
i = i + 1
local reqW = {}
for w = 1, nReq do
  reqW[w] = {tonumber(ARGV[i]), tonumber(ARGV[i + 1])}
  i = i + 2
end
local nTok = tonumber(ARGV[i])
i = i + 1
local tokW = {}
for w = 1, nTok do
  tokW[w] = {tonumber(ARGV[i]), tonumber(ARGV[i + 1])}
  i = i + 2
end
${LINE}
local function hold(reservation, id, seq, leaseEnd)
  local ttl = math.max(1000, leaseEnd - now + 60000)
  redis.call('SET', ticketKey, reservation .. ' ' .. fmt(seq) .. ' ' .. fmt(leaseEnd), 'PX', fmt(ttl))
  redis.call('ZADD', KEYS[4], fmt(seq), id)
  redis.call('ZADD', KEYS[5], fmt(leaseEnd), id)
  extend(KEYS[4], ttl)
  extend(KEYS[5], ttl)
end
local function record(atMs, ttl)
  local at = fmt(atMs)
  local id = at .. '-' .. ARGV[5]
  if nReq > 0 and reqCost > 0 then
    for k = 0, reqCost - 1 do
      local m = id
      if k > 0 then m = id .. '#' .. k end
      redis.call('ZADD', KEYS[1], at, m)
    end
    extend(KEYS[1], ttl)
  end
  if nTok > 0 and tokCost > 0 then
    redis.call('ZADD', KEYS[2], at, id .. '|' .. ARGV[3])
    extend(KEYS[2], ttl)
  end
  return id .. '|' .. ARGV[3], id
end

freeExpired()
-- Kept a little longer than the longest window: a late holder's call may be logged up to half the margin back.
local cutoff = fmt(now - keep - math.floor(margin / 2))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', cutoff)

local held = nil
if ticketKey then
  local v = redis.call('GET', ticketKey)
  if v then
    local res, seq, leaseEnd = string.match(v, '^(%S+) (%d+) (%d+)$')
    local id = res and string.match(res, '^([^|]+)|')
    if id and idAt(id) and tonumber(leaseEnd) > now and redis.call('ZSCORE', KEYS[4], id) then
      held = {res = res, id = id, at = idAt(id), seq = tonumber(seq), leaseEnd = tonumber(leaseEnd)}
    else
      redis.call('DEL', ticketKey)
      if id then
        dropEntries(id)
        unqueue(id)
      end
    end
  end
end

-- Blocked (a 429 or a report of 0 remaining): a slot already held is kept (its lease runs from the block's end at the
-- earliest) and told whichever comes later; a new ticket reserves its own slot after the block, so a crowd of waiters
-- does not stampede when it lifts.
local floor = 0
local blockReason = ''
local block = redis.call('GET', KEYS[3])
if block then
  local sep = string.find(block, '|', 1, true)
  local untilMs = tonumber(string.sub(block, 1, sep - 1))
  if untilMs and untilMs > now then
    blockReason = string.sub(block, sep + 1)
    if held then
      if untilMs + lease > held.leaseEnd then hold(held.res, held.id, held.seq, untilMs + lease) end
      local wait = untilMs - now
      if held.at - now > wait then wait = held.at - now end
      return {0, wait, blockReason, '', 0, 0, 0, now}
    end
    if not ticketKey then return {0, untilMs - now, blockReason, '', 0, 0, 0, now} end
    floor = untilMs
  end
end

if held then
  -- Early: the same slot, with the time left.
  if held.at > now then return {2, held.at - now, held.res, '', 0, 0, 0, now} end
  -- Due (however late, within the lease): admitted in its place in line. It must fit every window counting granted
  -- calls and the slots of holders ahead of it (smaller seq); the line behind it does not hold it back. It is logged
  -- when the call really happens, or up to half the margin earlier (see lateAllowance). If it does not fit, it keeps
  -- its place with a new slot when it does.
  dropEntries(held.id)
  unqueue(held.id)
  local function counts(base)
    local s = redis.call('ZSCORE', KEYS[4], base)
    return (not s) or tonumber(s) < held.seq
  end
  local from = held.at
  local late = math.floor(margin / 2)
  if now - late > from then from = now - late end
  local wait = 0
  local function later(x)
    if x < 1 then x = 1 end
    if x > wait then wait = x end
  end
  if reqCost > 0 then
    for w = 1, nReq do
      local count = reqW[w][1]
      local span = reqW[w][2] + margin
      local e = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. fmt(from - span), '+inf', 'WITHSCORES')
      local times = {}
      for j = 1, #e, 2 do
        if counts(string.match(e[j], '^([^#]+)')) then times[#times + 1] = tonumber(e[j + 1]) end
      end
      local need = math.min(reqCost, count)
      if #times + need > count then later(times[#times + need - count] + span - from) end
    end
  end
  for w = 1, nTok do
    local count = tokW[w][1]
    local span = tokW[w][2] + margin
    local e = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. fmt(from - span), '+inf', 'WITHSCORES')
    local items = {}
    local used = 0
    for j = 1, #e, 2 do
      if counts(string.match(e[j], '^([^|]+)')) then
        local c = costOf(e[j])
        used = used + c
        items[#items + 1] = {c, tonumber(e[j + 1])}
      end
    end
    local need = math.min(math.max(tokCost, 1), count)
    if used + need > count then
      local excess = used + need - count
      local freed = 0
      for _, it in ipairs(items) do
        freed = freed + it[1]
        if freed >= excess then
          later(it[2] + span - from)
          break
        end
      end
    end
  end
  local at = from + wait
  if at <= now then
    redis.call('DEL', ticketKey)
    return {1, (record(at, keep + 1000)), '', '', 0, 0, 0, now}
  end
  local res, id = record(at, at - now + keep + 1000)
  local leaseEnd = held.leaseEnd
  if at + lease > leaseEnd then leaseEnd = at + lease end
  hold(res, id, held.seq, leaseEnd)
  return {2, at - now, res, '', 0, 0, 0, now}
end

-- A caller without a held slot counts every entry, reserved slots included: it cannot take the line's room.
local worst = {0, '', 0, 0, 0}
local function consider(wait, kind, w, used, need)
  if wait < 1 then wait = 1 end
  if wait > worst[1] then worst = {wait, kind, w, used, need} end
end
if reqCost > 0 then
  for w = 1, nReq do
    local count = reqW[w][1]
    local span = reqW[w][2] + margin
    local lo = '(' .. fmt(now - span)
    local used = redis.call('ZCOUNT', KEYS[1], lo, '+inf')
    local need = math.min(reqCost, count)
    if used + need > count then
      local e = redis.call('ZRANGEBYSCORE', KEYS[1], lo, '+inf', 'WITHSCORES', 'LIMIT', used + need - count - 1, 1)
      consider(tonumber(e[2]) + span - now, 'requests', w, used, need)
    end
  end
end
for w = 1, nTok do
  local count = tokW[w][1]
  local span = tokW[w][2] + margin
  local lo = '(' .. fmt(now - span)
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
-- Paced (see slotGap): a call goes at most one gap after the latest one, so a sliding window fills evenly instead of
-- in a burst followed by a window of silence.
if gap > 0 and reqCost > 0 and nReq > 0 then
  local latest = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if latest[2] and tonumber(latest[2]) + gap > now then consider(tonumber(latest[2]) + gap - now, 'requests', 1, 0, 0) end
end
if worst[1] == 0 and floor == 0 then return {1, (record(now, keep + 1000)), '', '', 0, 0, 0, now} end
if not ticketKey then return {0, worst[1], '', worst[2], worst[3], worst[4], worst[5], now} end
-- A new ticket joins the back of the line: the earliest slot at or after every entry (reservations stay in order, so no
-- later window can break) where the call fits every window: for each, the entry at which the newest entries' sum would
-- exceed what the call leaves room for must have left it.
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
if reqCost > 0 then
  for w = 1, nReq do
    local count = reqW[w][1]
    local span = reqW[w][2] + margin
    local k = count - math.min(reqCost, count)
    local e = redis.call('ZREVRANGE', KEYS[1], k, k, 'WITHSCORES')
    if e[2] and tonumber(e[2]) + span > slot then slot = tonumber(e[2]) + span end
  end
end
for w = 1, nTok do
  local count = tokW[w][1]
  local span = tokW[w][2] + margin
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
if wait > tonumber(ARGV[7]) then return {0, wait, blockReason, worst[2], worst[3], worst[4], worst[5], now} end
local keepFor = keep
if lease > keepFor then keepFor = lease end
local res, id = record(slot, wait + keepFor + 1000)
hold(res, id, redis.call('INCR', KEYS[6]), slot + lease)
return {2, wait, res, '', 0, 0, 0, now}`);

// KEYS: tok. ARGV: clock, id, grantAt, actualTokens, keepMs. Rewrites the grant's token entry in place (same score).
const SETTLE = new LuaScript(`${CLOCK}
${EXTEND}
local prefix = ARGV[2] .. '|'
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], ARGV[3])) do
  if string.sub(m, 1, #prefix) == prefix then redis.call('ZREM', KEYS[1], m) end
end
if tonumber(ARGV[4]) > 0 and tonumber(ARGV[3]) > now - tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[1], ARGV[3], prefix .. ARGV[4])
  extend(KEYS[1], tonumber(ARGV[5]) + 1000)
end
return now`);

// KEYS: block, seen. ARGV: clock, untilMs ('' for none) on the sender's clock, sender's now, reason, seenJson ('' for
// none), seenTtlMs. The block only ever moves later.
const BLOCK = new LuaScript(`${CLOCK}
if ARGV[5] ~= '' then redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[6]) end
if ARGV[2] ~= '' then
  local untilMs = tonumber(ARGV[2]) - tonumber(ARGV[3]) + now
  if untilMs > now then
    local cur = redis.call('GET', KEYS[1])
    local curUntil = 0
    if cur then curUntil = tonumber(string.sub(cur, 1, string.find(cur, '|', 1, true) - 1)) or 0 end
    if untilMs > curUntil then
      redis.call('SET', KEYS[1], string.format('%d', untilMs) .. '|' .. ARGV[4], 'PX', string.format('%d', untilMs - now))
    end
  end
end
return now`);

// KEYS: req, tok, block, q, qexp, seen. ARGV: clock, marginMs, nReq, (count, windowMs)*, nTok, (count, windowMs)*
// Returns {now, block, seen, (used, oldestInWindow or -1)* for request windows then token windows}.
const SNAPSHOT = new LuaScript(`${CLOCK}
${COST_OF}
${LINE}
freeExpired()
local margin = tonumber(ARGV[2])
local out = {now, redis.call('GET', KEYS[3]) or '', redis.call('GET', KEYS[6]) or ''}
local i = 3
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

// KEYS: req, tok, block. ARGV: clock, keepMs, hasReqWindows, hasTokWindows, blockUntil ('' for none, Redis clock),
// blockReason, then (id, at, requests, tokens)*. Copies entries this process made while Redis was away; safe to repeat.
const IMPORT = new LuaScript(`${CLOCK}
${EXTEND}
local keep = tonumber(ARGV[2])
local i = 7
while i + 3 <= #ARGV do
  local id = ARGV[i]
  local at = ARGV[i + 1]
  local requests = tonumber(ARGV[i + 2])
  local tokens = tonumber(ARGV[i + 3])
  i = i + 4
  if tonumber(at) > now - keep then
    if ARGV[3] == '1' and requests > 0 then
      for k = 0, requests - 1 do
        local m = id
        if k > 0 then m = id .. '#' .. k end
        redis.call('ZADD', KEYS[1], 'NX', at, m)
      end
      extend(KEYS[1], tonumber(at) - now + keep + 1000)
    end
    if ARGV[4] == '1' and tokens > 0 then
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
if ARGV[5] ~= '' and tonumber(ARGV[5]) > now then
  local cur = redis.call('GET', KEYS[3])
  local curUntil = 0
  if cur then curUntil = tonumber(string.sub(cur, 1, string.find(cur, '|', 1, true) - 1)) or 0 end
  if tonumber(ARGV[5]) > curUntil then
    redis.call('SET', KEYS[3], ARGV[5] .. '|' .. ARGV[6], 'PX', string.format('%d', tonumber(ARGV[5]) - now))
  end
end
return now`);

// KEYS: q, qexp, seq, ticket*. ARGV: clock, (reservation, leaseEnd on the Redis clock)*, in this process's line order.
// Tickets this process holds (reserved while Redis was away, or copies of Redis's) whose lease still runs and that Redis
// does not know: they join the line (their entries were copied by IMPORT).
const IMPORT_TICKETS = new LuaScript(`${CLOCK}
for k = 4, #KEYS do
  local res = ARGV[2 * (k - 3)]
  local leaseEnd = tonumber(ARGV[2 * (k - 3) + 1])
  local id = string.match(res, '^([^|]+)|')
  if id and leaseEnd > now and redis.call('EXISTS', KEYS[k]) == 0 then
    local seq = redis.call('INCR', KEYS[3])
    local ttl = string.format('%d', math.max(1000, leaseEnd - now + 60000))
    redis.call('SET', KEYS[k], res .. ' ' .. string.format('%d', seq) .. ' ' .. string.format('%d', leaseEnd), 'PX', ttl)
    redis.call('ZADD', KEYS[1], seq, id)
    redis.call('ZADD', KEYS[2], string.format('%d', leaseEnd), id)
    if redis.call('PTTL', KEYS[1]) < tonumber(ttl) then redis.call('PEXPIRE', KEYS[1], ttl) end
    if redis.call('PTTL', KEYS[2]) < tonumber(ttl) then redis.call('PEXPIRE', KEYS[2], ttl) end
  end
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
