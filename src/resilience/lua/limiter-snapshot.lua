-- Joined after clock, cost-of and line.
-- KEYS: req, tok, block, q, qexp, seen. ARGV: clock, marginMs, nReq, (count, windowMs)*, nTok, (count, windowMs)*
-- Returns {now, block, seen, (used, oldestInWindow or -1)* for request windows then token windows}.
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
return out
