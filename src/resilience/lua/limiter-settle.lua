-- Joined after clock and extend.
-- KEYS: tok. ARGV: clock, id, grantAt, actualTokens, keepMs. Rewrites the grant's token entry in place (same score).
local prefix = ARGV[2] .. '|'
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], ARGV[3])) do
  if string.sub(m, 1, #prefix) == prefix then redis.call('ZREM', KEYS[1], m) end
end
if tonumber(ARGV[4]) > 0 and tonumber(ARGV[3]) > now - tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[1], ARGV[3], prefix .. ARGV[4])
  extend(KEYS[1], tonumber(ARGV[5]) + 1000)
end
return now
