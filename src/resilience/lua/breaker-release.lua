-- KEYS: probe. ARGV: token. Frees the probe slot if this caller still holds it.
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
