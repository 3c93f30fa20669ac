-- Lists the current refresh jtis of a subject's live sessions.
-- KEYS[1] sessions hash, KEYS[2] revocations zset (see sessions.lua)
-- ARGV[1..3] (see sessions.lua)
-- Reply: { refresh jti ... }
local out = {}
for _, session in ipairs(live()) do out[#out + 1] = session[2] end
return out
