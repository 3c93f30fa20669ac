-- Ends every session of a subject and revokes their access tokens.
-- KEYS[1] sessions hash, KEYS[2] revocations zset (see sessions.lua)
-- ARGV[1..3] (see sessions.lua)
-- Reply: { number of sessions ended, then revocations as kind, id, until ms ... }
local sessions = live()
for _, session in ipairs(sessions) do revoke('f', session[1]) end
redis.call('DEL', SESS)
return reply(#sessions)
