-- Joined after clock.
-- KEYS: q, qexp, seq, ticket*. ARGV: clock, (reservation, leaseEnd on the Redis clock)*, in this process's line order.
-- Tickets this process holds (reserved while Redis was away, or copies of Redis's) whose lease still runs and that Redis
-- does not know: they join the line (their entries were copied by IMPORT).
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
return now
