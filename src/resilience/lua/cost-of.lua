-- The token cost recorded in a token-log member "<id>|<tokens>".
local function costOf(member) return tonumber(string.match(member, '|(%d+)$')) or 0 end
