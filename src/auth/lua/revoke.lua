-- Ends a session: the presented token's own (ARGV[6] empty), or the subject's session whose current
-- refresh jti is ARGV[6]. The presented token must be current (a stale one is reuse).
-- KEYS[1] sessions hash, KEYS[2] revocations zset (see sessions.lua)
-- ARGV[1..3] (see sessions.lua); ARGV[4] family id; ARGV[5] presented refresh jti; ARGV[6] target refresh jti or ''
-- Reply: { 'ok' | 'unknown' | 'reuse', then revocations as kind, id, until ms ... }
local outcome = check(ARGV[4], ARGV[5])
if outcome ~= 'ok' then return reply(outcome) end
if ARGV[6] == '' then
  revoke_family(ARGV[4])
  return reply('ok')
end
for _, session in ipairs(live()) do
  if session[2] == ARGV[6] then
    revoke_family(session[1])
    return reply('ok')
  end
end
return reply('unknown')
