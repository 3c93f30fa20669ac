-- Records a new login (session family). Prepended with sessions.lua.
-- KEYS[1] sessions hash, KEYS[2] revocations zset (see sessions.lua)
-- ARGV[1..3] lifetimes and channel (see sessions.lua); ARGV[4] family id; ARGV[5] refresh jti; ARGV[6] access jti
-- Reply: { 'ok' }
live()
put(ARGV[4], ARGV[5], ARGV[6])
return reply('ok')
