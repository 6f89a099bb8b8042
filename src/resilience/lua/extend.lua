-- Lengthens a key's TTL to at least ms, never shortens it: reserved slots keep a log alive beyond the longest window.
local function extend(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, string.format('%d', ms)) end
end
