-- Rotates a refresh token: if it is its family's current one, the family moves to the new pair and the
-- access token issued with the old one is revoked; a stale one is reuse and revokes the family.
-- KEYS[1] sessions hash, KEYS[2] revocations zset (see sessions.lua)
-- ARGV[1..3] (see sessions.lua); ARGV[4] family id; ARGV[5] presented refresh jti; ARGV[6] new refresh jti; ARGV[7] new access jti
-- Reply: { 'ok' | 'unknown' | 'reuse', then revocations as kind, id, until ms ... }
local outcome, record = check(ARGV[4], ARGV[5])
if outcome == 'ok' then
  put(ARGV[4], ARGV[6], ARGV[7])
  revoke('j', record.ajti)
end
return reply(outcome)
