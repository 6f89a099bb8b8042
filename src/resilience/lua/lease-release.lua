-- KEYS: lease. ARGV: token, graceMs.
-- If this token holds the lease: graceMs 0 frees it at once; otherwise it lapses within graceMs (never later than it
-- would have). Another holder's lease is left alone.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local grace = tonumber(ARGV[2])
if grace <= 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
local left = redis.call('PTTL', KEYS[1])
if left < 0 or left > grace then redis.call('PEXPIRE', KEYS[1], grace) end
return 1
