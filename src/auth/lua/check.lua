-- Tells whether a refresh token is its family's current one; a stale one is reuse and revokes the family.
-- A current one counts as used: a later retry of the rotation that produced it is reuse.
-- KEYS[1..3] (see sessions.lua)
-- ARGV[1..5] (see sessions.lua); ARGV[6] family id; ARGV[7] presented refresh jti
-- Reply: { 'ok' | 'unknown' | 'reuse', generation, iat, revocations ... }
local outcome, s = check(ARGV[6], ARGV[7])
if outcome ~= 'ok' then return reply(outcome) end
if s.prev ~= '-' then
  s.prev = '-'
  redis.call('HSET', SESS, ARGV[6], encode(s))
end
return reply('ok', s.gen, s.iat)
