-- Joined after redis-now.
-- KEYS: state, probe. ARGV: outcome (success | failure), probe token ('' when not a probe), failures to open, cooldownMs, stateTtlMs.
-- Returns {from, to, retryAt, now}.
local st = redis.call('HMGET', KEYS[1], 'state', 'failures', 'retryAt')
local isOpen = st[1] == 'open'
local failures = tonumber(st[2]) or 0
local retryAt = tonumber(st[3]) or 0
local from = 'closed'
if isOpen then
  if now < retryAt then from = 'open' else from = 'half_open' end
end
local function open()
  local r = now + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'state', 'open', 'failures', failures, 'openedAt', now, 'retryAt', r)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {from, 'open', r, now}
end
if ARGV[2] ~= '' then
  if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
  if ARGV[1] == 'success' then
    redis.call('DEL', KEYS[1])
    return {from, 'closed', 0, now}
  end
  failures = failures + 1
  return open()
end
if ARGV[1] == 'success' then
  if not isOpen and failures > 0 then redis.call('HSET', KEYS[1], 'failures', 0) end
  return {from, from, retryAt, now}
end
if isOpen then return {from, from, retryAt, now} end
failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if failures >= tonumber(ARGV[3]) then return open() end
return {from, from, 0, now}
