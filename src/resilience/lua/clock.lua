-- Every script's ARGV[1] is the clock: '' for the Redis server's (TIME, the one clock all processes share), or a
-- number of ms (tests drive a fake clock through RedisRateLimiterOptions.now).
local now
if ARGV[1] ~= '' then now = tonumber(ARGV[1]) else
  local __t = redis.call('TIME')
  now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)
end
