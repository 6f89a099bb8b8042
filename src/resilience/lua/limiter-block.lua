-- Joined after clock.
-- KEYS: block, seen. ARGV: clock, untilMs ('' for none) on the sender's clock, sender's now, reason, seenJson ('' for
-- none), seenTtlMs. The block only ever moves later.
if ARGV[5] ~= '' then redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[6]) end
if ARGV[2] ~= '' then
  local untilMs = tonumber(ARGV[2]) - tonumber(ARGV[3]) + now
  if untilMs > now then
    local cur = redis.call('GET', KEYS[1])
    local curUntil = 0
    if cur then curUntil = tonumber(string.sub(cur, 1, string.find(cur, '|', 1, true) - 1)) or 0 end
    if untilMs > curUntil then
      redis.call('SET', KEYS[1], string.format('%d', untilMs) .. '|' .. ARGV[4], 'PX', string.format('%d', untilMs - now))
    end
  end
end
return now
