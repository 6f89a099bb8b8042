-- Joined after redis-now (see circuit-breaker-redis.ts).
-- KEYS: state, probe. ARGV: token, probeTtlMs, cooldownMs.
-- Returns {kind, failures or wait, retryAt, openedAt, now}; kind is closed | open | probe | busy (someone else probes:
-- look again within 5 s, since a probe usually settles the question quickly).
local st = redis.call('HMGET', KEYS[1], 'state', 'failures', 'retryAt', 'openedAt')
if st[1] ~= 'open' then return {'closed', tonumber(st[2]) or 0, 0, 0, now} end
local retryAt = tonumber(st[3]) or 0
local openedAt = tonumber(st[4]) or 0
if now < retryAt then return {'open', 0, retryAt, openedAt, now} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'probe', 0, retryAt, openedAt, now} end
local wait = redis.call('PTTL', KEYS[2])
if wait < 1 then wait = 1 end
return {'busy', math.min(wait, tonumber(ARGV[3]), 5000), retryAt, openedAt, now}
