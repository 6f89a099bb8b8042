-- KEYS: lease. ARGV: token, ttlMs.
-- Takes the lease for ttlMs if it is free, or renews it (ttlMs from now) if this token already holds it.
-- Returns {1, ttlMs} when the token holds it now, else {0, ms left of the other holder's lease}.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(ARGV[2])}
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, tonumber(ARGV[2])} end
local left = redis.call('PTTL', KEYS[1])
if left < 1 then left = 1 end
return {0, left}
