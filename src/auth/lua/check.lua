-- Tells whether a refresh token is its family's current one; a stale one is reuse and revokes the family.
-- KEYS[1] sessions hash, KEYS[2] revocations zset (see sessions.lua)
-- ARGV[1..3] (see sessions.lua); ARGV[4] family id; ARGV[5] presented refresh jti
-- Reply: { 'ok' | 'unknown' | 'reuse', then revocations as kind, id, until ms ... }
local outcome = check(ARGV[4], ARGV[5])
return reply(outcome)
