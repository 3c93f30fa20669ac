-- Lists the current refresh jtis of a subject's live sessions (n <= the cap).
-- KEYS[1..3] (see sessions.lua)
-- ARGV[1..5] (see sessions.lua)
-- Reply: { refresh jti ... }
local out = {}
for _, session in ipairs(live()) do out[#out + 1] = session[2].rjti end
return out
