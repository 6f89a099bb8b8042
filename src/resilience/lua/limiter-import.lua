-- Joined after clock and extend.
-- KEYS: req, tok, block. ARGV: clock, keepMs, hasReqWindows, hasTokWindows, blockUntil ('' for none, Redis clock),
-- blockReason, then (id, at, requests, tokens)*. Copies entries this process made while Redis was away; safe to repeat.
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
return now
