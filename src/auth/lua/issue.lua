-- Records a new login (session family) at generation 0, evicting and revoking the subject's oldest
-- session when the cap is reached. Prepended with sessions.lua.
-- KEYS[1..3] (see sessions.lua)
-- ARGV[1..5] (see sessions.lua); ARGV[6] family id; ARGV[7] refresh jti; ARGV[8] access exp (ms); ARGV[9] iat (s)
-- Reply: { 'ok', 0, iat, revocations of evicted sessions ... }
make_room(1)
put(ARGV[6], { rjti = ARGV[7], gen = 0, aexp = tonumber(ARGV[8]), exp = NOW + REFRESH_TTL, prev = '-', rotated = 0, iat = tonumber(ARGV[9]) })
return reply('ok', 0, ARGV[9])
