-- Joined after redis-now.
-- KEYS: state. Returns {stateField, failures, retryAt, openedAt, now}.
local st = redis.call('HMGET', KEYS[1], 'state', 'failures', 'retryAt', 'openedAt')
return {st[1] or '', tonumber(st[2]) or 0, tonumber(st[3]) or 0, tonumber(st[4]) or 0, now}
