-- Joined after clock, cost-of, extend and line (see rate-limiter-redis.ts).
-- KEYS: req, tok, block, q, qexp, seq[, ticket].
-- ARGV: clock, reqCost, tokCost, marginMs, random, keepMs, maxWaitMs ('' without a ticket), leaseMs, gap,
-- nReq, (count, windowMs)*, nTok, (count, windowMs)*
-- Returns {1, reservation, '', '', 0, 0, 0, now} (granted), {2, waitMs, reservation, '', 0, 0, 0, now} (refused, the
-- ticket holds the slot at now + waitMs) or {0, waitMs, blockReason, kind, windowIndex, used, need, now} (refused).
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
return {2, wait, res, '', 0, 0, 0, now}
