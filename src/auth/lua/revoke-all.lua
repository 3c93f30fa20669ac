-- Ends every session of a subject (n <= the cap) and revokes their access tokens, in ONE message.
-- KEYS[1..3] (see sessions.lua)
-- ARGV[1..5] (see sessions.lua)
-- Reply: { 'ok', number of sessions ended, 0, revocations ... }
local sessions = live()
for _, session in ipairs(sessions) do revoke_family(session[1], session[2]) end
redis.call('DEL', SESS, IDX)
return reply('ok', #sessions)
