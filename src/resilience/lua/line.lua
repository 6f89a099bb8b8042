-- The line's bookkeeping, for scripts whose KEYS start with req, tok, block, q, qexp.
local function fmt(ms) return string.format('%d', ms) end
local function idAt(id) return tonumber(string.match(id, '^(%d+)%-')) end
-- Takes a reserved slot's entries out of the logs.
local function dropEntries(id)
  local at = idAt(id)
  if not at then return end
  local s = fmt(at)
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], s, s)) do
    if m == id or string.sub(m, 1, #id + 1) == id .. '#' then redis.call('ZREM', KEYS[1], m) end
  end
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], s, s)) do
    if string.sub(m, 1, #id + 1) == id .. '|' then redis.call('ZREM', KEYS[2], m) end
  end
end
local function unqueue(id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
end
-- An expired lease frees its slot, so a holder that never comes back does not clog the line.
local function freeExpired()
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', fmt(now))) do
    dropEntries(id)
    unqueue(id)
  end
end
